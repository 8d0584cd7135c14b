package dev.apirouter.config;

import java.net.URI;
import java.nio.file.Files;
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
     * Where policies and keys come from: etcd when endpoints are given, else the policy file (empty: the bundled
     * demo policy).
     */
    public record Store(Optional<Path> policyFile, Duration policyPoll, List<URI> etcdEndpoints, String etcdPrefix,
                        Duration etcdConnectTimeout, Duration etcdCallTimeout, Path lastKnownGoodFile,
                        EtcdSecurity etcdSecurity) {
        public boolean usesEtcd() {
            return !etcdEndpoints.isEmpty();
        }

        /** TLS to etcd: the endpoints are {@code https://} (they are all one scheme or the other). */
        public boolean etcdTls() {
            return etcdEndpoints.stream().anyMatch(Settings::https);
        }

        public String describe() {
            if (usesEtcd()) {
                return "etcd " + etcdEndpoints + " prefix " + etcdPrefix;
            }
            return "file " + policyFile.map(Path::toString).orElse("(bundled demo policy)");
        }
    }

    /**
     * etcd authentication (user and password, both or neither) and TLS files (PEM; a client certificate and its key,
     * both or neither). Checked when bound: the files were readable then. Its text never shows the password.
     */
    public record EtcdSecurity(Optional<String> username, Optional<String> password, Optional<Path> caCert,
                               Optional<Path> cert, Optional<Path> key) {
        public static final EtcdSecurity NONE = new EtcdSecurity(Optional.empty(), Optional.empty(), Optional.empty(),
                Optional.empty(), Optional.empty());

        public boolean authenticates() {
            return username.isPresent();
        }

        @Override
        public String toString() {
            return "EtcdSecurity[username=" + username.orElse("(none)") + ", password="
                    + (password.isPresent() ? "(set)" : "(none)") + ", caCert=" + caCert.orElse(null) + ", cert="
                    + cert.orElse(null) + ", key=" + key.orElse(null) + "]";
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
        List<URI> etcdEndpoints = config.get(Setting.ETCD_ENDPOINTS).map(Settings::endpoints).orElse(List.of());
        Store store = new Store(
                config.get(Setting.POLICY_FILE).map(Path::of),
                millis(config, Setting.POLICY_POLL_MS),
                etcdEndpoints,
                prefix(config.require(Setting.ETCD_PREFIX)),
                millis(config, Setting.ETCD_CONNECT_TIMEOUT_MS),
                millis(config, Setting.ETCD_CALL_TIMEOUT_MS),
                config.get(Setting.LAST_KNOWN_GOOD_FILE).map(Path::of).orElse(dataDir.resolve("last-known-good.json")),
                etcdSecurity(config, etcdEndpoints));
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

    /**
     * The etcd credentials and TLS files, checked: pairs complete, files readable, TLS files only with {@code https://}
     * endpoints. Messages name variables and paths, never a value that could be secret.
     */
    static EtcdSecurity etcdSecurity(Config config, List<URI> endpoints) {
        Optional<String> username = config.get(Setting.ETCD_USERNAME);
        Optional<String> password = config.get(Setting.ETCD_PASSWORD);
        bothOrNeither(Setting.ETCD_USERNAME, username, Setting.ETCD_PASSWORD, password, "etcd authentication needs both");
        Optional<Path> caCert = readableFile(config, Setting.ETCD_CACERT);
        Optional<Path> cert = readableFile(config, Setting.ETCD_CERT);
        Optional<Path> key = readableFile(config, Setting.ETCD_KEY);
        bothOrNeither(Setting.ETCD_CERT, cert, Setting.ETCD_KEY, key,
                "a client certificate (mutual TLS) needs both the certificate and its private key");
        boolean https = endpoints.stream().anyMatch(Settings::https);
        if (https && !endpoints.stream().allMatch(Settings::https)) {
            throw new ConfigException(Setting.ETCD_ENDPOINTS, "mixes http:// and https:// endpoints: use one scheme");
        }
        if (!endpoints.isEmpty() && !https) {
            Setting tlsFile = caCert.isPresent() ? Setting.ETCD_CACERT : cert.isPresent() ? Setting.ETCD_CERT : null;
            if (tlsFile != null) {
                throw new ConfigException(tlsFile, "is set but ETCD_ENDPOINTS are http://: TLS needs https:// endpoints");
            }
        }
        return new EtcdSecurity(username, password, caCert, cert, key);
    }

    private static void bothOrNeither(Setting a, Optional<?> aValue, Setting b, Optional<?> bValue, String why) {
        if (aValue.isPresent() && bValue.isEmpty()) {
            throw new ConfigException(a, "is set without " + b.envVar() + ": " + why);
        }
        if (bValue.isPresent() && aValue.isEmpty()) {
            throw new ConfigException(b, "is set without " + a.envVar() + ": " + why);
        }
    }

    private static Optional<Path> readableFile(Config config, Setting setting) {
        Optional<Path> file = config.get(setting).map(Path::of);
        file.ifPresent(path -> {
            if (!Files.isRegularFile(path) || !Files.isReadable(path)) {
                throw new ConfigException(setting, "names " + path + ", which is not a readable file");
            }
        });
        return file;
    }

    private static boolean https(URI endpoint) {
        return "https".equalsIgnoreCase(endpoint.getScheme());
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
