package dev.apirouter.steps;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import dev.apirouter.call.GatewayCall;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.forward.ForwardRequest;
import dev.apirouter.forward.RequestTarget;
import dev.apirouter.forward.StreamingForwarder;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.PolicyView;
import dev.apirouter.routing.Decision;
import dev.apirouter.routing.InferenceRequest;
import dev.apirouter.routing.Reason;
import dev.apirouter.routing.Router;
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
 * <p>
 * <b>Fallbacks.</b> When no backend of the model is available (none to try, or every one refused, failed or answered
 * 429/503), the model's {@code fallbacks} are tried in order: those that exist and that the key may use, each with
 * its own routing and its own {@code upstreamModel}. Only the requested model's fallbacks are followed (never a
 * fallback's own), so a chain cannot loop.
 * <p>
 * <b>Stored responses.</b> When {@code response-pin} ran, the answer's response ids are pinned to the backend that
 * gave it ({@link dev.apirouter.forward.ResponseIds}); a request for a stored response goes to its backend alone, on
 * the path the step decided.
 * <p>
 * <b>Usage.</b> When the call requires the answer's usage ({@link GatewayCall#requireUsage()}), it is read, and a
 * stream that does not ask for it is sent asking for it, its usage-only chunk removed on the way to the client.
 * <p>
 * <b>Uploads.</b> A streamed body ({@link GatewayCall#streamedBody()}) is sent once: its model is replaced as for a
 * JSON body, and it is retried on another backend, or a fallback, only while none of it has been sent (the
 * backends that refused the connection).
 */
public final class BackendDispatch extends AsyncProcessorSupport {
    public static final String NAME = "backend-dispatch";

    private final StreamingForwarder forwarder;
    private final UpstreamTracing tracing;
    private final Router router;
    private final RateLimit rateLimit;

    /**
     * @param tracing   {@link UpstreamTracing#OFF}, or each call to a backend becomes a CLIENT span whose context the
     *                  backend gets as traceparent
     * @param rateLimit run first when the route did not run it
     */
    public BackendDispatch(StreamingForwarder forwarder, UpstreamTracing tracing, Router router, RateLimit rateLimit) {
        this.forwarder = forwarder;
        this.tracing = tracing;
        this.router = router;
        this.rateLimit = rateLimit;
    }

    @Override
    public boolean process(Exchange exchange, AsyncCallback callback) {
        GatewayCall call = GatewayCall.of(exchange);
        if (call.wereLimitsChecked()) {
            return dispatch(exchange, call, callback);
        }
        // the route did not name rate-limit: it runs first, then the dispatch (once, whichever way each completes)
        boolean sync = rateLimit.process(exchange, doneSync -> {
            if (!doneSync) {
                if (exchange.getException() != null) {
                    callback.done(false);
                } else {
                    dispatch(exchange, call, ignored -> callback.done(false));
                }
            }
        });
        if (!sync) {
            return false;
        }
        if (exchange.getException() != null) {
            callback.done(true);
            return true;
        }
        return dispatch(exchange, call, callback);
    }

    /** Returns true when done synchronously (the callback was called with {@code true}). */
    private boolean dispatch(Exchange exchange, GatewayCall call, AsyncCallback callback) {
        Message message = exchange.getMessage();
        String path;
        try {
            path = RequestTarget.of(call.upstreamPath() != null ? call.upstreamPath() : routePath(exchange),
                    message.getHeader(Exchange.HTTP_QUERY, String.class));
        } catch (GatewayException e) {
            exchange.setException(e);
            callback.done(true);
            return true;
        }
        String method = message.getHeader(Exchange.HTTP_METHOD, "POST", String.class);
        new Dispatch(exchange, call, method, path, callback).start();
        return false;
    }

    /** One request's way through its model and, when needed, its fallbacks. */
    private final class Dispatch {
        private final Exchange exchange;
        private final GatewayCall call;
        private final String method;
        private final String path;
        private final AsyncCallback callback;
        private final List<ModelPolicy> fallbacks;
        /** The body is sent with the stream's usage requested on the gateway's behalf. */
        private final boolean requestUsage;
        private int nextFallback;

        Dispatch(Exchange exchange, GatewayCall call, String method, String path, AsyncCallback callback) {
            this.exchange = exchange;
            this.call = call;
            this.method = method;
            this.path = path;
            this.callback = callback;
            // a request pinned to the backend that holds its response goes nowhere else
            this.fallbacks = call.decision().reason() == Reason.PINNED ? List.of() : usableFallbacks(call);
            // only (chat) completions take stream_options; a Responses stream ends with its usage anyway
            this.requestUsage = call.usageRequired() && call.inferenceRequest() != null
                    && call.inferenceRequest().usageRequestable() && path.endsWith("/completions");
        }

        void start() {
            Decision decision = call.decision();
            if (decision.candidates().isEmpty() && fallbacks.isEmpty()) {
                decision = router.lastResort(call.modelPolicy()); // its fallbacks exist, but none is usable
            }
            ModelPolicy policy = call.modelPolicy();
            String model = policy.backendModel(); // never an alias the client used
            if (call.streamedBody() != null) {
                call.streamedBody().sendModel(model);
            }
            send(policy, decision, requestUsage ? call.inferenceRequest().rewrite(call.requestBody(),
                    model.equals(call.inferenceRequest().model()) ? null : model, true) : call.upstreamBody());
        }

        private void send(ModelPolicy policy, Decision decision, byte[] body) {
            boolean fallbackLeft = nextFallback < fallbacks.size();
            if (decision.candidates().isEmpty()) {
                if (fallbackLeft) {
                    fallBack();
                } else {
                    done(new GatewayException(ErrorCode.UPSTREAM_UNAVAILABLE, "No backend of model '" + policy.name()
                            + "' is available."));
                }
                return;
            }
            Map<String, List<String>> headers = headersOf(exchange.getMessage());
            UpstreamCall span = tracing.start(exchange, method, path, policy.upstreamModel().orElse(policy.name()));
            span.routed(decision.reason().label());
            span.inject(headers);
            ForwardRequest request = new ForwardRequest(method, path, headers, body, call.streamedBody(),
                    decision.candidates(),
                    policy.timeouts(), call.requestId(), policy.name(), policy.routing(), fallbackLeft,
                    span.recording() || call.usageRequired(), requestUsage, call.responseIdsModel());
            forwarder.forward(call.clientContext(), request, call.clientResponse()).onComplete(ar -> {
                span.end(ar.result(), ar.cause());
                if (ar.succeeded()) {
                    call.backendAnswered(ar.result());
                    exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, ar.result().status());
                    done(null);
                } else if (fallbackLeft && ar.cause() instanceof GatewayException e
                        && e.code() == ErrorCode.UPSTREAM_UNAVAILABLE && request.replayable()) {
                    fallBack();
                } else {
                    done(ar.cause());
                }
            });
        }

        private void fallBack() {
            ModelPolicy fallback = fallbacks.get(nextFallback++);
            InferenceRequest inference = call.inferenceRequest();
            Message message = exchange.getMessage();
            byte[] clientBody = call.requestBody();
            Decision decision = router.routeFallback(fallback, inference, clientBody,
                    name -> message.getHeader(name, String.class));
            String model = fallback.upstreamModel().orElse(fallback.name());
            if (call.streamedBody() != null) {
                call.streamedBody().sendModel(model);
            }
            byte[] body = call.streamedBody() != null ? clientBody : inference.rewrite(clientBody, model, requestUsage);
            call.rerouted(fallback, decision, body);
            if (call.responseIdsModel() != null) {
                call.pinResponseIds(fallback.name()); // the ids name the fallback's backend, and the fallback
            }
            send(fallback, decision, body);
        }

        private void done(Throwable failure) {
            if (failure != null) {
                exchange.setException(failure);
            }
            callback.done(false);
        }
    }

    /** The requested model's fallbacks that exist in the policy in force and that the caller's key may use. */
    private static List<ModelPolicy> usableFallbacks(GatewayCall call) {
        List<String> names = call.modelPolicy().fallbacks();
        if (names.isEmpty()) {
            return List.of();
        }
        List<ModelPolicy> usable = new ArrayList<>(names.size());
        for (String name : names) {
            // a fallback may be named by an alias: found and allowed as a request naming it would be
            call.policyView().model(name).filter(policy -> call.keyRecord() == null
                    || PolicyView.allows(call.keyRecord(), name, policy)).ifPresent(usable::add);
        }
        return usable;
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
