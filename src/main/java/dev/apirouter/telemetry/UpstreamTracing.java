package dev.apirouter.telemetry;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import org.apache.camel.Exchange;
import org.apache.camel.tracing.ActiveSpanManager;
import org.apache.camel.tracing.SpanAdapter;

/**
 * Starts the CLIENT span of a call to a backend, as a child of the span camel-opentelemetry keeps on the exchange
 * (the public route's). {@link #OFF} (tracing off) costs one field read per request.
 */
public final class UpstreamTracing {
    public static final UpstreamTracing OFF = new UpstreamTracing(null);

    private final Tracer tracer;

    UpstreamTracing(Tracer tracer) {
        this.tracer = tracer;
    }

    /**
     * @param path          the request path ({@code /v1/chat/completions}...), for {@code gen_ai.operation.name}
     * @param upstreamModel the model sent to the backend
     */
    public UpstreamCall start(Exchange exchange, String method, String path, String upstreamModel) {
        if (tracer == null) {
            return UpstreamCall.NONE;
        }
        SpanAdapter active = ActiveSpanManager.getSpan(exchange);
        if (active == null) {
            return UpstreamCall.NONE;
        }
        Span parent;
        try (AutoCloseable scope = active.makeCurrent()) {
            parent = Span.current();
        } catch (Exception e) {
            return UpstreamCall.NONE;
        }
        String operation = GenAi.operation(path);
        Span span = tracer.spanBuilder(operation + " " + upstreamModel)
                .setSpanKind(SpanKind.CLIENT)
                .setParent(Context.root().with(parent))
                .setAttribute(GenAi.OPERATION_NAME, operation)
                .setAttribute(GenAi.REQUEST_MODEL, upstreamModel)
                .setAttribute(GenAi.HTTP_METHOD, method)
                .startSpan();
        return new UpstreamCall(span);
    }
}
