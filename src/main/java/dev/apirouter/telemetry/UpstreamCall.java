package dev.apirouter.telemetry;

import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.apirouter.error.GatewayException;
import dev.apirouter.forward.ForwardRequest;
import dev.apirouter.forward.ForwardResult;
import dev.apirouter.policy.Backend;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.StatusCode;
import io.vertx.core.buffer.Buffer;

/**
 * The CLIENT span of one forwarded request: its context is the {@code traceparent} the backend receives; it ends
 * when the forwarder is done, carrying the backend, status, streamed or not, and token usage. {@link #NONE} when
 * tracing is off: every method then does nothing.
 */
public class UpstreamCall implements ForwardRequest.Observer {
    public static final UpstreamCall NONE = new UpstreamCall(null, false) {
        @Override
        public ForwardRequest.Observer observer() {
            return null;
        }
    };
    static final String TRACEPARENT = "traceparent";
    static final String TRACESTATE = "tracestate";

    private final Span span;
    private final boolean streamRequested;
    private UsageScanner scanner;
    private Backend backend;
    private int status;
    private boolean streamed;
    private UsageScanner.Usage usage;
    private String responseModel;

    UpstreamCall(Span span, boolean streamRequested) {
        this.span = span;
        this.streamRequested = streamRequested;
    }

    /** What to pass to the forwarder: null unless the span records (no scanning for an unsampled request). */
    public ForwardRequest.Observer observer() {
        return span != null && span.isRecording() ? this : null;
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

    @Override
    public void onResponse(Backend backend, int status, String contentType) {
        this.backend = backend;
        this.status = status;
        this.streamed = contentType != null && contentType.toLowerCase(Locale.ROOT).startsWith("text/event-stream");
        this.scanner = new UsageScanner();
    }

    @Override
    public void onChunk(Buffer chunk) {
        if (scanner != null) {
            scanner.accept(chunk);
        }
    }

    /** The forwarder is done: a backend answered ({@code result}) or none did ({@code failure}). */
    public void end(ForwardResult result, Throwable failure) {
        if (span == null) {
            return;
        }
        try {
            if (scanner != null) {
                usage = scanner.usage();
                responseModel = scanner.responseModel();
            }
            if (result != null) {
                Backend answered = result.backend() != null ? result.backend() : backend;
                backend = answered;
                status = result.status();
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
                span.setAttribute(GenAi.STREAMED, streamed);
                span.setAttribute(GenAi.OUTCOME, result.outcome().name().toLowerCase(Locale.ROOT));
                if (responseModel != null) {
                    span.setAttribute(GenAi.RESPONSE_MODEL, responseModel);
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

    // read by the request span's decorator once the exchange is done

    Backend backend() {
        return backend;
    }

    int status() {
        return status;
    }

    boolean streamed() {
        return streamed || (backend == null && streamRequested);
    }

    UsageScanner.Usage usage() {
        return usage;
    }

    String responseModel() {
        return responseModel;
    }
}
