package dev.apirouter;

import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.apirouter.admin.AdminApi;
import dev.apirouter.auth.AdminToken;
import dev.apirouter.auth.KeyAuthorizer;
import dev.apirouter.config.Settings;
import dev.apirouter.console.ConsoleAssets;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.http.ErrorResponses;
import dev.apirouter.http.RequestIds;
import dev.apirouter.call.HeaderNames;
import dev.apirouter.fleet.Fleet;
import dev.apirouter.fleet.MetricsScraper;
import dev.apirouter.forward.StreamingForwarder;
import dev.apirouter.forward.FleetObserver;
import dev.apirouter.forward.ForwardObservers;
import dev.apirouter.health.BackendHealthMonitor;
import dev.apirouter.limits.Counters;
import dev.apirouter.limits.FailoverCounters;
import dev.apirouter.limits.Limiter;
import dev.apirouter.limits.LocalCounters;
import dev.apirouter.limits.RedisCounters;
import dev.apirouter.metrics.KeyUsage;
import dev.apirouter.health.BackendProbeRoutes;
import dev.apirouter.health.PolicyStatus;
import dev.apirouter.health.Readiness;
import dev.apirouter.http.ManagementHttpServer;
import dev.apirouter.http.RequestObserver;
import dev.apirouter.metrics.GatewayMetrics;
import dev.apirouter.http.GatewayHttpServer;
import dev.apirouter.http.HashedHeaders;
import dev.apirouter.http.InflightLimiter;
import dev.apirouter.http.SkipStepsOfRefused;
import dev.apirouter.policy.BackendSecretRefresher;
import dev.apirouter.policy.EtcdPolicyStore;
import dev.apirouter.policy.FilePolicyStore;
import dev.apirouter.policy.NoPolicyStore;
import dev.apirouter.policy.PolicyStore;
import dev.apirouter.registry.ReplicaRegistry;
import dev.apirouter.reload.RouteReloader;
import dev.apirouter.routing.Router;
import dev.apirouter.routing.RoutingObserver;
import dev.apirouter.steps.BackendDispatch;
import dev.apirouter.steps.GatewaySteps;
import dev.apirouter.steps.RateLimit;
import dev.apirouter.telemetry.Telemetry;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.file.FileSystemOptions;
import io.vertx.core.http.HttpHeaders;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.main.BaseMainSupport;
import org.apache.camel.main.MainListenerSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Assembles and runs the gateway, in an order that never waits on anything optional: HTTP server with health
 * first, the management server right after it, then the policy store (loading in the background), then telemetry
 * (its exporter built in the background; the Camel tracer installed before the context starts), then the Camel
 * routes. Each stage logs its duration.
 *
 * <p>Shutdown (SIGTERM): Camel's hangup hook stops the routes — new requests get {@code 503 shutting_down}, in-flight
 * ones drain for up to {@code ROUTER_SHUTDOWN_GRACE_MS} — then the clean-up below runs within
 * {@link #CLEANUP_BUDGET}; a shutdown hook of ours holds the JVM until it is done, never longer than the grace plus
 * that budget.
 */
final class Gateway {
    static final Duration LISTEN_TIMEOUT = Duration.ofSeconds(10);
    /** Worker threads serve blocking work (Camel's own, the backend probes); requests run on the event loops. */
    static final int WORKER_POOL_SIZE = 64;
    static final String JSON = "application/json";
    /** Clean-up after the routes stopped: servers, forwarder, store, Vert.x, and the last spans' flush. */
    static final Duration CLEANUP_BUDGET = Duration.ofMillis(2000);
    static final Duration TELEMETRY_FLUSH = Duration.ofMillis(1000);
    /** The replica registry's part of the clean-up: delete its key, revoke its lease. */
    static final Duration REGISTRY_REMOVAL = Duration.ofMillis(500);
    private static final Logger LOG = LoggerFactory.getLogger(Gateway.class);

    private final Settings settings;
    private final long startNanos;
    private final Clock clock = Clock.systemUTC();
    private final PolicyStore store;
    private final CountDownLatch cleanedUp = new CountDownLatch(1);
    private final AtomicBoolean started = new AtomicBoolean();

    // assembled by run(), in start-up order
    private Vertx vertx;
    private InflightLimiter limiter;
    private GatewayHttpServer server;
    private AdminToken adminToken;
    private ManagementHttpServer management;
    private BackendHealthMonitor backendHealth;
    private GatewayMetrics metrics;
    private RouteReloader routeReloader;
    private org.apache.camel.main.Main camel;
    private int port;
    private BackendSecretRefresher secretRefresher;
    private Telemetry telemetry;
    private StreamingForwarder forwarder;
    private Fleet fleet;
    private MetricsScraper scraper;
    private Counters counters;
    private int managementPort;
    private volatile ReplicaRegistry registry; // etcd store only; started after the store
    private final KeyUsage keyUsage = new KeyUsage();
    private AdminApi adminApi;

    /**
     * A gateway for {@code settings}; nothing runs yet. Its policy store is made here, so that settings which only
     * the store can check (etcd's TLS files) fail as a {@link dev.apirouter.config.ConfigException} before anything
     * starts.
     */
    Gateway(Settings settings, long startNanos) {
        this.settings = settings;
        this.startNanos = startNanos;
        this.store = createStore();
    }

    /** Runs until the process is told to stop; returns the exit code. The start-up order, stage by stage: */
    int run() {
        assemble();
        if (!listen()) {
            return 1;
        }
        startStore();
        startTelemetry();
        configureCamel();
        return runCamel();
    }

    /** The parts, wired: nothing listens, connects or loads yet. */
    private void assemble() {
        vertx = Vertx.vertx(new VertxOptions()
                .setWorkerPoolSize(WORKER_POOL_SIZE)
                .setFileSystemOptions(new FileSystemOptions().setFileCachingEnabled(false)
                        .setClassPathResolvingEnabled(false)));
        limiter = new InflightLimiter(settings.http().maxConcurrentRequests());
        server = new GatewayHttpServer(vertx, settings.http());
        adminToken = new AdminToken(settings.adminToken());
        management = new ManagementHttpServer(vertx, settings.management(), settings.http().clients(), adminToken);
        camel = new org.apache.camel.main.Main();
        Settings.Health health = settings.health();
        backendHealth = new BackendHealthMonitor(health.unhealthyAfter(), health.healthyAfter());
        metrics = health.metricsEnabled() ? new GatewayMetrics(limiter, store, backendHealth::upByUrl,
                RouteReloader::publicRouteId) : null;
        Settings.Fleet fleetSettings = settings.fleet();
        // a scrape older than three rounds is stale: routing then falls back to the in-flight counts
        fleet = new Fleet(fleetSettings.metricsInterval().multipliedBy(3).plus(fleetSettings.metricsTimeout()),
                fleetSettings.ejectAfter(), fleetSettings.baseEjection(), fleetSettings.maxEjection(), System::nanoTime);
        if (metrics != null) {
            metrics.bindFleet(fleet);
        }
        counters = createCounters();
        routeReloader = RouteReloader.forRoutesDir(settings.routesDir());
        statusEndpoints();
        server.routesStartedWhen(() -> routeReloader.status().initialLoadDone());
    }

    /** The public port first (liveness answers from now on), then the management port; bounded, both. */
    private boolean listen() {
        long stage = System.nanoTime();
        try {
            port = server.start(LISTEN_TIMEOUT);
        } catch (Exception e) {
            LOG.error("HTTP server could not listen on {}:{}: {}", settings.http().host(), settings.http().port(),
                    rootCause(e).toString());
            vertx.close();
            return false;
        }
        LOG.info("HTTP server listening on {}:{} ({} ms; {} ms since start); liveness at {}", settings.http().host(),
                port, millisSince(stage), millisSince(startNanos), GatewayHttpServer.HEALTHZ_PATH);
        stage = System.nanoTime();
        try {
            managementPort = management.start(LISTEN_TIMEOUT);
        } catch (Exception e) {
            LOG.error("Management server could not listen on {}:{}: {}", settings.management().host(),
                    settings.management().port(), rootCause(e).toString());
            server.close();
            vertx.close();
            return false;
        }
        LOG.info("Management server listening on {}:{} ({} ms): metrics, full readiness, admin endpoints ({})",
                settings.management().host(), managementPort, millisSince(stage),
                adminToken.configured() ? "admin token set" : "closed: ROUTER_ADMIN_TOKEN is not set");
        return true;
    }

    /**
     * The policy store, loading in the background, the re-reading of backends' secret files, and the scraping of
     * the backends' load.
     */
    private void startStore() {
        long stage = System.nanoTime();
        store.start();
        secretRefresher = new BackendSecretRefresher(store, settings.backendSecretRefresh());
        secretRefresher.start();
        LOG.info("Policy store started: {} ({} ms)", settings.store().describe(), millisSince(stage));
        if (store instanceof EtcdPolicyStore etcdStore) {
            // registers in the background: never waits for etcd
            registry = new ReplicaRegistry(settings.store(), settings.replica(), etcdStore,
                    () -> routeReloader.status().reloads(), settings.management().host(), managementPort, clock);
            registry.start();
        }
        if (settings.fleet().scrapes()) {
            scraper = new MetricsScraper(vertx, fleet, this::backendUrls, settings.fleet().metricsInterval(),
                    settings.fleet().metricsTimeout());
            scraper.start();
        }
    }

    /** Every backend the policy in force names. */
    private Set<String> backendUrls() {
        return store.current().map(view -> {
            Set<String> urls = new HashSet<>();
            view.models().values().forEach(m -> m.backends().forEach(b -> urls.add(b.url())));
            return urls;
        }).orElse(Set.of());
    }

    /** Tracing, its exporter built in the background (never waited for). */
    private void startTelemetry() {
        long stage = System.nanoTime();
        telemetry = Telemetry.create(settings.telemetry());
        telemetry.startInBackground();
        LOG.info("Telemetry: tracing {}{} ({} ms)", telemetry.describe(),
                telemetry.enabled() ? "; exporter starting in the background" : "", millisSince(stage));
        if (metrics != null) {
            metrics.counter("api_router_spans_dropped", "Spans dropped because the export queue was full",
                    telemetry::droppedSpans);
        }
    }

    /** The forwarder, the steps bound by name for the YAML routes, the error mapper and the backend probes. */
    private void configureCamel() {
        forwarder = new StreamingForwarder(vertx, settings.http().maxConcurrentRequests(),
                metrics == null ? ForwardObservers.of(backendHealth, new FleetObserver(fleet))
                        : ForwardObservers.of(backendHealth, new FleetObserver(fleet), metrics), metrics != null);
        Router router = new Router(fleet, backendHealth, () -> ThreadLocalRandom.current().nextDouble(),
                metrics == null ? RoutingObserver.NONE : metrics);
        RateLimit rateLimit = new RateLimit(new Limiter(counters, clock::millis));
        GatewaySteps steps = new GatewaySteps(store, new KeyAuthorizer(clock), router, rateLimit,
                new BackendDispatch(forwarder, telemetry.upstream(), router, rateLimit));
        server.bindTo(camel::bind, limiter, steps.headCheck(),
                metrics == null ? keyUsage : RequestObserver.both(metrics, keyUsage));
        int shutdownSeconds = (int) Math.max(1, settings.shutdownGrace().toSeconds());
        camel.configure().withShutdownTimeout(shutdownSeconds);
        // application.properties holds Camel's default; ROUTER_SHUTDOWN_GRACE_MS must win over it
        camel.addOverrideProperty("camel.main.shutdownTimeout", Integer.toString(shutdownSeconds));
        camel.configure().addRoutesBuilder(GatewaySteps.errorConfiguration());
        steps.bindTo(camel::bind);
        camel.configure().addRoutesBuilder(new BackendProbeRoutes(store, backendHealth, settings.health()));
        camel.addMainListener(new Lifecycle(System.nanoTime()));
    }

    /** Camel until SIGTERM (the YAML routes are loaded once it has started); the clean-up is held for. */
    private int runCamel() {
        holdJvmUntil(cleanedUp, settings.shutdownGrace().plus(CLEANUP_BUDGET), started::get);
        try {
            camel.run();
            return 0;
        } catch (Exception e) {
            LOG.error("api-router failed: {}", rootCause(e).toString(), e);
            return 1;
        } finally {
            cleanedUp.countDown();
        }
    }

    /** What happens around Camel's start and stop. */
    private final class Lifecycle extends MainListenerSupport {
        private final long camelStage;

        Lifecycle(long camelStage) {
            this.camelStage = camelStage;
        }

        @Override
        public void beforeConfigure(BaseMainSupport main) {
            // the tracer's route policy factory must be in place before any route is created
            telemetry.installInto(main.getCamelContext());
            main.getCamelContext().getCamelContextExtension().addInterceptStrategy(new SkipStepsOfRefused());
            main.getCamelContext().getCamelContextExtension().setHeadersMapFactory(HashedHeaders.FACTORY);
        }

        @Override
        public void afterStart(BaseMainSupport main) {
            routeReloader.start(main.getCamelContext()); // the YAML routes, loaded and then watched
            started.set(true);
            LOG.info("Routes started ({} ms); api-router ready to serve on port {} ({} ms since start)",
                    millisSince(camelStage), port, millisSince(startNanos));
        }

        @Override
        public void beforeStop(BaseMainSupport main) {
            if (registry != null) {
                registry.draining(); // written within one registry tick; never waits
            }
            routeReloader.close();
        }

        /** Servers, forwarder, store, Vert.x and the last spans' flush, within {@link #CLEANUP_BUDGET}. */
        @Override
        public void afterStop(BaseMainSupport main) {
            long t0 = System.nanoTime();
            Thread deregister = null;
            if (registry != null) {
                // out of the registry at once, in parallel with the rest of the clean-up
                deregister = new Thread(() -> registry.close(REGISTRY_REMOVAL), "replica-registry-removal");
                deregister.setDaemon(true);
                deregister.start();
            }
            Thread flush = new Thread(() -> telemetry.shutdown(TELEMETRY_FLUSH), "telemetry-shutdown");
            flush.setDaemon(true);
            flush.start();
            server.close();
            management.close();
            adminApi.close();
            forwarder.close();
            counters.close();
            if (scraper != null) {
                scraper.close();
            }
            secretRefresher.close();
            store.close();
            closeQuietly(vertx);
            try {
                if (deregister != null) {
                    deregister.join(Math.max(1, REGISTRY_REMOVAL.toMillis() + 100 - millisSince(t0)));
                }
                flush.join(Math.max(1, CLEANUP_BUDGET.toMillis() - millisSince(t0)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            LOG.info("api-router stopped ({} ms of clean-up)", millisSince(t0));
        }
    }

    /**
     * Liveness on both ports; readiness on both, the public one in summary (never a backend URL); metrics, the
     * admin endpoints and the console on the management port only.
     */
    private void statusEndpoints() {
        Readiness readiness = new Readiness(store, backendHealth, fleet, camel::getCamelContext, clock::instant);
        readiness.addCheck(() -> {
            var status = routeReloader.status();
            return new Readiness.Check("routes-reload", status.up(), status.summary(), status.details());
        });
        server.statusEndpoint(GatewayHttpServer.READYZ_PATH, readyz(readiness, Readiness.Detail.SUMMARY));
        management.endpoint(GatewayHttpServer.READYZ_PATH, readyz(readiness, Readiness.Detail.FULL));
        PolicyStatus policyStatus = new PolicyStatus(store, backendHealth, fleet);
        management.adminEndpoint(ManagementHttpServer.POLICY_STATUS_PATH, ctx -> ctx.response()
                .putHeader(HttpHeaders.CONTENT_TYPE, JSON).end(policyStatus.json()));
        management.adminEndpoint(ManagementHttpServer.USAGE_STATUS_PATH, ctx -> ctx.response()
                .putHeader(HttpHeaders.CONTENT_TYPE, JSON).end(keyUsage.json()));
        readiness.addCheck(this::limitsCheck);
        management.adminEndpoint(ManagementHttpServer.FLEET_STATUS_PATH, this::fleetStatus);
        management.adminEndpoint(AdminApi.BASE + "/fleet", this::fleetStatus);
        adminApi = new AdminApi(store, settings, keyUsage, () -> java.util.Optional.ofNullable(metrics)
                .map(GatewayMetrics::stats), () -> registry, ReplicaRegistry.replicaId(settings.replica()), clock);
        adminApi.register(management);
        // the console's files are open: all it shows comes from the admin API, behind the token
        management.endpoint(ConsoleAssets.PATH + "/*", ConsoleAssets.fromClassPath());
        if (store instanceof EtcdPolicyStore) {
            readiness.addCheck(this::replicaCheck);
            if (metrics != null) {
                metrics.gauge("api_router_replica_lagging", "1 when this replica's watch has lagged etcd beyond "
                        + "ROUTER_REPLICA_LAG_REVISIONS for longer than ROUTER_REPLICA_LAG_MS, else 0",
                        () -> registry != null && registry.status().lagging() ? 1 : 0);
                metrics.gauge("api_router_replica_applied_revision", "etcd revision of the policy this replica applied",
                        () -> store.current().map(v -> v.revision()).orElse(0L));
            }
        }
        if (metrics != null) {
            metrics.gauge("api_router_buffered_body_bytes", "Request body bytes held in memory by all requests",
                    server::bufferedBodyBytes);
            metrics.gauge("api_router_client_connections", "Client connections open on the public port",
                    server::openConnections);
            metrics.counter("api_router_route_reloads", "Route files (re)loaded since start",
                    () -> routeReloader.status().reloads());
            metrics.counter("api_router_route_reload_failures", "Route files rejected (the previous routes kept serving)",
                    () -> routeReloader.status().failures());
            management.endpoint(ManagementHttpServer.METRICS_PATH, ctx -> ctx.response()
                    .putHeader(HttpHeaders.CONTENT_TYPE, GatewayMetrics.CONTENT_TYPE).end(metrics.scrape()));
        }
    }

    /** {@code GET /v1/status/fleet}: the replica registry as etcd has it (etcd store only). */
    private void fleetStatus(RoutingContext ctx) {
        ReplicaRegistry r = registry;
        String requestId = RequestIds.from(ctx.request().getHeader(HeaderNames.REQUEST_ID));
        if (!(store instanceof EtcdPolicyStore)) {
            ErrorResponses.send(ctx.request(), requestId, ErrorCode.REGISTRY_NEEDS_ETCD,
                    "The replica registry needs the etcd store (ETCD_ENDPOINTS): this gateway uses "
                            + settings.store().describe());
            return;
        }
        if (r == null) {
            ErrorResponses.send(ctx.request(), requestId, ErrorCode.ETCD_UNAVAILABLE,
                    "The replica registry has not started yet");
            return;
        }
        io.vertx.core.Context context = io.vertx.core.Vertx.currentContext();
        r.fleet().whenComplete((fleetView, error) -> context.runOnContext(v -> {
            if (error != null) {
                ErrorResponses.send(ctx.request(), requestId, ErrorCode.ETCD_UNAVAILABLE,
                        "etcd did not answer the registry read: " + r.describe(error));
            } else {
                ctx.response().putHeader(HttpHeaders.CONTENT_TYPE, JSON).end(fleetView.json());
            }
        }));
    }

    /** Informational (never unready): this replica in the registry, and whether its watch lags etcd. */
    private Readiness.Check replicaCheck() {
        ReplicaRegistry r = registry;
        if (r == null) {
            return new Readiness.Check("replica", true, Map.of("registered", false), Map.of("registered", false));
        }
        ReplicaRegistry.Status s = r.status();
        Map<String, Object> summary = Map.of("registered", s.registered(), "lagging", s.lagging());
        Map<String, Object> details = new java.util.LinkedHashMap<>();
        details.put("id", s.id());
        details.put("registered", s.registered());
        details.put("appliedRevision", s.appliedRevision());
        details.put("watchedRevision", s.watchedRevision());
        details.put("etcdRevision", s.etcdRevision());
        details.put("behind", s.behind());
        details.put("lagging", s.lagging());
        details.put("lagMs", s.lagMillis());
        return new Readiness.Check("replica", true, summary, details);
    }

    private static Handler<RoutingContext> readyz(Readiness readiness, Readiness.Detail detail) {
        return ctx -> {
            Readiness.Answer answer = readiness.evaluate(detail);
            ctx.response().setStatusCode(answer.ready() ? 200 : 503)
                    .putHeader(HttpHeaders.CONTENT_TYPE, JSON).end(answer.json());
        };
    }

    /**
     * On SIGTERM the JVM halts as soon as its shutdown hooks return; Camel's returns once the context has stopped,
     * before our clean-up has run. This hook holds the JVM until the clean-up is done, at most {@code max} — and not
     * at all when the routes had not started yet (a SIGTERM during start-up: nothing to drain, exit now).
     */
    private static void holdJvmUntil(CountDownLatch done, Duration max, java.util.function.BooleanSupplier started) {
        Thread hook = new Thread(() -> {
            try {
                if (!started.getAsBoolean()) {
                    LOG.info("Stopped during start-up");
                    return;
                }
                done.await(max.toMillis(), TimeUnit.MILLISECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "api-router-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** Where the limit counters live: Redis (with in-process counters while it is unreachable) or this process. */
    private Counters createCounters() {
        Settings.Limits limits = settings.limits();
        LOG.info("Limit counters: {}", limits.describe());
        if (limits.redisUrl().isEmpty()) {
            return new LocalCounters();
        }
        RedisCounters redis = new RedisCounters(vertx, limits.redisUrl().get().toString(), limits.redisTimeout());
        return new FailoverCounters(vertx, redis, new LocalCounters(),
                limits.failClosed() ? FailoverCounters.Mode.CLOSED : FailoverCounters.Mode.OPEN,
                FailoverCounters.DEFAULT_PROBE_EVERY);
    }

    /** Informational (never unready): where the limit counters are, and whether Redis is missed. */
    private Readiness.Check limitsCheck() {
        boolean degraded = counters instanceof FailoverCounters f && f.degraded();
        String where = counters instanceof FailoverCounters f ? f.describe() : "in process";
        Map<String, Object> summary = Map.of("counters", settings.limits().redisUrl().isPresent() ? "redis" : "local",
                "degraded", degraded);
        return new Readiness.Check("limits", true, summary, Map.of("counters", where, "degraded", degraded));
    }

    private PolicyStore createStore() {
        Settings.Store store = settings.store();
        if (store.usesEtcd()) {
            return new EtcdPolicyStore(store, clock);
        }
        if (store.isNone()) {
            return new NoPolicyStore();
        }
        return new FilePolicyStore(store.policyFile(), store.policyPoll(), clock);
    }

    private static void closeQuietly(Vertx vertx) {
        try {
            vertx.close().toCompletionStage().toCompletableFuture().get(3, TimeUnit.SECONDS);
        } catch (Exception e) {
            // the process is exiting
        }
    }

    private static long millisSince(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - nanos);
    }

    private static Throwable rootCause(Throwable t) {
        Throwable c = t;
        while (c.getCause() != null && c.getCause() != c) {
            c = c.getCause();
        }
        return c;
    }
}
