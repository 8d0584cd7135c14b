package dev.apirouter.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/** All settings, bound once at start-up from {@link Config}. */
public record Settings(Http http, Management management, Store store, Path routesDir, Duration shutdownGrace,
                       Optional<String> adminToken, Telemetry telemetry, Logging logging, Health health) {

    /** Metrics and active backend health probing. */
    public record Health(boolean metricsEnabled, Duration probeInterval, Duration probeTimeout, int unhealthyAfter,
                         int healthyAfter) {
    }

    public record Http(String host, int port, long maxBodyBytes, int maxConcurrentRequests) {
    }

    /** The management server: metrics, full readiness, the admin endpoints. Port 0 picks a free port. */
    public record Management(String host, int port) {
    }

    /**
     * Where policies and keys come from: etcd when endpoints are given, else the policy file (empty: the bundled
     * demo policy).
     */
    public record Store(Optional<Path> policyFile, Duration policyPoll, List<URI> etcdEndpoints, String etcdPrefix,
                        Duration etcdConnectTimeout, Duration etcdCallTimeout, Path lastKnownGoodFile) {
        public boolean usesEtcd() {
            return !etcdEndpoints.isEmpty();
        }

        public String describe() {
            if (usesEtcd()) {
                return "etcd " + etcdEndpoints + " prefix " + etcdPrefix;
            }
            return "file " + policyFile.map(Path::toString).orElse("(bundled demo policy)");
        }
    }

    public record Telemetry(Optional<String> endpoint, String protocol, Optional<String> headers, String serviceName,
                            boolean sdkDisabled, Duration connectTimeout, Duration exportTimeout) {
    }

    public record Logging(String level, String format) {
    }

    public static Settings from(Config config) {
        Http http = new Http(config.require(Setting.HTTP_HOST), port(config, Setting.HTTP_PORT),
                positive(config, Setting.MAX_BODY_BYTES), (int) positive(config, Setting.MAX_CONCURRENT_REQUESTS));
        Management management = new Management(config.require(Setting.MANAGEMENT_HOST),
                port(config, Setting.MANAGEMENT_PORT));
        if (management.port() != 0 && management.port() == http.port()) {
            // Vert.x would share one port between the two servers, serving each connection from either
            throw new ConfigException(Setting.MANAGEMENT_PORT, "must differ from " + Setting.HTTP_PORT.envVar()
                    + ", both are " + http.port());
        }
        Path dataDir = Path.of(config.require(Setting.DATA_DIR));
        Store store = new Store(
                config.get(Setting.POLICY_FILE).map(Path::of),
                millis(config, Setting.POLICY_POLL_MS),
                config.get(Setting.ETCD_ENDPOINTS).map(Settings::endpoints).orElse(List.of()),
                prefix(config.require(Setting.ETCD_PREFIX)),
                millis(config, Setting.ETCD_CONNECT_TIMEOUT_MS),
                millis(config, Setting.ETCD_CALL_TIMEOUT_MS),
                config.get(Setting.LAST_KNOWN_GOOD_FILE).map(Path::of).orElse(dataDir.resolve("last-known-good.json")));
        Telemetry telemetry = new Telemetry(
                config.get(Setting.OTEL_ENDPOINT),
                config.require(Setting.OTEL_PROTOCOL),
                config.get(Setting.OTEL_HEADERS),
                config.require(Setting.OTEL_SERVICE_NAME),
                config.booleanValue(Setting.OTEL_SDK_DISABLED),
                millis(config, Setting.OTEL_CONNECT_TIMEOUT_MS),
                millis(config, Setting.OTEL_EXPORT_TIMEOUT_MS));
        Logging logging = new Logging(config.require(Setting.LOG_LEVEL), config.require(Setting.LOG_FORMAT));
        Health health = new Health(config.booleanValue(Setting.METRICS_ENABLED),
                millis(config, Setting.BACKEND_PROBE_INTERVAL_MS), millis(config, Setting.BACKEND_PROBE_TIMEOUT_MS),
                (int) positive(config, Setting.BACKEND_UNHEALTHY_AFTER), (int) positive(config, Setting.BACKEND_HEALTHY_AFTER));
        return new Settings(http, management, store, Path.of(config.require(Setting.ROUTES_DIR)),
                millis(config, Setting.SHUTDOWN_GRACE_MS), config.get(Setting.ADMIN_TOKEN), telemetry, logging, health);
    }

    private static int port(Config config, Setting setting) {
        int port = config.intValue(setting);
        if (port < 0 || port > 65535) {
            throw new ConfigException(setting, "must be a port number (0-65535), got " + port);
        }
        return port;
    }

    private static long positive(Config config, Setting setting) {
        long value = config.longValue(setting);
        if (value <= 0) {
            throw new ConfigException(setting, "must be greater than 0, got " + value);
        }
        return value;
    }

    private static Duration millis(Config config, Setting setting) {
        return Duration.ofMillis(positive(config, setting));
    }

    static List<URI> endpoints(String raw) {
        return Arrays.stream(raw.split(","))
                .map(String::trim)
                .filter(s -> !s.isEmpty())
                .map(s -> URI.create(s.contains("://") ? s : "http://" + s))
                .toList();
    }

    private static String prefix(String raw) {
        return raw.endsWith("/") ? raw : raw + "/";
    }
}
