package dev.apirouter.forward;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import dev.apirouter.call.TokenUsage;
import io.vertx.core.buffer.Buffer;

/**
 * Finds the token usage and the response's model in a backend's answer without buffering it: the model is read
 * from the start of the first chunk, the usage from a small window over the last bytes of the response (where
 * OpenAI-compatible servers put it: the {@code usage} object closes a JSON answer, and with
 * {@code stream_options.include_usage} the last event before {@code [DONE]} carries it). Each chunk costs one copy
 * of at most {@link #WINDOW} bytes; a short answer only as many bytes as it has. Not thread-safe: one response, on
 * its event loop.
 * <p>
 * An Anthropic Messages stream reports its usage in two events: {@code message_start} (its first, with
 * {@code input_tokens}) and {@code message_delta} (near its end, with {@code output_tokens}; vLLM adds
 * {@code input_tokens} there too, Anthropic's own API may not). So when the first chunk begins with
 * {@code event: message_start}, its usage is read too, and gives the input tokens that the last usage lacks. Other
 * answers pay one comparison of a few bytes for it.
 */
final class UsageScanner {
    static final int WINDOW = 8192;
    static final int MODEL_SCAN = 2048;
    private static final byte[] PROMPT_TOKENS = "prompt_tokens".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] COMPLETION_TOKENS = "completion_tokens".getBytes(StandardCharsets.US_ASCII);
    /** The Responses API's names of the same counts. */
    private static final byte[] INPUT_TOKENS = "input_tokens".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] OUTPUT_TOKENS = "output_tokens".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] USAGE_KEY = "\"usage\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] MODEL_KEY = "\"model\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] MESSAGE_START = "event: message_start".getBytes(StandardCharsets.US_ASCII);

    /** The last bytes seen: grows up to {@link #WINDOW} while the answer is short, then a ring of that size. */
    private byte[] ring = new byte[0];
    private long total;
    private String responseModel;
    /** The usage of an Anthropic stream's {@code message_start} event; null for any other answer. */
    private TokenUsage startUsage;
    private boolean first = true;

    void accept(Buffer chunk) {
        int n = chunk.length();
        if (n == 0) {
            return;
        }
        if (first && n > WINDOW) {
            byte[] head = chunk.getBytes(0, MODEL_SCAN);
            readHead(head, head.length);
        }
        int from = Math.max(0, n - WINDOW);
        if (ring.length < WINDOW && total + (n - from) > ring.length) {
            ring = Arrays.copyOf(ring, (int) Math.min(WINDOW, Math.max(2L * ring.length, total + n - from)));
        }
        for (int i = from; i < n; ) {
            int pos = (int) (total % WINDOW);
            int len = Math.min(n - i, WINDOW - pos);
            chunk.getBytes(i, i + len, ring, pos);
            total += len;
            i += len;
        }
        if (first && n <= WINDOW) {
            readHead(ring, Math.min(n, MODEL_SCAN)); // the chunk is at the ring's start
        }
        first = false;
    }

    /** The model named at the start of the first chunk; and an Anthropic stream's {@code message_start} usage. */
    private void readHead(byte[] head, int length) {
        responseModel = stringAfter(head, length, MODEL_KEY);
        if (length >= MESSAGE_START.length && Arrays.equals(head, 0, MESSAGE_START.length, MESSAGE_START, 0,
                MESSAGE_START.length)) {
            int at = indexOf(head, length, USAGE_KEY);
            startUsage = at < 0 ? null : usageAt(Arrays.copyOf(head, length), at);
        }
    }

    String responseModel() {
        return responseModel;
    }

    /**
     * The last {@code usage} object seen near the end, or null (absent, {@code null}, or unreadable); its input
     * tokens, when it has none, from an Anthropic stream's {@code message_start}.
     */
    TokenUsage usage() {
        byte[] tail = tail();
        int at = lastIndexOf(tail, USAGE_KEY);
        TokenUsage last = at < 0 ? null : usageAt(tail, at);
        if (last != null && last.inputTokens() < 0 && startUsage != null && startUsage.inputTokens() >= 0) {
            return new TokenUsage(startUsage.inputTokens(), last.outputTokens());
        }
        return last;
    }

    /** The usage object that follows the {@code "usage"} key found at {@code at}, or null. */
    private static TokenUsage usageAt(byte[] b, int at) {
        int i = skipSpace(b, at + USAGE_KEY.length);
        if (i < b.length && b[i] == ':') {
            i = skipSpace(b, i + 1);
        }
        if (i >= b.length || b[i] != '{') {
            return null;
        }
        return readUsage(b, i);
    }

    /**
     * {@code prompt_tokens} and {@code completion_tokens} (the Responses API's {@code input_tokens} and
     * {@code output_tokens}) of the JSON object starting at {@code start}; null when the object is incomplete or has
     * neither. A scan rather than a JSON parser: it runs for every answer, and only two
     * integer members of the top level are wanted (nested objects and strings are skipped, escapes included).
     */
    static TokenUsage readUsage(byte[] b, int start) {
        long input = -1;
        long output = -1;
        int depth = 0;
        int i = start;
        while (i < b.length) {
            byte c = b[i];
            if (c == '"') {
                int end = endOfString(b, i + 1);
                if (end < 0) {
                    return null;
                }
                int colon = skipSpace(b, end + 1);
                if (depth == 1 && colon < b.length && b[colon] == ':') {
                    int value = skipSpace(b, colon + 1);
                    boolean prompt = equalsAt(b, i + 1, end, PROMPT_TOKENS) || equalsAt(b, i + 1, end, INPUT_TOKENS);
                    boolean completion = !prompt && (equalsAt(b, i + 1, end, COMPLETION_TOKENS)
                            || equalsAt(b, i + 1, end, OUTPUT_TOKENS));
                    if ((prompt || completion) && value < b.length && isDigit(b[value])) {
                        long n = 0;
                        int k = value;
                        for (; k < b.length && isDigit(b[k]) && k - value < 18; k++) {
                            n = n * 10 + (b[k] - '0');
                        }
                        if (prompt) {
                            input = n;
                        } else {
                            output = n;
                        }
                        i = k;
                        continue;
                    }
                }
                i = end + 1;
                continue;
            }
            if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (--depth == 0) {
                    return input < 0 && output < 0 ? null : new TokenUsage(input, output);
                }
            }
            i++;
        }
        return null;
    }

    /** Index of the quote closing the string whose content starts at {@code from}, or -1. */
    private static int endOfString(byte[] b, int from) {
        for (int i = from; i < b.length; i++) {
            if (b[i] == '\\') {
                i++;
            } else if (b[i] == '"') {
                return i;
            }
        }
        return -1;
    }

    private static int skipSpace(byte[] b, int from) {
        int i = from;
        while (i < b.length && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r')) {
            i++;
        }
        return i;
    }

    private static boolean equalsAt(byte[] b, int from, int to, byte[] name) {
        return Arrays.equals(b, from, to, name, 0, name.length);
    }

    private static boolean isDigit(byte c) {
        return c >= '0' && c <= '9';
    }

    private byte[] tail() {
        int size = (int) Math.min(total, WINDOW);
        if (ring.length == size && total <= WINDOW) {
            return ring; // a short answer that filled its array exactly
        }
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
