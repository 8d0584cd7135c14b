package dev.apirouter.forward;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vertx.core.buffer.Buffer;

/**
 * Finds the token usage and the response's model in a backend's answer without buffering it: the model is read
 * from the start of the first chunk, the usage from a small window over the last bytes of the response (where
 * OpenAI-compatible servers put it: the {@code usage} object closes a JSON answer, and with
 * {@code stream_options.include_usage} the last event before {@code [DONE]} carries it). Each chunk costs one copy
 * of at most {@link #WINDOW} bytes. Not thread-safe: one response, on its event loop.
 */
final class UsageScanner {
    static final int WINDOW = 8192;
    static final int MODEL_SCAN = 2048;
    private static final JsonFactory JSON = new JsonFactory();
    private static final byte[] USAGE_KEY = "\"usage\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] MODEL_KEY = "\"model\"".getBytes(StandardCharsets.US_ASCII);

    private final byte[] ring = new byte[WINDOW];
    private long total;
    private String responseModel;
    private boolean first = true;

    void accept(Buffer chunk) {
        int n = chunk.length();
        if (n == 0) {
            return;
        }
        if (first) {
            first = false;
            byte[] head = chunk.getBytes(0, Math.min(n, MODEL_SCAN));
            responseModel = stringAfter(head, head.length, MODEL_KEY);
        }
        int from = Math.max(0, n - WINDOW);
        for (int i = from; i < n; ) {
            int pos = (int) (total % WINDOW);
            int len = Math.min(n - i, WINDOW - pos);
            chunk.getBytes(i, i + len, ring, pos);
            total += len;
            i += len;
        }
    }

    String responseModel() {
        return responseModel;
    }

    /** The last {@code usage} object seen near the end, or null (absent, {@code null}, or unreadable). */
    TokenUsage usage() {
        byte[] tail = tail();
        int at = lastIndexOf(tail, USAGE_KEY);
        if (at < 0) {
            return null;
        }
        int i = at + USAGE_KEY.length;
        while (i < tail.length && (tail[i] == ' ' || tail[i] == ':' || tail[i] == '\t' || tail[i] == '\n' || tail[i] == '\r')) {
            i++;
        }
        if (i >= tail.length || tail[i] != '{') {
            return null;
        }
        try {
            return readUsage(tail, i);
        } catch (IOException e) {
            return null;
        }
    }

    private static TokenUsage readUsage(byte[] bytes, int start) throws IOException {
        long input = -1;
        long output = -1;
        try (JsonParser p = JSON.createParser(bytes, start, bytes.length - start)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if (value == JsonToken.VALUE_NUMBER_INT && name.equals("prompt_tokens")) {
                    input = p.getLongValue();
                } else if (value == JsonToken.VALUE_NUMBER_INT && name.equals("completion_tokens")) {
                    output = p.getLongValue();
                } else {
                    p.skipChildren();
                }
            }
            if (t != JsonToken.END_OBJECT || (input < 0 && output < 0)) {
                return null;
            }
        }
        return new TokenUsage(input, output);
    }

    private byte[] tail() {
        int size = (int) Math.min(total, WINDOW);
        byte[] out = new byte[size];
        int start = (int) ((total - size) % WINDOW);
        int firstPart = Math.min(size, WINDOW - start);
        System.arraycopy(ring, start, out, 0, firstPart);
        System.arraycopy(ring, 0, out, firstPart, size - firstPart);
        return out;
    }

    /** The JSON string value after {@code key} ({@code "key" : "value"}), or null. */
    static String stringAfter(byte[] bytes, int length, byte[] key) {
        int at = indexOf(bytes, length, key);
        if (at < 0) {
            return null;
        }
        int i = at + key.length;
        while (i < length && (bytes[i] == ' ' || bytes[i] == ':')) {
            i++;
        }
        if (i >= length || bytes[i] != '"') {
            return null;
        }
        int start = ++i;
        while (i < length && bytes[i] != '"' && bytes[i] != '\\') {
            i++;
        }
        if (i >= length || bytes[i] != '"' || i - start > 256) {
            return null;
        }
        return new String(bytes, start, i - start, StandardCharsets.UTF_8);
    }

    private static int indexOf(byte[] bytes, int length, byte[] key) {
        outer:
        for (int i = 0; i + key.length <= length; i++) {
            for (int j = 0; j < key.length; j++) {
                if (bytes[i + j] != key[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static int lastIndexOf(byte[] bytes, byte[] key) {
        outer:
        for (int i = bytes.length - key.length; i >= 0; i--) {
            for (int j = 0; j < key.length; j++) {
                if (bytes[i + j] != key[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
