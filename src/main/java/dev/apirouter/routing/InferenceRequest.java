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
 * {@code user}, and where its prompt begins (for prefix affinity). The body is parsed once, as a stream of tokens,
 * without building a tree; the model can then be rewritten in place, leaving every other byte of the body as the
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
 */
public record InferenceRequest(String model, boolean stream, int modelStart, int modelEnd, String user,
                               int promptStart, int promptEnd) {
    private static final JsonFactory JSON = JsonFactory.builder()
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .build();

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
            return prompt == null ? new InferenceRequest(model, stream, start, end, user, -1, -1)
                    : new InferenceRequest(model, stream, start, end, user, prompt[0], prompt[1]);
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

    /** The body with the model value replaced by {@code newModel}; every other byte is kept. */
    public byte[] withModel(byte[] body, String newModel) {
        byte[] replacement = quoteJson(newModel).getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[body.length - (modelEnd - modelStart) + replacement.length];
        System.arraycopy(body, 0, out, 0, modelStart);
        System.arraycopy(replacement, 0, out, modelStart, replacement.length);
        System.arraycopy(body, modelEnd, out, modelStart + replacement.length, body.length - modelEnd);
        return out;
    }

    private static String quoteJson(String s) {
        return '"' + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + '"';
    }

    private static GatewayException invalid(String message) {
        return new GatewayException(ErrorCode.INVALID_REQUEST, message);
    }
}
