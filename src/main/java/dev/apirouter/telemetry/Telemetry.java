package dev.apirouter.telemetry;

import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;

import dev.apirouter.config.Settings;
import dev.apirouter.config.Version;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.MeterProvider;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import org.apache.camel.CamelContext;
import org.apache.camel.opentelemetry.OpenTelemetryTracer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Optional OpenTelemetry tracing, never in the way of start-up, requests or shutdown.
 *
 * <ul>
 * <li>{@link #create}: resolves the settings, no I/O; a setting that cannot work gives one WARN and tracing off.</li>
 * <li>{@link #installInto}: before the CamelContext starts, camel-opentelemetry's {@link OpenTelemetryTracer} is
 * registered on it — a {@code RoutePolicyFactory} (each route's exchanges become spans) plus an event notifier (each
 * {@code to} becomes a span) — with a tracer that stays a no-op until the SDK is ready.</li>
 * <li>{@link #startInBackground}: the SDK and its OTLP exporter are built in code (never from the raw environment)
 * on a daemon thread; connect and export timeouts bound every export, retries are off, and a bounded queue drops
 * (and counts) spans rather than ever blocking. Any failure: one WARN naming the cause; requests go on untraced.</li>
 * <li>{@link #shutdown}: flushes what it can within the time it is given, then lets go.</li>
 * </ul>
 */
public final class Telemetry {
    static final int MAX_QUEUED_SPANS = 2048;
    static final int BATCH_SIZE = 512;
    static final long SCHEDULE_DELAY_MS = 500;
    private static final Logger LOG = LoggerFactory.getLogger(Telemetry.class);
    /** The SDK's own exporter logs a SEVERE line per failed batch; {@link SpanPipeline} logs state changes once. */
    private static final java.util.logging.Logger SDK_EXPORT_LOG =
            java.util.logging.Logger.getLogger("io.opentelemetry.exporter.internal");

    private final OtlpSettings.Resolution resolution;
    private final DeferredTracer tracer = new DeferredTracer();
    private final CountDownLatch settled = new CountDownLatch(1);
    private volatile SdkTracerProvider provider;
    private volatile SpanPipeline pipeline;
    private volatile boolean closed;

    private Telemetry(OtlpSettings.Resolution resolution) {
        this.resolution = resolution;
        if (!(resolution instanceof OtlpSettings.On)) {
            settled.countDown();
        }
    }

    /** Never throws, never blocks. */
    public static Telemetry create(Settings.Telemetry settings) {
        OtlpSettings.Resolution resolution;
        try {
            resolution = OtlpSettings.resolve(settings);
        } catch (RuntimeException e) {
            resolution = new OtlpSettings.Invalid(describe(e));
        }
        if (resolution instanceof OtlpSettings.Invalid invalid) {
            LOG.warn("Tracing off: {}", invalid.problem());
        }
        return new Telemetry(resolution);
    }

    public boolean enabled() {
        return resolution instanceof OtlpSettings.On;
    }

    /** One phrase for the start-up log: "off (why)" or "to <url> (protocol)". */
    public String describe() {
        if (resolution instanceof OtlpSettings.On on) {
            return "to " + on.settings().describe();
        }
        if (resolution instanceof OtlpSettings.Off off) {
            return "off (" + off.reason() + ")";
        }
        return "off (invalid settings)";
    }

    /**
     * Registers the Camel tracer on {@code context}; call before the context starts. Does nothing when tracing is
     * off, so the request path carries no tracing code at all then.
     */
    public void installInto(CamelContext context) {
        if (!enabled()) {
            return;
        }
        try {
            OpenTelemetryTracer camelTracer = new OpenTelemetryTracer();
            camelTracer.setTracer(tracer);
            camelTracer.setInstrumentationName("api-router");
            camelTracer.setContextPropagators(ContextPropagators.create(W3CTraceContextPropagator.getInstance()));
            camelTracer.setSpanCustomizer(new RequestSpans.Customizer());
            camelTracer.addDecorator(new RequestSpans.Decorator());
            camelTracer.addDecorator(new RequestSpans.Direct());
            camelTracer.init(context);
        } catch (RuntimeException | LinkageError e) {
            LOG.warn("Tracing off: the Camel tracer could not be installed: {}", describe(e));
        }
    }

    /** For the backend-dispatch step: starts the CLIENT span of each call to a backend. */
    public UpstreamTracing upstream() {
        return enabled() ? new UpstreamTracing(tracer) : UpstreamTracing.OFF;
    }

    /** The tracer spans are made with (a no-op until the SDK is ready); for tests. */
    Tracer upstreamTracer() {
        return tracer;
    }

    /** Builds the SDK on a daemon thread; returns at once. */
    public void startInBackground() {
        if (!(resolution instanceof OtlpSettings.On on)) {
            return;
        }
        Thread thread = new Thread(() -> build(on.settings()), "telemetry-init");
        thread.setDaemon(true);
        thread.start();
    }

    private void build(OtlpSettings settings) {
        long t0 = System.nanoTime();
        try {
            SDK_EXPORT_LOG.setLevel(Level.OFF);
            SpanExporter exporter = exporter(settings);
            SpanPipeline spans = new SpanPipeline(exporter, settings.exportUrl(), MAX_QUEUED_SPANS, BATCH_SIZE,
                    SCHEDULE_DELAY_MS, settings.exportTimeout().toMillis());
            Resource resource = Resource.getDefault().merge(Resource.create(Attributes.of(
                    AttributeKey.stringKey("service.name"), settings.serviceName(),
                    AttributeKey.stringKey("service.version"), Version.current())));
            SdkTracerProvider sdk = SdkTracerProvider.builder()
                    .setResource(resource)
                    .setSampler(Sampler.parentBased(Sampler.alwaysOn()))
                    .addSpanProcessor(spans)
                    .build();
            synchronized (this) {
                if (closed) {
                    sdk.shutdown();
                    return;
                }
                pipeline = spans;
                provider = sdk;
            }
            tracer.ready(sdk.get("api-router", Version.current()));
            LOG.info("Tracing on: spans to {}, connect timeout {} ms, export timeout {} ms ({} ms)",
                    settings.describe(), settings.connectTimeout().toMillis(), settings.exportTimeout().toMillis(),
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        } catch (RuntimeException | LinkageError e) {
            LOG.warn("Tracing off: the OTLP exporter for {} could not be set up: {}", settings.describe(), describe(e));
            return;
        } finally {
            settled.countDown();
        }
        if (!probe(settings)) {
            pipeline.knownFailing();
        }
    }

    static SpanExporter exporter(OtlpSettings settings) {
        if (settings.protocol() == OtlpSettings.Protocol.GRPC) {
            var builder = OtlpGrpcSpanExporter.builder()
                    .setEndpoint(settings.exportUrl())
                    .setConnectTimeout(settings.connectTimeout())
                    .setTimeout(settings.exportTimeout())
                    .setRetryPolicy(null)
                    .setMeterProvider(MeterProvider::noop);
            settings.headers().forEach(builder::addHeader);
            return builder.build();
        }
        var builder = OtlpHttpSpanExporter.builder()
                .setEndpoint(settings.exportUrl())
                .setConnectTimeout(settings.connectTimeout())
                .setTimeout(settings.exportTimeout())
                .setRetryPolicy(null)
                .setMeterProvider(MeterProvider::noop);
        settings.headers().forEach(builder::addHeader);
        return builder.build();
    }

    /**
     * Tells at start-up, not at the first failed export, when the collector cannot be reached: one WARN naming the
     * cause (the failed exports that follow log nothing more). Tracing stays on (the collector may come up later);
     * spans are dropped and counted meanwhile. A collector that accepts and never answers passes this probe; its
     * first export then fails after the export timeout, with one WARN.
     */
    private static boolean probe(OtlpSettings settings) {
        URI endpoint = settings.endpoint();
        int port = endpoint.getPort() > 0 ? endpoint.getPort() : "https".equalsIgnoreCase(endpoint.getScheme()) ? 443 : 80;
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(endpoint.getHost(), port), (int) settings.connectTimeout().toMillis());
            return true;
        } catch (UnknownHostException e) {
            LOG.warn("OTLP collector host '{}' does not resolve; spans are dropped (and counted) until it does",
                    endpoint.getHost());
        } catch (Exception e) {
            LOG.warn("OTLP collector {}:{} cannot be reached: {}; spans are dropped (and counted) until it can",
                    endpoint.getHost(), port, describe(e));
        }
        return false;
    }

    /** Waits (bounded) until the SDK is built or has failed; for tests and benchmarks. */
    public boolean awaitSettled(Duration timeout) throws InterruptedException {
        return settled.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Whether spans are being recorded (the SDK is ready). */
    public boolean recording() {
        return tracer.isReady() && !closed;
    }

    /** Spans dropped because the export queue was full (the collector slower than the traffic, or hung). */
    public long droppedSpans() {
        SpanPipeline p = pipeline;
        return p == null ? 0 : p.dropped();
    }

    /** Spans whose export failed (collector unreachable, refused, timed out). */
    public long failedSpans() {
        SpanPipeline p = pipeline;
        return p == null ? 0 : p.failed();
    }

    /**
     * Flushes and stops the SDK, waiting at most {@code timeout}; whatever is not exported by then is given up
     * (the exporter's threads are daemons). Safe to call more than once, and when tracing is off.
     */
    public void shutdown(Duration timeout) {
        SdkTracerProvider sdk;
        synchronized (this) {
            closed = true;
            sdk = provider;
        }
        if (sdk == null) {
            return;
        }
        long t0 = System.nanoTime();
        CompletableResultCode result = sdk.shutdown().join(timeout.toMillis(), TimeUnit.MILLISECONDS);
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        SpanPipeline p = pipeline;
        if (result.isDone() && result.isSuccess()) {
            LOG.info("Tracing stopped ({} ms): {} spans exported, {} failed, {} dropped", ms, p.exported(), p.failed(),
                    p.dropped());
        } else {
            LOG.warn("Tracing stopped without a final flush after {} ms (collector slow or unreachable): {} spans "
                    + "exported, {} failed, {} dropped, {} given up", ms, p.exported(), p.failed(), p.dropped(), p.queued());
        }
    }

    static String describe(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        String message = c.getMessage();
        return c.getClass().getSimpleName() + (message == null || message.isBlank() ? "" : ": " + message);
    }
}
