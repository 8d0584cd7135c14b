package dev.apirouter.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Optional;

/** Finds the API key of a request and hashes it. Keys are only ever held in memory, never logged. */
public final class ApiKeys {
    private static final String BEARER = "bearer ";
    static final String KEY_PREFIX = "sk-";
    private static final SecureRandom RANDOM = new SecureRandom();

    private ApiKeys() {
    }

    /** The key from {@code Authorization: Bearer <key>}, else from {@code x-api-key}. */
    public static Optional<String> extract(String authorization, String xApiKey) {
        if (authorization != null) {
            String value = authorization.trim();
            if (value.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
                String key = value.substring(BEARER.length()).trim();
                if (!key.isEmpty()) {
                    return Optional.of(key);
                }
            }
        }
        if (xApiKey != null && !xApiKey.isBlank()) {
            return Optional.of(xApiKey.trim());
        }
        return Optional.empty();
    }

    /** Lower-case hex SHA-256 of the key: the name its record is stored under. */
    /** A new API key: {@code sk-} and 32 random bytes from a {@link SecureRandom}, base64url (48 characters). */
    public static String generate() {
        byte[] random = new byte[32];
        RANDOM.nextBytes(random);
        return KEY_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(random);
    }

    public static String sha256Hex(String key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
