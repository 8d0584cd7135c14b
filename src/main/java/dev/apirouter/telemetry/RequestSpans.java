package dev.apirouter.telemetry;

import java.util.Map;

import dev.apirouter.call.ForwardResult;
import dev.apirouter.call.GatewayCall;
import dev.apirouter.call.TokenUsage;
import dev.apirouter.policy.Backend;
import dev.apirouter.routing.InferenceRequest;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import org.apache.camel.Endpoint;
import org.apache.camel.Exchange;
import org.apache.camel.opentelemetry.SpanCustomizer;
import org.apache.camel.tracing.ActiveSpanManager;
import org.apache.camel.tracing.SpanAdapter;
import org.apache.camel.tracing.decorators.DirectSpanDecorator;
import org.apache.camel.tracing.decorators.PlatformHttpSpanDecorator;

/**
 * How the request's own span (the SERVER span of the {@code platform-http} route) is made: its parent is the
 * client's W3C {@code traceparent} or nothing — never whatever context a pooled thread happens to hold — and when
 * the exchange is done it gets the route id, model, chosen backend, status, streamed or not and token usage.
 */
final class RequestSpans {
    private RequestSpans() {
    }

    /** Parent of a route's first span: the client's {@code traceparent} only. */
    static final class Customizer implements SpanCustomizer {
        private static final TextMapGetter<Map<String, Object>> HEADERS = new TextMapGetter<>() {
            @Override
            public Iterable<String> keys(Map<String, Object> carrier) {
                return carrier.keySet();
            }

            @Override
            public String get(Map<String, Object> carrier, String key) {
                if (carrier == null) {
                    return null;
                }
                Object value = carrier.get(key); // Camel's headers are case-insensitive
                return value instanceof String s ? s : null;
            }
        };

        @Override
        public boolean isEnabled(String operationName, Exchange exchange) {
            return ActiveSpanManager.getSpan(exchange) == null;
        }

        @Override
        public void customize(SpanBuilder builder, String operationName, Exchange exchange) {
            Context extracted = W3CTraceContextPropagator.getInstance()
                    .extract(Context.root(), exchange.getIn().getHeaders(), HEADERS);
            if (Span.fromContext(extracted).getSpanContext().isValid()) {
                builder.setParent(extracted);
            } else {
                builder.setNoParent();
            }
        }
    }

    /**
     * {@code to: direct:x} makes no span of its own: the {@code direct:x} route's span (a route policy span, kept)
     * already covers the step, and the sending span would only double every step's span.
     */
    static final class Direct extends DirectSpanDecorator {
        @Override
        public boolean newSpan() {
            return false;
        }
    }

    /** camel-tracing's platform-http decorator, plus the gateway's attributes when the exchange is done. */
    static final class Decorator extends PlatformHttpSpanDecorator {
        @Override
        public void post(SpanAdapter span, Exchange exchange, Endpoint endpoint) {
            super.post(span, exchange, endpoint);
            String routeId = exchange.getFromRouteId();
            if (routeId != null) {
                span.setTag(GenAi.ROUTE_ID.getKey(), routeId);
            }
            GatewayCall gatewayCall = GatewayCall.of(exchange);
            InferenceRequest request = gatewayCall.inferenceRequest();
            if (request != null) {
                span.setTag(GenAi.CLIENT_MODEL.getKey(), request.model());
                span.setTag(GenAi.REQUEST_MODEL.getKey(), request.model());
                span.setTag(GenAi.STREAMED.getKey(), request.stream());
            }
            Integer status = exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class);
            if (status != null) {
                span.setTag(GenAi.HTTP_STATUS.getKey(), status);
            }
            if (request != null) { // a request for a model: the operation, and how its backend answered
                span.setTag(GenAi.OPERATION_NAME.getKey(), GenAi.operation(exchange.getIn().getHeader(Exchange.HTTP_URI, String.class)));
            }
            ForwardResult answer = gatewayCall.answer();
            Backend backend = gatewayCall.chosenBackend();
            if (answer != null) {
                if (backend != null) {
                    span.setTag(GenAi.STREAMED.getKey(), answer.streamed());
                }
                if (answer.responseModel() != null) {
                    span.setTag(GenAi.RESPONSE_MODEL.getKey(), answer.responseModel());
                }
                TokenUsage usage = answer.usage();
                if (usage != null && usage.inputTokens() >= 0) {
                    span.setTag(GenAi.INPUT_TOKENS.getKey(), usage.inputTokens());
                }
                if (usage != null && usage.outputTokens() >= 0) {
                    span.setTag(GenAi.OUTPUT_TOKENS.getKey(), usage.outputTokens());
                }
            }
            if (backend != null) {
                span.setTag(GenAi.BACKEND.getKey(), backend.url());
            }
        }
    }
}
