package dev.apirouter.routing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.io.JsonStringEncoder;

import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;

/**
 * What the gateway reads from an OpenAI request body: its {@code model}, whether it asks for a stream, its
 * {@code user}, where its prompt begins (for prefix affinity), how many tokens it may generate and whether a stream
 * reports its usage (for token limits). The body is parsed once, as a stream of tokens, without building a tree; the
 * model can then be rewritten in place and a stream's usage requested, leaving every other byte of the body as the
 * client sent it.
 *
 * @param modelStart  byte offset of the {@code model} value's opening quote
 * @param modelEnd    byte offset just past its closing quote
 * @param user        the {@code user} field when it is a string, else null
 * @param promptStart byte offset where the prompt's beginning starts, -1 when the body has no prompt: the
 *                    {@code messages} array, else the {@code prompt} or {@code input} value (its first element when
 *                    it is an array)
 * @param promptEnd   byte offset just past the prompt's beginning: for {@code messages}, the end of the first
 *                    message that is not a system (or developer) message, so that every later turn of a
 *                    conversation, which resends it, has the same beginning
 * @param maxTokens   {@code max_completion_tokens}, else {@code max_tokens}, when it is a whole number not below zero;
 *                    else -1 (absent, or a value the backend refuses: not the gateway's to judge)
 * @param includeUsage       {@code stream_options.include_usage} is {@code true}: the client asked for the stream's
 *                           usage chunk itself
 * @param streamOptionsStart byte offset of the {@code stream_options} value's opening brace, -1 when it is absent or
 *                           not an object
 * @param streamOptionsEnd   byte offset just past its closing brace
 * @param usageRequestable   {@link #withUsageRequested} changes the body: it streams, without asking for usage, and
 *                           its {@code stream_options} is absent or an object whose {@code include_usage} is absent,
 *                           {@code false} or {@code null} (any other value is left for the backend to read or refuse)
 */
public record InferenceRequest(String model, boolean stream, int modelStart, int modelEnd, String user,
                               int promptStart, int promptEnd, long maxTokens, boolean includeUsage,
                               int streamOptionsStart, int streamOptionsEnd, boolean usageRequestable) {
    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();
    private static final byte[] USAGE_OPTIONS = "\"stream_options\":{\"include_usage\":true},"
            .getBytes(StandardCharsets.US_ASCII);
    private static final byte[] INCLUDE_USAGE = "\"include_usage\":true".getBytes(StandardCharsets.US_ASCII);

    /**
     * A request whose body is not JSON (an upload): its model alone, no prompt, no stream, no offsets into a body
     * (it is never rewritten as JSON).
     */
    public static InferenceRequest ofModel(String model) {
        return new InferenceRequest(model, false, -1, -1, null, -1, -1, -1, false, -1, -1, false);
    }

    public static InferenceRequest parse(byte[] body) {
        if (body == null || body.length == 0) {
            throw invalid("The request body is empty; send a JSON object with a 'model'.");
        }
        if (Utf8.startsWithByteOrderMark(body)) {
            throw invalid("The request body starts with a byte order mark; send JSON in UTF-8 without one.");
        }
        int invalid = Utf8.firstInvalid(body);
        if (invalid >= 0) {
            throw invalid("The request body is not valid UTF-8 JSON (byte " + invalid + "); send JSON in UTF-8.");
        }
        try (JsonParser p = JSON.createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                throw invalid("The request body must be a JSON object.");
            }
            String model = null;
            boolean stream = false;
            int start = -1;
            int end = -1;
            String user = null;
            int[] prompt = null;
            long maxCompletionTokens = -1;
            long maxTokens = -1;
            boolean optionsPresent = false;
            int optionsStart = -1;
            int optionsEnd = -1;
            JsonToken includeUsage = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if ("messages".equals(field) && value == JsonToken.START_ARRAY) {
                    prompt = messagesBeginning(p);
                } else if (("prompt".equals(field) || "input".equals(field)) && prompt == null) {
                    prompt = firstValue(p, value);
                } else if ("user".equals(field) && value == JsonToken.VALUE_STRING) {
                    user = p.getText();
                } else if ("model".equals(field)) {
                    if (value != JsonToken.VALUE_STRING) {
                        throw invalid("'model' must be a string.");
                    }
                    start = (int) p.currentTokenLocation().getByteOffset();
                    model = p.getText();
                    end = (int) p.currentLocation().getByteOffset();
                } else if ("stream".equals(field)) {
                    stream = value == JsonToken.VALUE_TRUE;
                    p.skipChildren();
                } else if ("max_completion_tokens".equals(field)) {
                    maxCompletionTokens = wholeNumber(p, value);
                    p.skipChildren();
                } else if ("max_tokens".equals(field)) {
                    maxTokens = wholeNumber(p, value);
                    p.skipChildren();
                } else if ("stream_options".equals(field)) {
                    optionsPresent = true;
                    if (value == JsonToken.START_OBJECT) {
                        optionsStart = (int) p.currentTokenLocation().getByteOffset();
                        includeUsage = includeUsageOf(p);
                        optionsEnd = (int) p.currentLocation().getByteOffset();
                    } else {
                        p.skipChildren();
                    }
                } else {
                    p.skipChildren();
                }
            }
            if (p.currentToken() != JsonToken.END_OBJECT || p.nextToken() != null) {
                throw invalid("The request body is not valid JSON.");
            }
            if (model == null) {
                throw invalid("The request body has no 'model'.");
            }
            if (model.isBlank()) {
                throw invalid("'model' must not be empty.");
            }
            boolean usageAsked = includeUsage == JsonToken.VALUE_TRUE;
            boolean usageRequestable = stream && (!optionsPresent || optionsStart >= 0 && (includeUsage == null
                    || includeUsage == JsonToken.VALUE_FALSE || includeUsage == JsonToken.VALUE_NULL));
            return new InferenceRequest(model, stream, start, end, user, prompt == null ? -1 : prompt[0],
                    prompt == null ? -1 : prompt[1], maxCompletionTokens >= 0 ? maxCompletionTokens : maxTokens,
                    usageAsked, optionsStart, optionsEnd, usageRequestable);
        } catch (JsonProcessingException e) {
            throw invalid("The request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw invalid("The request body cannot be read.");
        }
    }

    /** Whether the body has a prompt whose beginning can be hashed ({@link #promptStart()}). */
    public boolean hasPrompt() {
        return promptStart >= 0;
    }

    /**
     * The {@code messages} array, the parser on its opening bracket: its start, and the end of its first message that
     * is not a system or developer message (or of the whole array when there is none); the array is then skipped.
     */
    private static int[] messagesBeginning(JsonParser p) throws IOException {
        int from = (int) p.currentTokenLocation().getByteOffset();
        int to = -1;
        JsonToken element;
        while ((element = p.nextToken()) != JsonToken.END_ARRAY && element != null) {
            if (to >= 0 || element != JsonToken.START_OBJECT) {
                p.skipChildren();
                continue;
            }
            String role = null;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                boolean isRole = "role".equals(p.currentName());
                if (p.nextToken() == JsonToken.VALUE_STRING && isRole) {
                    role = p.getText();
                } else {
                    p.skipChildren();
                }
            }
            if (!"system".equals(role) && !"developer".equals(role)) {
                to = (int) p.currentLocation().getByteOffset();
            }
        }
        return new int[] {from, to >= 0 ? to : (int) p.currentLocation().getByteOffset()};
    }

    /** A {@code prompt}/{@code input} value: a string, or an array whose first element is taken. */
    private static int[] firstValue(JsonParser p, JsonToken value) throws IOException {
        if (value == JsonToken.START_ARRAY) {
            JsonToken first = p.nextToken();
            if (first == JsonToken.END_ARRAY) {
                return null;
            }
            int from = (int) p.currentTokenLocation().getByteOffset();
            p.skipChildren();
            p.finishToken();
            int to = (int) p.currentLocation().getByteOffset();
            JsonToken next;
            while ((next = p.nextToken()) != JsonToken.END_ARRAY && next != null) {
                p.skipChildren();
            }
            return new int[] {from, to};
        }
        int from = (int) p.currentTokenLocation().getByteOffset();
        p.skipChildren();
        p.finishToken(); // a string's end is known only once it is read
        return new int[] {from, (int) p.currentLocation().getByteOffset()};
    }

    /**
     * A token limit's value: a whole number not below zero, else -1. A float without a fraction counts (vLLM's
     * validation accepts {@code 100.0} as 100).
     */
    private static long wholeNumber(JsonParser p, JsonToken value) throws IOException {
        if (value == JsonToken.VALUE_NUMBER_INT && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER) {
            return Math.max(-1, p.getLongValue());
        }
        if (value == JsonToken.VALUE_NUMBER_FLOAT) {
            double d = p.getDoubleValue();
            return d >= 0 && d == Math.rint(d) && d < 0x1p53 ? (long) d : -1;
        }
        return -1;
    }

    /**
     * The {@code stream_options} object, the parser on its opening brace: the token of its {@code include_usage}
     * value (null when absent); the object is then read to its end.
     */
    private static JsonToken includeUsageOf(JsonParser p) throws IOException {
        JsonToken includeUsage = null;
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            boolean isIncludeUsage = "include_usage".equals(p.currentName());
            JsonToken value = p.nextToken();
            if (isIncludeUsage) {
                includeUsage = value;
            }
            p.skipChildren();
        }
        return includeUsage;
    }

    /** The body with the model value replaced by {@code newModel}; every other byte is kept. */
    public byte[] withModel(byte[] body, String newModel) {
        return rewrite(body, newModel, false);
    }

    /** The body with the stream's usage requested ({@link #rewrite}); the same array when there is nothing to do. */
    public byte[] withUsageRequested(byte[] body) {
        return rewrite(body, null, true);
    }

    /**
     * The body as the client sent it with, at most, two edits: the model value replaced by {@code newModel} (kept
     * when null), and, when {@code requestUsage} and {@link #usageRequestable()}, the stream's usage requested, so
     * that the backend ends the stream with a usage chunk: {@code "stream_options":{"include_usage":true}} as the
     * object's first member, or, in a {@code stream_options} object, {@code "include_usage":true} as its last member
     * (the backend's JSON parser keeps the last of duplicate members, so it wins over an earlier {@code false}).
     * Every other byte is kept; with nothing to edit, {@code body} itself is returned.
     *
     * @param body the body this request was parsed from (the offsets are into it)
     */
    public byte[] rewrite(byte[] body, String newModel, boolean requestUsage) {
        Edit model = newModel == null ? null
                : new Edit(modelStart, modelEnd, quoteJson(newModel).getBytes(StandardCharsets.UTF_8));
        Edit usage = requestUsage && usageRequestable ? usageEdit(body) : null;
        if (model == null && usage == null) {
            return body;
        }
        if (model == null || usage == null) {
            return splice(body, model != null ? model : usage, null);
        }
        return model.from < usage.from ? splice(body, model, usage) : splice(body, usage, model);
    }

    /** Replaces {@code body[from, to)} by {@code with}. */
    private record Edit(int from, int to, byte[] with) {
    }

    private Edit usageEdit(byte[] body) {
        if (streamOptionsStart < 0) {
            int open = 0;
            while (body[open] != '{') {
                open++; // whitespace before the object
            }
            return new Edit(open + 1, open + 1, USAGE_OPTIONS);
        }
        int close = streamOptionsEnd - 1;
        int last = close - 1;
        while (isSpace(body[last])) {
            last--;
        }
        byte[] member = last == streamOptionsStart ? INCLUDE_USAGE : comma(INCLUDE_USAGE);
        return new Edit(close, close, member);
    }

    private static byte[] comma(byte[] member) {
        byte[] out = new byte[member.length + 1];
        out[0] = ',';
        System.arraycopy(member, 0, out, 1, member.length);
        return out;
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\n' || b == '\r';
    }

    /** {@code body} with {@code first} and then (when not null) {@code second}, which lies after it, applied. */
    private static byte[] splice(byte[] body, Edit first, Edit second) {
        int length = body.length + first.with.length - (first.to - first.from)
                + (second == null ? 0 : second.with.length - (second.to - second.from));
        byte[] out = new byte[length];
        System.arraycopy(body, 0, out, 0, first.from);
        int at = first.from;
        System.arraycopy(first.with, 0, out, at, first.with.length);
        at += first.with.length;
        int from = first.to;
        if (second != null) {
            System.arraycopy(body, from, out, at, second.from - from);
            at += second.from - from;
            System.arraycopy(second.with, 0, out, at, second.with.length);
            at += second.with.length;
            from = second.to;
        }
        System.arraycopy(body, from, out, at, body.length - from);
        return out;
    }

    private static String quoteJson(String s) {
        return '"' + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + '"';
    }

    private static GatewayException invalid(String message) {
        return new GatewayException(ErrorCode.INVALID_REQUEST, message);
    }
}
