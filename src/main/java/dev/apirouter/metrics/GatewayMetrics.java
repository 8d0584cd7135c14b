package dev.apirouter.metrics;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

import dev.apirouter.call.GatewayCall;
import dev.apirouter.call.TokenUsage;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.fleet.BackendView;
import dev.apirouter.fleet.Fleet;
import dev.apirouter.forward.ForwardObserver;
import dev.apirouter.http.InflightLimiter;
import dev.apirouter.http.RequestObserver;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.KeyRecord;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.PolicyStore;
import dev.apirouter.policy.PolicyView;
import dev.apirouter.routing.Reason;
import dev.apirouter.routing.RoutingObserver;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import org.apache.camel.Exchange;

/**
 * The gateway's Prometheus metrics ({@code api_router_*}, units in the names). Labels carry model names from the
 * policy, backend URLs, statuses and reasons, never key material; a model the policy does not know is labelled
 * {@code unknown}, so clients cannot grow the label set.
 */
public final class GatewayMetrics implements RequestObserver, ForwardObserver, RoutingObserver {
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
    static final String UNKNOWN = "unknown";
    static final String NONE = "none";
    private static final Duration[] LATENCY_SLOS = {Duration.ofMillis(5), Duration.ofMillis(10), Duration.ofMillis(25),
        Duration.ofMillis(50), Duration.ofMillis(100), Duration.ofMillis(250), Duration.ofMillis(500),
        Duration.ofSeconds(1), Duration.ofMillis(2500), Duration.ofSeconds(5), Duration.ofSeconds(10),
        Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(120)};

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final AtomicInteger openStreams = new AtomicInteger();
    private final Supplier<Map<String, Boolean>> backendsUp;
    private final UnaryOperator<String> routeLabel;
    private final MultiGauge backendUp;
    // meters by label values, so the hot path does one map lookup instead of building a meter id
    private final Map<String, String> routeLabels = new ConcurrentHashMap<>();
    private final Map<RequestKey, Counter> requests = new ConcurrentHashMap<>();
    private final Map<RouteModel, Timer> durations = new ConcurrentHashMap<>();
    private final Map<ModelStreamed, Timer> timeToFirstToken = new ConcurrentHashMap<>();
    private final Map<String, Tokens> tokens = new ConcurrentHashMap<>();
    private final Map<ModelReason, Counter> decisions = new ConcurrentHashMap<>();
    private final Map<KeyModelStatus, Counter> keyRequests = new ConcurrentHashMap<>();
    private final Map<KeyModel, Tokens> keyTokens = new ConcurrentHashMap<>();

    private record KeyModelStatus(String key, String model, int status) {
    }

    private record KeyModel(String key, String model) {
    }
    private final Map<String, Boolean> ejectionCounters = new ConcurrentHashMap<>();
    private final List<FleetGauge> fleetGauges = new ArrayList<>();
    private Fleet fleet;

    private record ModelReason(String model, Reason reason) {
    }

    /** A per-backend gauge of the fleet's figures; a backend without the figure (no fresh scrape) has no row. */
    private record FleetGauge(MultiGauge gauge, java.util.function.ToDoubleFunction<BackendView> value) {
    }

    private record RequestKey(String route, String model, String backend, int status) {
    }

    private record RouteModel(String route, String model) {
    }

    private record ModelStreamed(String model, boolean streamed) {
    }

    /** The token counters of one model, by {@code type} (OpenTelemetry's {@code gen_ai.token.type} values). */
    private record Tokens(Counter input, Counter output) {
        void add(TokenUsage usage) {
            if (usage.inputTokens() > 0) {
                input.increment(usage.inputTokens());
            }
            if (usage.outputTokens() > 0) {
                output.increment(usage.outputTokens());
            }
        }
    }

    /**
     * @param backendsUp whether each backend (by URL) is considered healthy, read at scrape time
     * @param routeLabel the {@code route} label of a route id, the same for every generation of a reloaded route
     */
    public GatewayMetrics(InflightLimiter limiter, PolicyStore store, Supplier<Map<String, Boolean>> backendsUp,
                          UnaryOperator<String> routeLabel) {
        this.backendsUp = backendsUp;
        this.routeLabel = routeLabel;
        new JvmMemoryMetrics().bindTo(registry);
        new JvmGcMetrics().bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        Gauge.builder("api_router_requests_in_flight", limiter, InflightLimiter::inflight)
                .description("Requests in flight, open streams included").register(registry);
        Gauge.builder("api_router_open_streams", openStreams, AtomicInteger::get)
                .description("Server-Sent Event streams being relayed").register(registry);
        policyGauge(store, "api_router_policy_revision", "Revision of the policy in force", PolicyView::revision);
        policyGauge(store, "api_router_policy_last_update_timestamp_seconds", "When the policy in force was loaded",
                v -> v.updatedAt().getEpochSecond());
        policyGauge(store, "api_router_policy_rejected_documents", "Policy documents rejected by validation",
                v -> v.rejected().size());
        policyGauge(store, "api_router_policy_models", "Models in the policy in force", v -> v.models().size());
        policyGauge(store, "api_router_policy_keys", "API keys in the policy in force", v -> v.keys().size());
        this.backendUp = MultiGauge.builder("api_router_backend_up")
                .description("1 when the backend is considered healthy").register(registry);
    }

    private void policyGauge(PolicyStore store, String name, String description,
                             java.util.function.ToLongFunction<PolicyView> value) {
        Gauge.builder(name, store, s -> s.current().map(value::applyAsLong).orElse(-1L).doubleValue())
                .description(description).register(registry);
    }

    /** A level kept elsewhere (buffered body bytes, open connections...), read at scrape time. */
    public void gauge(String name, String description, LongSupplier level) {
        Gauge.builder(name, level, l -> (double) l.getAsLong()).strongReference(true).description(description)
                .register(registry);
    }

    /** A counter kept elsewhere (spans dropped, route reloads...), read at scrape time; {@code _total} is added. */
    public void counter(String name, String description, LongSupplier count) {
        FunctionCounter.builder(name, count, LongSupplier::getAsLong).description(description).register(registry);
    }

    /**
     * The backends' load and state as routing sees them, per backend: in flight here, waiting and running and KV
     * cache use as last scraped, ejected or not, and ejections so far.
     */
    public void bindFleet(Fleet fleet) {
        this.fleet = fleet;
        fleetGauge("api_router_backend_in_flight", "Requests this gateway has in flight at the backend",
                BackendView::inFlight);
        fleetGauge("api_router_backend_requests_waiting", "The backend's waiting queue (vllm:num_requests_waiting), as last scraped",
                v -> v.metrics() == null ? Double.NaN : v.metrics().waiting());
        fleetGauge("api_router_backend_requests_running", "Requests the backend runs (vllm:num_requests_running), as last scraped",
                v -> v.metrics() == null ? Double.NaN : v.metrics().running());
        fleetGauge("api_router_backend_kv_cache_usage_ratio", "The backend's KV cache use, 0..1 (vllm:kv_cache_usage_perc), as last scraped",
                v -> v.metrics() == null ? Double.NaN : v.metrics().kvCacheUsage());
        fleetGauge("api_router_backend_prefix_cache_hit_ratio", "The backend's prefix cache hits / queries since it started, as last scraped",
                BackendView::prefixCacheHitRatio);
        fleetGauge("api_router_backend_ejected", "1 while the backend is ejected by outlier detection (half-open included)",
                v -> "serving".equals(v.state()) ? 0 : 1);
    }

    private void fleetGauge(String name, String description, java.util.function.ToDoubleFunction<BackendView> value) {
        fleetGauges.add(new FleetGauge(MultiGauge.builder(name).description(description).register(registry), value));
    }

    /** Totals since start for the console ({@link LiveStats}). */
    public com.fasterxml.jackson.databind.node.ObjectNode stats() {
        return LiveStats.read(registry, System.currentTimeMillis());
    }

    /** The Prometheus text exposition of every metric. */
    public String scrape() {
        List<MultiGauge.Row<?>> rows = new ArrayList<>();
        backendsUp.get().forEach((url, up) -> rows.add(MultiGauge.Row.of(Tags.of("backend", url), up ? 1 : 0)));
        backendUp.register(rows, true);
        if (fleet != null) {
            Map<String, BackendView> view = fleet.view();
            for (FleetGauge g : fleetGauges) {
                List<MultiGauge.Row<?>> gaugeRows = new ArrayList<>();
                view.forEach((url, v) -> {
                    double value = g.value().applyAsDouble(v);
                    if (!Double.isNaN(value)) {
                        gaugeRows.add(MultiGauge.Row.of(Tags.of("backend", url), value));
                    }
                });
                g.gauge().register(gaugeRows, true);
            }
            view.keySet().forEach(url -> ejectionCounters.computeIfAbsent(url, u -> {
                FunctionCounter.builder("api_router_backend_ejections", fleet, f -> f.ejections(u))
                        .description("Times the backend was ejected by outlier detection").tags("backend", u)
                        .register(registry);
                return true;
            }));
        }
        return registry.scrape();
    }

    /** A routing decision, by model and reason (affinity, spilled, least-load, weighted, unavailable, fallback). */
    @Override
    public void decided(String model, Reason reason) {
        decisions.computeIfAbsent(new ModelReason(model, reason), k -> Counter.builder("api_router_routing_decisions")
                .description("Routing decisions by model and reason (retry: a backend answered 429/503 and the next was tried)")
                .tags("model", k.model(), "reason", k.reason().label()).register(registry)).increment();
    }

    @Override
    public void retried(String model, Backend backend, int status) {
        decided(model, Reason.RETRY);
    }

    @Override
    public void completed(Exchange exchange, int status, long nanos) {
        GatewayCall call = GatewayCall.of(exchange);
        ModelPolicy policy = call.modelPolicy();
        Backend backend = call.chosenBackend();
        String model = policy != null ? policy.name() : UNKNOWN;
        String fromRoute = exchange.getFromRouteId();
        String route = fromRoute == null ? UNKNOWN
                : routeLabels.computeIfAbsent(fromRoute, routeLabel); // the same label across reloads
        String backendUrl = backend != null ? backend.url() : NONE;
        requests.computeIfAbsent(new RequestKey(route, model, backendUrl, status), k -> Counter.builder("api_router_requests")
                .description("Requests answered, by route, model, backend and status")
                .tags("route", k.route(), "model", k.model(), "backend", k.backend(), "status", Integer.toString(k.status()))
                .register(registry)).increment();
        durations.computeIfAbsent(new RouteModel(route, model), k -> Timer.builder("api_router_request_duration")
                .description("Time to the last byte of the response").tags("route", k.route(), "model", k.model())
                .serviceLevelObjectives(LATENCY_SLOS).register(registry)).record(nanos, TimeUnit.NANOSECONDS);
        KeyRecord key = call.keyRecord();
        if (key != null && policy != null) {
            keyCounters(key, policy.name(), status, call);
        }
        Throwable caught = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        if (caught instanceof GatewayException e && (e.code().status() == 401 || e.code().status() == 403)) {
            Counter.builder("api_router_auth_failures").description("Requests refused by authentication, by reason")
                    .tags("reason", e.reason()).register(registry).increment();
        } else if (caught instanceof GatewayException e && key != null && policy != null
                && (e.code() == ErrorCode.RATE_LIMITED || e.code() == ErrorCode.INSUFFICIENT_QUOTA)) {
            Counter.builder("api_router_rate_limited").description("Requests refused by a limit, by key name, model and limit")
                    .tags("key", KeyUsage.label(key), "model", policy.name(), "limit", e.reason()).register(registry)
                    .increment();
        }
    }

    /** Per key (its name) and model: requests by status, and the tokens the backends reported. */
    private void keyCounters(KeyRecord key, String model, int status, GatewayCall call) {
        String name = KeyUsage.label(key);
        keyRequests.computeIfAbsent(new KeyModelStatus(name, model, status), k -> Counter.builder("api_router_key_requests")
                .description("Requests answered, by key name, model and status")
                .tags("key", k.key(), "model", k.model(), "status", Integer.toString(k.status()))
                .register(registry)).increment();
        TokenUsage usage = call.answer() != null ? call.answer().usage() : null;
        if (usage != null) {
            keyTokens.computeIfAbsent(new KeyModel(name, model), k -> new Tokens(
                    keyTokenCounter(k, "input"), keyTokenCounter(k, "output"))).add(usage);
        }
    }

    private Counter keyTokenCounter(KeyModel keyModel, String type) {
        return Counter.builder("api_router_key_tokens").description("Tokens used, as reported by the backends, by key name, model and type")
                .tags("key", keyModel.key(), "model", keyModel.model(), "type", type).register(registry);
    }

    @Override
    public void connectFailed(Backend backend, Throwable cause) {
        Counter.builder("api_router_backend_connect_failures").description("Connections to a backend that failed")
                .tags("backend", backend.url()).register(registry).increment();
    }

    /** Time to first token of streamed answers (for a JSON answer it would only repeat the request duration). */
    @Override
    public void firstChunk(String model, Backend backend, boolean streamed, long nanos) {
        if (!streamed) {
            return;
        }
        timeToFirstToken.computeIfAbsent(new ModelStreamed(model, streamed),
                k -> Timer.builder("api_router_time_to_first_token")
                        .description("Time from forwarding to the first response chunk")
                        .tags("model", k.model(), "streamed", Boolean.toString(k.streamed())).serviceLevelObjectives(LATENCY_SLOS)
                        .register(registry)).record(nanos, TimeUnit.NANOSECONDS);
    }

    /** Tokens the backends reported (vLLM reports them in JSON answers, and in streams asked to include usage). */
    @Override
    public void tokensUsed(String model, Backend backend, TokenUsage usage) {
        tokens.computeIfAbsent(model, m -> new Tokens(tokenCounter(m, "input"), tokenCounter(m, "output"))).add(usage);
    }

    private Counter tokenCounter(String model, String type) {
        return Counter.builder("api_router_tokens").description("Tokens used, as reported by the backends, by model and type")
                .tags("model", model, "type", type).register(registry);
    }

    @Override
    public void streamOpened(boolean streamed) {
        if (streamed) {
            openStreams.incrementAndGet();
        }
    }

    @Override
    public void streamClosed(boolean streamed) {
        if (streamed) {
            openStreams.decrementAndGet();
        }
    }
}
