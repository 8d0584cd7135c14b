package dev.apirouter.forward;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;

import dev.apirouter.policy.Backend;

/**
 * The ids of stored Responses (vLLM keeps a response on the backend that created it) name that backend, so that any
 * gateway replica can send {@code GET}/{@code DELETE /v1/responses/{id}} there without shared state: the client sees
 * {@code <backend's id>.<model>.<backend tag>}, where {@code <model>} is the name the client called the model by
 * (base64url, no padding) and {@code <backend tag>} the first 8 hex digits of the SHA-256 of the backend's URL.
 * <p>
 * Not signed: a forged id can only reach a backend of a model the key may use (the steps check both against the
 * policy in force), and only its response-by-id paths. The tag names the backend by URL, not by position, so a
 * reordered policy keeps old ids valid; a backend removed from the model's policy makes its ids unknown (404).
 */
public final class ResponseIds {
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Base64.Decoder B64_DECODER = Base64.getUrlDecoder();
    private static final int TAG_HEX = 8;

    /** What a pinned id says: the backend's own id, the model name it was created through, the backend's tag. */
    public record Pinned(String responseId, String model, String backendTag) {
        public boolean isOn(Backend backend) {
            return backendTag.equals(tag(backend));
        }
    }

    private ResponseIds() {
    }

    /** What is appended to a backend's id to pin it to {@code backend} of {@code model}. */
    public static String suffix(String model, Backend backend) {
        return "." + B64.encodeToString(model.getBytes(StandardCharsets.UTF_8)) + "." + tag(backend);
    }

    public static String pin(String responseId, String model, Backend backend) {
        return responseId + suffix(model, backend);
    }

    /**
     * The parts of a pinned id; empty when {@code id} is not one the gateway gave out. The backend's id must be id
     * characters (letters, digits, {@code _ - .}, not starting with a dot): it goes into the backend's path as it is.
     */
    public static Optional<Pinned> decode(String id) {
        if (id == null) {
            return Optional.empty();
        }
        int tagDot = id.lastIndexOf('.');
        int modelDot = tagDot <= 0 ? -1 : id.lastIndexOf('.', tagDot - 1);
        if (modelDot <= 0 || modelDot + 1 == tagDot || id.length() - tagDot - 1 != TAG_HEX) {
            return Optional.empty();
        }
        String responseId = id.substring(0, modelDot);
        if (responseId.charAt(0) == '.' || !responseId.chars().allMatch(ResponseIds::idChar)) {
            return Optional.empty();
        }
        String tag = id.substring(tagDot + 1);
        for (int i = 0; i < tag.length(); i++) {
            if (Character.digit(tag.charAt(i), 16) < 0 || Character.isUpperCase(tag.charAt(i))) {
                return Optional.empty();
            }
        }
        try {
            String model = new String(B64_DECODER.decode(id.substring(modelDot + 1, tagDot)), StandardCharsets.UTF_8);
            return model.isBlank() ? Optional.empty() : Optional.of(new Pinned(responseId, model, tag));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    private static boolean idChar(int c) {
        return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.';
    }

    static String tag(Backend backend) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(backend.url().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, TAG_HEX / 2);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
