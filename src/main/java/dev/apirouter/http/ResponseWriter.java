package dev.apirouter.http;

import java.util.Map;

import dev.apirouter.call.HeaderNames;
import dev.apirouter.error.ErrorCode;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.TypeConverter;
import org.apache.camel.spi.HeaderFilterStrategy;
import org.apache.camel.support.ObjectHelper;
import org.apache.camel.support.http.HttpUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Writes a routed exchange's message as the HTTP response (everything that was not streamed by the forwarder). */
final class ResponseWriter {
    private static final Logger LOG = LoggerFactory.getLogger(ResponseWriter.class);

    private ResponseWriter() {
    }

    static void write(HttpServerRequest request, Exchange exchange, String requestId, HeaderFilterStrategy filter) {
        HttpServerResponse response = request.response();
        if (response.headWritten() || response.closed()) {
            return;
        }
        if (exchange.getException() != null) {
            // Every route carries the gateway's error mapper; reaching this means something escaped it.
            LOG.error("Unhandled failure in request {}", requestId, exchange.getException());
            ErrorResponses.send(request, requestId, ErrorCode.INTERNAL_ERROR, "The gateway failed to handle the request.");
            return;
        }
        Message message = exchange.getMessage();
        Object body = message.getBody();
        response.setStatusCode(HttpUtil.determineResponseCode(exchange, body));
        TypeConverter converter = exchange.getContext().getTypeConverter();
        for (Map.Entry<String, Object> header : message.getHeaders().entrySet()) {
            String name = header.getKey();
            HttpUtil.applyHeader(filter, exchange, ObjectHelper.createIterator(header.getValue(), null, true), converter,
                    name, (values, first) -> {
                        if (values != null) {
                            response.putHeader(name, values);
                        } else if (first != null) {
                            response.putHeader(name, first);
                        }
                    });
        }
        String contentType = message.getHeader(Exchange.CONTENT_TYPE, String.class);
        if (contentType != null) {
            response.putHeader(HttpHeaders.CONTENT_TYPE, contentType);
        }
        response.putHeader(HeaderNames.REQUEST_ID, requestId);
        if (body == null) {
            response.end();
        } else if (body instanceof Buffer buffer) {
            response.end(buffer);
        } else if (body instanceof String text) {
            response.end(text);
        } else {
            byte[] bytes = converter.tryConvertTo(byte[].class, exchange, body);
            response.end(bytes != null ? Buffer.buffer(bytes) : Buffer.buffer(body.toString()));
        }
    }
}
