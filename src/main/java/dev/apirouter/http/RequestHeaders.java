package dev.apirouter.http;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.net.SocketAddress;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.Exchange;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpConstants;
import org.apache.camel.spi.HeaderFilterStrategy;

/**
 * The Camel message headers of a request: the request's own headers (through the endpoint's header filter), its
 * path parameters, and Camel's HTTP headers ({@code CamelHttpPath}, {@code CamelHttpMethod}, {@code CamelHttpUri},
 * {@code CamelHttpQuery}, ...), as platform-http sets them, with one difference: the query's parameters stay in the
 * query. platform-http also copies each into a header of the same name, and the gateway forwards the message's
 * headers to the backend, so {@code ?x-anything=value} (or {@code ?traceparent=...}) reached the backend as an HTTP
 * header the client never sent. The backend still gets the query itself, unchanged.
 */
final class RequestHeaders {
    private RequestHeaders() {
    }

    static void populate(RoutingContext ctx, Map<String, Object> headers, Exchange exchange,
                         HeaderFilterStrategy filter) {
        HttpServerRequest request = ctx.request();
        headers.put(Exchange.HTTP_PATH, ctx.normalizedPath());
        if (filter != null) {
            for (Map.Entry<String, String> header : request.headers()) {
                if (!filter.applyFilterToExternalHeaders(header.getKey(), header.getValue(), exchange)) {
                    append(headers, header.getKey(), header.getValue());
                }
            }
        }
        for (Map.Entry<String, String> param : ctx.pathParams().entrySet()) {
            append(headers, param.getKey(), param.getValue());
        }
        SocketAddress local = request.localAddress();
        if (local != null) {
            headers.put(VertxPlatformHttpConstants.LOCAL_ADDRESS, local);
        }
        SocketAddress remote = request.remoteAddress();
        if (remote != null) {
            headers.put(VertxPlatformHttpConstants.REMOTE_ADDRESS, remote);
        }
        headers.put(Exchange.HTTP_METHOD, request.method().toString());
        headers.put(Exchange.HTTP_URL, request.absoluteURI());
        headers.put(Exchange.HTTP_URI, request.uri());
        headers.put(Exchange.HTTP_QUERY, request.query());
        headers.put(Exchange.HTTP_RAW_QUERY, request.query());
    }

    /** A repeated header becomes a list of its values, in order (as platform-http does). */
    @SuppressWarnings("unchecked")
    private static void append(Map<String, Object> headers, String name, String value) {
        Object existing = headers.get(name);
        if (existing == null) {
            headers.put(name, value);
        } else if (existing instanceof List<?> list) {
            ((List<Object>) list).add(value);
        } else {
            List<Object> values = new ArrayList<>(2);
            values.add(existing);
            values.add(value);
            headers.put(name, values);
        }
    }
}
