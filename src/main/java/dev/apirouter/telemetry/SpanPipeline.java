package dev.apirouter.telemetry;

import java.util.Collection;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;

import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.ReadWriteSpan;
import io.opentelemetry.sdk.trace.ReadableSpan;
import io.opentelemetry.sdk.trace.SpanProcessor;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Ended spans → a bounded queue → one export at a time, never blocking the thread that ends a span. The SDK's
 * {@link BatchSpanProcessor} drops spans silently when its queue is full; here a gate in front of it counts the
 * spans it holds (ended, not yet handed to the exporter) and drops — and counts — any span beyond
 * {@code maxQueued}, so the batch processor's own queue (a little larger) never overflows. The exporter is wrapped
 * to count exported and failed spans and to log a collector's failure once (one WARN naming the cause, one INFO when
 * it recovers) instead of once per batch.
 */
final class SpanPipeline implements SpanProcessor {
    private static final Logger LOG = LoggerFactory.getLogger(SpanPipeline.class);

    private final int maxQueued;
    private final SpanProcessor batch;
    private final AtomicInteger queued = new AtomicInteger();
    private final LongAdder dropped = new LongAdder();
    private final LongAdder exported = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final AtomicBoolean failing = new AtomicBoolean();
    private final String target;
    private final long exportTimeoutMs;

    /**
     * @param exporter      the OTLP exporter, already bounded by its own connect and export timeouts
     * @param exportTimeout how long the batch processor lets one export run before giving up on it
     */
    SpanPipeline(SpanExporter exporter, String target, int maxQueued, int batchSize, long scheduleDelayMs,
                 long exportTimeoutMs) {
        this.maxQueued = maxQueued;
        this.target = target;
        this.exportTimeoutMs = exportTimeoutMs;
        this.batch = BatchSpanProcessor.builder(new Counting(exporter))
                .setMaxQueueSize(maxQueued + batchSize)
                .setMaxExportBatchSize(batchSize)
                .setScheduleDelay(scheduleDelayMs, TimeUnit.MILLISECONDS)
                .setExporterTimeout(exportTimeoutMs, TimeUnit.MILLISECONDS)
                .build();
    }

    long dropped() {
        return dropped.sum();
    }

    long exported() {
        return exported.sum();
    }

    long failed() {
        return failed.sum();
    }

    int queued() {
        return queued.get();
    }

    /** The collector is known to be unreachable (and that was logged): the first failed export logs nothing more. */
    void knownFailing() {
        failing.set(true);
    }

    @Override
    public void onStart(Context parentContext, ReadWriteSpan span) {
        // nothing to do when a span starts
    }

    @Override
    public boolean isStartRequired() {
        return false;
    }

    @Override
    public void onEnd(ReadableSpan span) {
        if (!span.getSpanContext().isSampled()) {
            return;
        }
        if (queued.incrementAndGet() > maxQueued) {
            queued.decrementAndGet();
            dropped.increment();
            return;
        }
        batch.onEnd(span);
    }

    @Override
    public boolean isEndRequired() {
        return true;
    }

    @Override
    public CompletableResultCode forceFlush() {
        return batch.forceFlush();
    }

    @Override
    public CompletableResultCode shutdown() {
        return batch.shutdown();
    }

    /** Counts what leaves the queue, and how each export ends. */
    private final class Counting implements SpanExporter {
        private final SpanExporter delegate;

        Counting(SpanExporter delegate) {
            this.delegate = delegate;
        }

        @Override
        public CompletableResultCode export(Collection<SpanData> spans) {
            int n = spans.size();
            queued.addAndGet(-n);
            long t0 = System.nanoTime();
            CompletableResultCode result;
            try {
                result = delegate.export(spans);
            } catch (RuntimeException e) {
                result = CompletableResultCode.ofExceptionalFailure(e);
            }
            CompletableResultCode done = result;
            done.whenComplete(() -> record(n, done, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)));
            return done;
        }

        private void record(int n, CompletableResultCode result, long ms) {
            if (result.isSuccess()) {
                exported.add(n);
                if (failing.compareAndSet(true, false)) {
                    LOG.info("Span export to {} works again", target);
                }
            } else {
                failed.add(n);
                if (failing.compareAndSet(false, true)) {
                    Throwable cause = result.getFailureThrowable();
                    String why = ms >= exportTimeoutMs * 9 / 10 ? "no answer within the export timeout of " + exportTimeoutMs + " ms"
                            : cause != null ? Telemetry.describe(cause) : "the collector did not accept them";
                    LOG.warn("Span export to {} failed after {} ms: {}; spans are dropped (and counted) until it works again",
                            target, ms, why);
                }
            }
        }

        @Override
        public CompletableResultCode flush() {
            return delegate.flush();
        }

        @Override
        public CompletableResultCode shutdown() {
            return delegate.shutdown();
        }
    }
}
