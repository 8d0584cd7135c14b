package dev.apirouter.http;

import dev.apirouter.call.HeaderNames;
import dev.apirouter.error.ErrorBody;
import dev.apirouter.error.ErrorCode;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;

/** Writes a gateway error straight to a Vert.x response, for errors found before any Camel route runs. */
public final class ErrorResponses {
    private ErrorResponses() {
    }

    public static void send(HttpServerResponse response, String requestId, ErrorCode code, String message) {
        if (response.headWritten() || response.ended() || response.closed()) {
            return;
        }
        response.setStatusCode(code.status())
                .putHeader(HttpHeaders.CONTENT_TYPE, ErrorBody.CONTENT_TYPE)
                .putHeader(HeaderNames.REQUEST_ID, requestId)
                .end(Buffer.buffer(ErrorBody.of(code, message)));
    }
}
