package dev.apirouter.telemetry;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.apirouter.config.Settings;
import dev.apirouter.testing.FaultyServers;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(60)
class TelemetryTest {
    static Settings.Telemetry settings(String endpoint, String protocol, long connectMs, long exportMs) {
        return new Settings.Telemetry(Optional.ofNullable(endpoint), protocol, Optional.empty(), "test", false,
                Duration.ofMillis(connectMs), Duration.ofMillis(exportMs));
    }

    @Test
    void offOrInvalidSettingsGiveAnInertTelemetry() throws Exception {
        for (String endpoint : new String[] {null, "", "http://[::1"}) {
            Telemetry t = Telemetry.create(settings(endpoint, "http/protobuf", 2000, 5000));
            assertFalse(t.enabled());
            assertTrue(t.describe().startsWith("off"), t.describe());
            t.startInBackground();
            assertTrue(t.awaitSettled(Duration.ofSeconds(1)));
            assertEquals(UpstreamTracing.OFF, t.upstream());
            t.shutdown(Duration.ofMillis(100));
        }
    }

    /** The whole point: a collector that accepts and never answers costs at most the export timeout, then nothing. */
    @Test
    void aHungCollectorNeverHoldsAnExportOrShutdownBeyondItsBounds() throws Exception {
        for (String protocol : new String[] {"http/protobuf", "grpc"}) {
            try (FaultyServers.Silent collector = new FaultyServers.Silent()) {
                Telemetry t = Telemetry.create(settings("127.0.0.1:" + collector.port(), protocol, 500, 800));
                t.startInBackground();
                assertTrue(t.awaitSettled(Duration.ofSeconds(10)));
                assertTrue(t.recording(), protocol);
                Tracer tracer = t.upstreamTracer();
                for (int i = 0; i < 10; i++) {
                    tracer.spanBuilder("s" + i).startSpan().end();
                }
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20)).untilAsserted(() ->
                        assertEquals(10, t.failedSpans(), protocol + ": one export, bounded by its timeout, then failed"));
                tracer.spanBuilder("late").startSpan().end();
                long t0 = System.nanoTime();
                t.shutdown(Duration.ofMillis(1000));
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertTrue(ms < 1500, protocol + ": shutdown took " + ms + " ms");
                assertTrue(collector.accepted() > 0, protocol + ": never connected");
            }
        }
    }

    @Test
    void aFullAcceptQueueIsBoundedByTheConnectTimeout() throws Exception {
        try (FaultyServers.FullBacklog collector = new FaultyServers.FullBacklog()) {
            Telemetry t = Telemetry.create(settings("127.0.0.1:" + collector.port(), "http/protobuf", 300, 3000));
            t.startInBackground();
            assertTrue(t.awaitSettled(Duration.ofSeconds(10)));
            t.upstreamTracer().spanBuilder("s").startSpan().end();
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                    .untilAsserted(() -> assertEquals(1, t.failedSpans()));
            t.shutdown(Duration.ofMillis(500));
        }
    }

    @Test
    void aRefusingCollectorFailsFastAndAnUnresolvableOneToo() throws Exception {
        for (String endpoint : new String[] {"localhost:" + FaultyServers.closedPort(), "no-such-host.invalid:4318"}) {
            Telemetry t = Telemetry.create(settings(endpoint, "http/protobuf", 2000, 5000));
            t.startInBackground();
            assertTrue(t.awaitSettled(Duration.ofSeconds(10)));
            t.upstreamTracer().spanBuilder("s").startSpan().end();
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(20))
                    .untilAsserted(() -> assertEquals(1, t.failedSpans(), endpoint));
            t.shutdown(Duration.ofMillis(500));
        }
    }

    /** A full queue drops — and counts — spans; ending a span never blocks. */
    @Test
    void aFullQueueDropsAndCountsInsteadOfBlocking() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        List<Integer> batches = new ArrayList<>();
        SpanExporter stuck = new SpanExporter() {
            @Override
            public CompletableResultCode export(Collection<SpanData> spans) {
                synchronized (batches) {
                    batches.add(spans.size());
                }
                CompletableResultCode result = new CompletableResultCode();
                new Thread(() -> {
                    try {
                        release.await(10, TimeUnit.SECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    result.succeed();
                }).start();
                return result;
            }

            @Override
            public CompletableResultCode flush() {
                return CompletableResultCode.ofSuccess();
            }

            @Override
            public CompletableResultCode shutdown() {
                return CompletableResultCode.ofSuccess();
            }
        };
        SpanPipeline pipeline = new SpanPipeline(stuck, "test", 100, 10, 10, 20_000);
        SdkTracerProvider sdk = SdkTracerProvider.builder().addSpanProcessor(pipeline).build();
        Tracer tracer = sdk.get("test");
        long t0 = System.nanoTime();
        for (int i = 0; i < 1000; i++) {
            Span s = tracer.spanBuilder("s").startSpan();
            s.end();
        }
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertTrue(ms < 2000, "ending 1000 spans took " + ms + " ms");
        // at most the queue (100) plus the batch in export (10) are held; the rest are dropped and counted
        assertTrue(pipeline.dropped() >= 1000 - 110, "dropped " + pipeline.dropped());
        assertTrue(pipeline.queued() <= 100, "queued " + pipeline.queued());
        release.countDown();
        sdk.shutdown().join(5, TimeUnit.SECONDS);
        assertEquals(1000, pipeline.dropped() + pipeline.exported(), "every span is exported or counted as dropped");
    }
}
