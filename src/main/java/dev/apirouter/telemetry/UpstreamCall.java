package dev.apirouter.telemetry;

import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.apirouter.call.ForwardResult;
import dev.apirouter.call.TokenUsage;
import dev.apirouter.error.GatewayException;
import dev.apirouter.policy.Backend;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.StatusCode;

/**
 * The CLIENT span of one forwarded request: its context is the {@code traceparent} the backend receives; it ends
 * when the forwarder is done, carrying the backend, status, streamed or not, and token usage. {@link #NONE} when
 * tracing is off: every method then does nothing.
 */
public final class UpstreamCall {
    public static final UpstreamCall NONE = new UpstreamCall(null);
    static final String TRACEPARENT = "traceparent";
    static final String TRACESTATE = "tracestate";

    private final Span span;

    UpstreamCall(Span span) {
        this.span = span;
    }

    /** Names why the request went where it went (the routing decision's reason). */
    public void routed(String reason) {
        if (span != null) {
            span.setAttribute(GenAi.ROUTING_REASON, reason);
        }
    }

    /** Whether the span records: only then is the answer read for its token usage. */
    public boolean recording() {
        return span != null && span.isRecording();
    }

    /** Replaces any {@code traceparent}/{@code tracestate} in {@code headers} with this call's span context. */
    public void inject(Map<String, List<String>> headers) {
        if (span == null) {
            return;
        }
        SpanContext context = span.getSpanContext();
        if (!context.isValid()) {
            return;
        }
        for (Iterator<String> names = headers.keySet().iterator(); names.hasNext(); ) {
            String name = names.next().toLowerCase(Locale.ROOT);
            if (name.equals(TRACEPARENT) || name.equals(TRACESTATE)) {
                names.remove();
            }
        }
        headers.put(TRACEPARENT, List.of("00-" + context.getTraceId() + "-" + context.getSpanId() + "-"
                + context.getTraceFlags().asHex()));
        String state = traceState(context);
        if (!state.isEmpty()) {
            headers.put(TRACESTATE, List.of(state));
        }
    }

    private static String traceState(SpanContext context) {
        StringBuilder out = new StringBuilder();
        context.getTraceState().forEach((k, v) -> {
            if (out.length() > 0) {
                out.append(',');
            }
            out.append(k).append('=').append(v);
        });
        return out.toString();
    }

    /** The forwarder is done: a backend answered ({@code result}) or none did ({@code failure}). */
    public void end(ForwardResult result, Throwable failure) {
        if (span == null) {
            return;
        }
        try {
            if (result != null) {
                Backend answered = result.backend();
                int status = result.status();
                TokenUsage usage = result.usage();
                if (answered != null) {
                    span.setAttribute(GenAi.BACKEND, answered.url());
                    var uri = answered.uri();
                    if (uri.getHost() != null) {
                        span.setAttribute(GenAi.SERVER_ADDRESS, uri.getHost());
                        span.setAttribute(GenAi.SERVER_PORT, (long) port(uri));
                    }
                }
                if (status > 0) {
                    span.setAttribute(GenAi.HTTP_STATUS, (long) status);
                }
                span.setAttribute(GenAi.STREAMED, result.streamed());
                span.setAttribute(GenAi.OUTCOME, result.outcome().name().toLowerCase(Locale.ROOT));
                if (result.responseModel() != null) {
                    span.setAttribute(GenAi.RESPONSE_MODEL, result.responseModel());
                }
                if (usage != null) {
                    if (usage.inputTokens() >= 0) {
                        span.setAttribute(GenAi.INPUT_TOKENS, usage.inputTokens());
                    }
                    if (usage.outputTokens() >= 0) {
                        span.setAttribute(GenAi.OUTPUT_TOKENS, usage.outputTokens());
                    }
                }
                if (status >= 500 || result.outcome() != ForwardResult.Outcome.COMPLETED) {
                    span.setStatus(StatusCode.ERROR);
                    span.setAttribute(GenAi.ERROR_TYPE, status >= 500 ? Integer.toString(status)
                            : result.outcome().name().toLowerCase(Locale.ROOT));
                }
            } else if (failure != null) {
                String type = failure instanceof GatewayException g ? g.code().code() : failure.getClass().getName();
                span.setAttribute(GenAi.OUTCOME, type);
                span.setAttribute(GenAi.ERROR_TYPE, type);
                span.setStatus(StatusCode.ERROR, failure.getMessage());
            }
        } finally {
            span.end();
        }
    }

    private static int port(java.net.URI uri) {
        if (uri.getPort() > 0) {
            return uri.getPort();
        }
        return "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }
}
