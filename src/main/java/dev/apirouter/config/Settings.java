package dev.apirouter.config;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/** All settings, bound once at start-up from {@link Config}. */
public record Settings(Http http, Store store, Path routesDir, Duration shutdownGrace, Optional<String> adminToken,
                       Telemetry telemetry, Logging logging, Health health) {

    /** Metrics and active backend health probing. */
    public record Health(boolean metricsEnabled, Duration probeInterval, Duration probeTimeout, int unhealthyAfter,
                         int healthyAfter) {
    }

    public record Http(String host, int port, long maxBodyBytes, int maxConcurrentRequests) {
    }

    /**
     * Where policies and keys come from: etcd when endpoints are given, else the policy file, else the bundled demo
     * policy when {@code demo} (ROUTER_DEMO=1) is set, else none at all.
     */
    public record Store(Optional<Path> policyFile, boolean demo, Duration policyPoll, List<URI> etcdEndpoints,
                        String etcdPrefix, Duration etcdConnectTimeout, Duration etcdCallTimeout,
                        Path lastKnownGoodFile) {
        public boolean usesEtcd() {
            return !etcdEndpoints.isEmpty();
        }

        /** The bundled demo policy is served: asked for, and no other store is configured. */
        public boolean usesDemo() {
            return demo && !usesEtcd() && policyFile.isEmpty();
        }

        /** Neither etcd, nor a policy file, nor the demo policy: nothing will ever be loaded. */
        public boolean isNone() {
            return !usesEtcd() && policyFile.isEmpty() && !demo;
        }

        public String describe() {
            if (usesEtcd()) {
                return "etcd " + etcdEndpoints + " prefix " + etcdPrefix;
            }
            if (usesDemo()) {
                return "file (bundled demo policy, ROUTER_DEMO=1)";
            }
            return policyFile.map(file -> "file " + file).orElse("none");
        }
    }

    public record Telemetry(Optional<String> endpoint, String protocol, Optional<String> headers, String serviceName,
                            boolean sdkDisabled, Duration connectTimeout, Duration exportTimeout) {
    }

    public record Logging(String level, String format) {
    }

    public static Settings from(Config config) {
        Http http = new Http(config.require(Setting.HTTP_HOST), port(config), positive(config, Setting.MAX_BODY_BYTES),
                (int) positive(config, Setting.MAX_CONCURRENT_REQUESTS));
        Path dataDir = Path.of(config.require(Setting.DATA_DIR));
        Store store = new Store(
                config.get(Setting.POLICY_FILE).map(Path::of),
                demo(config),
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
        return new Settings(http, store, Path.of(config.require(Setting.ROUTES_DIR)),
                millis(config, Setting.SHUTDOWN_GRACE_MS), config.get(Setting.ADMIN_TOKEN), telemetry, logging, health);
    }

    /** ROUTER_DEMO: 1 (or true) turns the demo policy on; unset, 0 or false leave it off. */
    private static boolean demo(Config config) {
        String raw = config.get(Setting.DEMO).orElse("0");
        return switch (raw.toLowerCase(java.util.Locale.ROOT)) {
            case "1", "true" -> true;
            case "0", "false" -> false;
            default -> throw new ConfigException(Setting.DEMO, "must be 1 (the bundled demo policy) or 0, got '"
                    + raw + "'");
        };
    }

    private static int port(Config config) {
        int port = config.intValue(Setting.HTTP_PORT);
        if (port < 0 || port > 65535) {
            throw new ConfigException(Setting.HTTP_PORT, "must be a port number (0-65535), got " + port);
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
