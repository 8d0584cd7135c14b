package dev.apirouter.http;

import dev.apirouter.call.HeaderNames;
import dev.apirouter.error.ErrorBody;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.ErrorShape;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;

/**
 * Writes a gateway error straight to a Vert.x response, for errors found before any Camel route runs (or that
 * escaped one), in the error shape of the request's path ({@link ErrorShape#forPath}).
 */
public final class ErrorResponses {
    private ErrorResponses() {
    }

    public static void send(HttpServerRequest request, String requestId, ErrorCode code, String message) {
        HttpServerResponse response = request.response();
        if (response.headWritten() || response.ended() || response.closed()) {
            return;
        }
        response.setStatusCode(code.status())
                .putHeader(HttpHeaders.CONTENT_TYPE, ErrorBody.CONTENT_TYPE)
                .putHeader(HeaderNames.REQUEST_ID, requestId)
                .end(Buffer.buffer(ErrorBody.of(ErrorShape.forPath(request.path()), code, message)));
    }
}
