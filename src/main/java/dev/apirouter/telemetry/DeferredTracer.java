package dev.apirouter.telemetry;

import io.opentelemetry.api.trace.SpanBuilder;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.TracerProvider;

/**
 * The tracer handed to Camel before its context starts. It does nothing (spans are not recorded, a client's
 * {@code traceparent} still passes through) until the SDK, built in the background, is ready; then every new span
 * goes to the SDK. Never {@code GlobalOpenTelemetry}: that would freeze a no-op for the life of the process.
 */
final class DeferredTracer implements Tracer {
    private static final Tracer NOOP = TracerProvider.noop().get("api-router");
    private volatile Tracer delegate = NOOP;

    void ready(Tracer tracer) {
        this.delegate = tracer;
    }

    boolean isReady() {
        return delegate != NOOP;
    }

    @Override
    public SpanBuilder spanBuilder(String spanName) {
        return delegate.spanBuilder(spanName);
    }
}
