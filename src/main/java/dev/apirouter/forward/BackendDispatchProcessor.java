package dev.apirouter.forward;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.apirouter.ExchangeKeys;
import dev.apirouter.error.GatewayException;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.routing.InferenceRequest;
import dev.apirouter.telemetry.UpstreamCall;
import dev.apirouter.telemetry.UpstreamTracing;
import io.vertx.core.Context;
import io.vertx.core.http.HttpServerResponse;
import org.apache.camel.AsyncCallback;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.component.platform.http.PlatformHttpEndpoint;
import org.apache.camel.support.AsyncProcessorSupport;

/**
 * The {@code backend-dispatch} step: hands the enriched exchange to the {@link StreamingForwarder} and completes
 * asynchronously, so no thread waits while a stream is in flight.
 */
public final class BackendDispatchProcessor extends AsyncProcessorSupport {
    private final StreamingForwarder forwarder;
    private final UpstreamTracing tracing;

    /**
     * @param tracing {@link UpstreamTracing#OFF}, or each call to a backend becomes a CLIENT span whose context the
     *                backend gets as traceparent
     */
    public BackendDispatchProcessor(StreamingForwarder forwarder, UpstreamTracing tracing) {
        this.forwarder = forwarder;
        this.tracing = tracing;
    }

    @Override
    public boolean process(Exchange exchange, AsyncCallback callback) {
        Message message = exchange.getMessage();
        ModelPolicy policy = exchange.getProperty(ExchangeKeys.MODEL_POLICY, ModelPolicy.class);
        InferenceRequest inference = exchange.getProperty(ExchangeKeys.INFERENCE_REQUEST, InferenceRequest.class);
        @SuppressWarnings("unchecked")
        List<Backend> candidates = exchange.getProperty(ExchangeKeys.CANDIDATES, List.class);
        String method = message.getHeader(Exchange.HTTP_METHOD, "POST", String.class);
        String path;
        try {
            path = RequestTarget.of(routePath(exchange), message.getHeader(Exchange.HTTP_QUERY, String.class));
        } catch (GatewayException e) {
            exchange.setException(e);
            callback.done(true);
            return true;
        }
        Map<String, List<String>> headers = headersOf(message);
        UpstreamCall call = tracing.start(exchange, method, path,
                policy.upstreamModel().orElse(inference.model()), inference.stream());
        call.inject(headers);
        ForwardRequest request = new ForwardRequest(
                method,
                path,
                headers,
                exchange.getProperty(ExchangeKeys.UPSTREAM_BODY, byte[].class),
                candidates,
                policy.timeouts(),
                exchange.getProperty(ExchangeKeys.REQUEST_ID, String.class),
                inference.model(),
                call.recording());
        forwarder.forward(exchange.getProperty(ExchangeKeys.CLIENT_CONTEXT, Context.class), request,
                        exchange.getProperty(ExchangeKeys.CLIENT_RESPONSE, HttpServerResponse.class))
                .onComplete(ar -> {
                    call.end(ar.result(), ar.cause());
                    if (ar.succeeded()) {
                        exchange.setProperty(ExchangeKeys.RESPONSE_COMMITTED, true);
                        exchange.setProperty(ExchangeKeys.CHOSEN_BACKEND, ar.result().backend());
                        message.setHeader(Exchange.HTTP_RESPONSE_CODE, ar.result().status());
                    } else {
                        exchange.setException(ar.cause());
                    }
                    callback.done(false);
                });
        return false;
    }

    /**
     * The path the request was routed by: the route's own for an exact route, else (a prefix route) the request's
     * normalised path. Never the client's raw target.
     */
    private static String routePath(Exchange exchange) {
        if (exchange.getFromEndpoint() instanceof PlatformHttpEndpoint endpoint && !endpoint.isMatchOnUriPrefix()
                && endpoint.getPath().indexOf('{') < 0) {
            return endpoint.getPath();
        }
        return exchange.getMessage().getHeader(Exchange.HTTP_PATH, String.class);
    }

    /** The message's headers with string values, as the route left them (integrators may have added some). */
    private static Map<String, List<String>> headersOf(Message message) {
        Map<String, List<String>> headers = new LinkedHashMap<>();
        for (Map.Entry<String, Object> header : message.getHeaders().entrySet()) {
            Object value = header.getValue();
            if (value instanceof String s) {
                headers.put(header.getKey(), List.of(s));
            } else if (value instanceof List<?> list && list.stream().allMatch(String.class::isInstance)) {
                headers.put(header.getKey(), list.stream().map(String.class::cast).toList());
            } else if (value instanceof Number || value instanceof Boolean) {
                headers.put(header.getKey(), List.of(value.toString()));
            }
        }
        return headers;
    }
}
