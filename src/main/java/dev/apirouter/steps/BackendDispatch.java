package dev.apirouter.steps;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.apirouter.call.GatewayCall;
import dev.apirouter.error.GatewayException;
import dev.apirouter.forward.ForwardRequest;
import dev.apirouter.forward.RequestTarget;
import dev.apirouter.forward.StreamingForwarder;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.routing.InferenceRequest;
import dev.apirouter.telemetry.UpstreamCall;
import dev.apirouter.telemetry.UpstreamTracing;
import org.apache.camel.AsyncCallback;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.component.platform.http.PlatformHttpEndpoint;
import org.apache.camel.support.AsyncProcessorSupport;

/**
 * {@code backend-dispatch}: hands the enriched call to the {@link StreamingForwarder}, which streams the answer of
 * the first backend that gives one to the client; completes asynchronously, so no thread waits while a stream is in
 * flight. Once a backend has answered, the response is the forwarder's ({@link GatewayCall#backendAnswered}); when
 * none did, the exchange fails and the route's error mapper answers.
 */
public final class BackendDispatch extends AsyncProcessorSupport {
    public static final String NAME = "backend-dispatch";

    private final StreamingForwarder forwarder;
    private final UpstreamTracing tracing;

    /**
     * @param tracing {@link UpstreamTracing#OFF}, or each call to a backend becomes a CLIENT span whose context the
     *                backend gets as traceparent
     */
    public BackendDispatch(StreamingForwarder forwarder, UpstreamTracing tracing) {
        this.forwarder = forwarder;
        this.tracing = tracing;
    }

    @Override
    public boolean process(Exchange exchange, AsyncCallback callback) {
        Message message = exchange.getMessage();
        GatewayCall call = GatewayCall.of(exchange);
        ModelPolicy policy = call.modelPolicy();
        InferenceRequest inference = call.inferenceRequest();
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
        UpstreamCall span = tracing.start(exchange, method, path, policy.upstreamModel().orElse(inference.model()));
        span.inject(headers);
        ForwardRequest request = new ForwardRequest(method, path, headers, call.upstreamBody(), call.candidates(),
                policy.timeouts(), call.requestId(), inference.model(), span.recording());
        forwarder.forward(call.clientContext(), request, call.clientResponse()).onComplete(ar -> {
            span.end(ar.result(), ar.cause());
            if (ar.succeeded()) {
                call.backendAnswered(ar.result());
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
    static Map<String, List<String>> headersOf(Message message) {
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
