package dev.apirouter.error;

import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.core.io.JsonStringEncoder;

/** Renders the OpenAI error shape: {@code {"error":{"message":...,"type":...,"param":null,"code":...}}}. */
public final class ErrorBody {
    public static final String CONTENT_TYPE = "application/json";

    private ErrorBody() {
    }

    public static byte[] of(GatewayException e) {
        return of(e.code(), e.getMessage());
    }

    public static byte[] of(ErrorCode code, String message) {
        String json = "{\"error\":{\"message\":" + quote(message) + ",\"type\":" + quote(code.type())
                + ",\"param\":null,\"code\":" + quote(code.code()) + "}}";
        return json.getBytes(StandardCharsets.UTF_8);
    }

    private static String quote(String s) {
        return '"' + new String(JsonStringEncoder.getInstance().quoteAsString(s)) + '"';
    }
}
