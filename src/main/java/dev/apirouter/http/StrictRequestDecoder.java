package dev.apirouter.http;

import io.netty.handler.codec.http.HttpMessage;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.impl.VertxHttpRequestDecoder;

/**
 * Vert.x's HTTP/1.x request decoder, stricter about framing: a request with both {@code Transfer-Encoding: chunked}
 * and {@code Content-Length} is ambiguous (RFC 9112 6.1, 6.3: a smuggling attempt or a broken client) and becomes an
 * invalid request, answered 400 with the connection closed, as nginx and Envoy do. Netty's default silently drops
 * the {@code Content-Length} and keeps the connection.
 */
final class StrictRequestDecoder extends VertxHttpRequestDecoder {
    static final String AMBIGUOUS_FRAMING = "Content-Length together with Transfer-Encoding: chunked";

    StrictRequestDecoder(HttpServerOptions options) {
        super(options);
    }

    @Override
    protected void handleTransferEncodingChunkedWithContentLength(HttpMessage message) {
        throw new IllegalArgumentException(AMBIGUOUS_FRAMING);
    }
}
