package dev.apirouter.error;

import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

/**
 * Renders a gateway error in the {@link ErrorShape} of the request's API: the OpenAI shape
 * {@code {"error":{"message":...,"type":...,"param":null,"code":...}}}, or the Anthropic shape
 * {@code {"type":"error","error":{"type":...,"message":...}}}.
 */
public final class ErrorBody {
    public static final String CONTENT_TYPE = "application/json";

    private ErrorBody() {
    }

    public static byte[] of(ErrorShape shape, GatewayException e) {
        return of(shape, e.code(), e.getMessage());
    }

    /** The OpenAI shape (paths that are not the Anthropic API's). */
    public static byte[] of(ErrorCode code, String message) {
        return of(ErrorShape.OPENAI, code, message);
    }

    public static byte[] of(ErrorShape shape, ErrorCode code, String message) {
        String json = switch (shape) {
            case OPENAI -> "{\"error\":{\"message\":" + quote(message) + ",\"type\":" + quote(code.type())
                    + ",\"param\":null,\"code\":" + quote(code.code()) + "}}";
            case ANTHROPIC -> "{\"type\":\"error\",\"error\":{\"type\":" + quote(code.anthropicType())
                    + ",\"message\":" + quote(message) + "}}";
        };
        return json.getBytes(StandardCharsets.UTF_8);
    }

    private static String quote(String s) {
        return '"' + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + '"';
    }
}
