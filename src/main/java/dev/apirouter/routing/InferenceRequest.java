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
 * What the gateway reads from an OpenAI request body: its {@code model} and whether it asks for a stream. The
 * body is parsed once, as a stream of tokens; the model can then be rewritten in place, leaving every other byte
 * of the body as the client sent it.
 *
 * @param modelStart byte offset of the {@code model} value's opening quote
 * @param modelEnd   byte offset just past its closing quote
 */
public record InferenceRequest(String model, boolean stream, int modelStart, int modelEnd) {
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
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String field = p.currentName();
                JsonToken value = p.nextToken();
                if ("model".equals(field)) {
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
            return new InferenceRequest(model, stream, start, end);
        } catch (JsonProcessingException e) {
            throw invalid("The request body is not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw invalid("The request body cannot be read.");
        }
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
