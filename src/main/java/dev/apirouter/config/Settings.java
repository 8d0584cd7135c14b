package dev.apirouter.config;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * All settings, bound once at start-up from {@link Config}.
 *
 * @param backendSecretRefresh how often the backends' secret files are re-read (rotation)
 */
public record Settings(Http http, Management management, Store store, Path routesDir, Duration shutdownGrace,
                       Optional<String> adminToken, String adminTokenLabel, Telemetry telemetry, Health health, Fleet fleet,
                       Limits limits, Duration backendSecretRefresh, Replica replica) {

    /**
     * The replica registry (etcd store only): {@code <prefix>replicas/<id>}, bound to a lease.
     *
     * @param ttl            the lease's time to live: a replica that stops keeping it alive disappears after it
     * @param updateInterval at most one registry write per interval (changes in between are coalesced)
     * @param lagRevisions   lagging: more than this many etcd revisions behind ...
     * @param lagTime        ... for longer than this
     * @param podName        the replica id when set (Kubernetes downward API); else host name and pid
     * @param podIp          the address others reach the management port at when it listens on every interface
     */
    public record Replica(Duration ttl, Duration updateInterval, long lagRevisions, Duration lagTime,
                          Optional<String> podName, Optional<String> podIp) {
    }

    /**
     * Where the counters of per-key and per-model limits live.
     *
     * @param redisUrl        shared by every replica in this Redis; empty: in this process only
     * @param redisTimeout    connect timeout, and deadline of every Redis call
     * @param failClosed      when Redis cannot answer: refuse the requests of limited keys (else count them in process)
     */
    public record Limits(Optional<URI> redisUrl, Duration redisTimeout, boolean failClosed) {
        /** Where the counters are, for logs: never the URL's credentials. */
        public String describe() {
            return redisUrl.map(u -> "shared in Redis at " + u.getHost() + ":" + (u.getPort() > 0 ? u.getPort() : 6379)
                    + (failClosed ? " (refusing limited requests while it is unreachable)"
                    : " (in-process counters while it is unreachable)")).orElse("in this process (one replica)");
        }
    }

    /**
     * What routing knows of the backends beyond their health: their load, scraped from their {@code /metrics}, and
     * outlier ejection.
     *
     * @param metricsInterval how often each backend's {@code /metrics} is scraped; zero: never (in-flight counts only)
     * @param metricsTimeout  connect timeout and deadline of one scrape
     * @param ejectAfter      consecutive failures (connections, 5xx, first-byte timeouts) that eject a backend; 0: never
     * @param baseEjection    the first ejection's length; each next one doubles it
     * @param maxEjection     the longest ejection
     */
    public record Fleet(Duration metricsInterval, Duration metricsTimeout, int ejectAfter, Duration baseEjection,
                        Duration maxEjection) {
        public boolean scrapes() {
            return !metricsInterval.isZero();
        }
    }

    /** Metrics and active backend health probing. */
    public record Health(boolean metricsEnabled, Duration probeInterval, Duration probeTimeout, int unhealthyAfter,
                         int healthyAfter) {
    }

    /**
     * The public HTTP server.
     *
     * @param maxBodyBytes   largest request body read into memory (JSON); also the most bytes of an upload held
     *                       before its model field is found
     * @param maxUploadBytes largest multipart/form-data upload, streamed to the backend as it arrives
     * @param h2c also serve HTTP/2 over cleartext with prior knowledge ({@code ROUTER_HTTP2=h2c}); never by Upgrade
     */
    public record Http(String host, int port, long maxBodyBytes, long maxUploadBytes, int maxConcurrentRequests,
                       Clients clients, boolean h2c) {
    }

    /** The management server: metrics, full readiness, the admin endpoints. Port 0 picks a free port. */
    public record Management(String host, int port) {
    }

    /**
     * What clients may hold of the gateway before they are admitted, authenticated or not.
     *
     * @param maxBufferedBodyBytes request body bytes held in memory by all requests together
     * @param headerTimeout        a new connection's first request head must be complete within it
     * @param bodyTimeout          longest silence between two reads of a request body
     * @param idleTimeout          a keep-alive connection with no request in progress is closed after it
     */
    public record Clients(int maxConnections, long maxBufferedBodyBytes, Duration headerTimeout, Duration bodyTimeout,
                          Duration idleTimeout) {
    }

    /**
     * Where policies and keys come from: etcd when endpoints are given (with its credentials and TLS files), else the
     * policy file, else the bundled demo policy when {@code demo} (ROUTER_DEMO=1) is set, else none at all.
     */
    public record Store(Optional<Path> policyFile, boolean demo, Duration policyPoll, List<URI> etcdEndpoints,
                        String etcdPrefix, Duration etcdConnectTimeout, Duration etcdCallTimeout,
                        Path lastKnownGoodFile, EtcdSecurity etcdSecurity) {
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

        /** TLS to etcd: the endpoints are {@code https://} (they are all one scheme or the other). */
        public boolean etcdTls() {
            return etcdEndpoints.stream().anyMatch(Settings::https);
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

    public static Settings from(Config config) {
        long maxBody = positive(config, Setting.MAX_BODY_BYTES);
        Clients clients = new Clients((int) positive(config, Setting.MAX_CONNECTIONS), bufferedBodyBudget(config, maxBody),
                millis(config, Setting.CLIENT_HEADER_TIMEOUT_MS), millis(config, Setting.CLIENT_BODY_TIMEOUT_MS),
                millis(config, Setting.CLIENT_IDLE_TIMEOUT_MS));
        Http http = new Http(config.require(Setting.HTTP_HOST), port(config, Setting.HTTP_PORT), maxBody,
                positive(config, Setting.MAX_UPLOAD_BYTES),
                (int) positive(config, Setting.MAX_CONCURRENT_REQUESTS), clients, h2c(config));
        Management management = new Management(config.require(Setting.MANAGEMENT_HOST),
                port(config, Setting.MANAGEMENT_PORT));
        if (management.port() != 0 && management.port() == http.port()) {
            // Vert.x would share one port between the two servers, serving each connection from either
            throw new ConfigException(Setting.MANAGEMENT_PORT, "must differ from " + Setting.HTTP_PORT.envVar()
                    + ", both are " + http.port());
        }
        Path dataDir = Path.of(config.require(Setting.DATA_DIR));
        List<URI> etcdEndpoints = config.get(Setting.ETCD_ENDPOINTS).map(Settings::endpoints).orElse(List.of());
        Store store = new Store(
                config.get(Setting.POLICY_FILE).map(Path::of),
                demo(config),
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
        Health health = new Health(config.booleanValue(Setting.METRICS_ENABLED),
                millis(config, Setting.BACKEND_PROBE_INTERVAL_MS), millis(config, Setting.BACKEND_PROBE_TIMEOUT_MS),
                (int) positive(config, Setting.BACKEND_UNHEALTHY_AFTER), (int) positive(config, Setting.BACKEND_HEALTHY_AFTER));
        Fleet fleet = new Fleet(Duration.ofMillis(nonNegative(config, Setting.BACKEND_METRICS_INTERVAL_MS)),
                millis(config, Setting.BACKEND_METRICS_TIMEOUT_MS), (int) nonNegative(config, Setting.OUTLIER_EJECT_AFTER),
                millis(config, Setting.OUTLIER_BASE_EJECTION_MS), millis(config, Setting.OUTLIER_MAX_EJECTION_MS));
        if (fleet.maxEjection().compareTo(fleet.baseEjection()) < 0) {
            throw new ConfigException(Setting.OUTLIER_MAX_EJECTION_MS, "must be at least "
                    + Setting.OUTLIER_BASE_EJECTION_MS.envVar() + " (" + fleet.baseEjection().toMillis() + ")");
        }
        Limits limits = new Limits(config.get(Setting.REDIS_URL).map(Settings::redisUrl),
                millis(config, Setting.REDIS_TIMEOUT_MS), failClosed(config));
        return new Settings(http, management, store, Path.of(config.require(Setting.ROUTES_DIR)),
                millis(config, Setting.SHUTDOWN_GRACE_MS), config.get(Setting.ADMIN_TOKEN), adminTokenLabel(config), telemetry, health, fleet,
                limits, millis(config, Setting.BACKEND_SECRET_REFRESH_MS), replica(config));
    }

    /** Who made a change through the admin API, in its audit line: one token of letters, digits and ._@:- */
    private static String adminTokenLabel(Config config) {
        String label = config.require(Setting.ADMIN_TOKEN_LABEL).trim();
        if (!label.matches("[A-Za-z0-9._@:-]{1,64}")) {
            throw new ConfigException(Setting.ADMIN_TOKEN_LABEL, "must be 1-64 letters, digits or . _ @ : -");
        }
        return label;
    }

    private static Replica replica(Config config) {
        Duration ttl = millis(config, Setting.REPLICA_TTL_MS);
        if (ttl.toMillis() < 1000) {
            throw new ConfigException(Setting.REPLICA_TTL_MS, "must be at least 1000 (etcd leases count whole seconds)");
        }
        return new Replica(ttl, Duration.ofMillis(positive(config, Setting.REPLICA_UPDATE_MS)),
                nonNegative(config, Setting.REPLICA_LAG_REVISIONS), millis(config, Setting.REPLICA_LAG_MS),
                config.get(Setting.POD_NAME).map(String::trim), config.get(Setting.POD_IP).map(String::trim));
    }

    /** ROUTER_REDIS_URL: redis:// or rediss://; the message never repeats the value (it may hold a password). */
    private static URI redisUrl(String raw) {
        URI uri;
        try {
            uri = new URI(raw.trim());
        } catch (java.net.URISyntaxException e) {
            throw new ConfigException(Setting.REDIS_URL, "is not a URL (redis://[:password@]host:port[/db])");
        }
        if (!("redis".equals(uri.getScheme()) || "rediss".equals(uri.getScheme())) || uri.getHost() == null) {
            throw new ConfigException(Setting.REDIS_URL, "must be redis://[:password@]host:port[/db] (or rediss://)");
        }
        return uri;
    }

    /** ROUTER_LIMITS_ON_STORE_FAILURE: open (count in process) or closed (refuse). */
    private static boolean failClosed(Config config) {
        String raw = config.require(Setting.LIMITS_ON_STORE_FAILURE).toLowerCase(java.util.Locale.ROOT);
        return switch (raw) {
            case "open" -> false;
            case "closed" -> true;
            default -> throw new ConfigException(Setting.LIMITS_ON_STORE_FAILURE, "must be open or closed, got '"
                    + raw + "'");
        };
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

    private static int port(Config config, Setting setting) {
        int port = config.intValue(setting);
        if (port < 0 || port > 65535) {
            throw new ConfigException(setting, "must be a port number (0-65535), got " + port);
        }
        return port;
    }

    /** Unset: a quarter of the heap, and never less than one body of the largest size allowed. */
    private static long bufferedBodyBudget(Config config, long maxBody) {
        if (config.get(Setting.MAX_BUFFERED_BODY_BYTES).isEmpty()) {
            return Math.max(maxBody, Runtime.getRuntime().maxMemory() / 4);
        }
        long budget = positive(config, Setting.MAX_BUFFERED_BODY_BYTES);
        if (budget < maxBody) {
            throw new ConfigException(Setting.MAX_BUFFERED_BODY_BYTES, "must be at least ROUTER_MAX_BODY_BYTES ("
                    + maxBody + "), got " + budget);
        }
        return budget;
    }

    private static boolean h2c(Config config) {
        String value = config.get(Setting.HTTP2).orElse("");
        if (value.isEmpty()) {
            return false;
        }
        if (value.equalsIgnoreCase("h2c")) {
            return true;
        }
        throw new ConfigException(Setting.HTTP2, "must be empty (HTTP/1.1 only) or h2c, got '" + value + "'");
    }

    private static long positive(Config config, Setting setting) {
        long value = config.longValue(setting);
        if (value <= 0) {
            throw new ConfigException(setting, "must be greater than 0, got " + value);
        }
        return value;
    }

    private static long nonNegative(Config config, Setting setting) {
        long value = config.longValue(setting);
        if (value < 0) {
            throw new ConfigException(setting, "must be 0 or more, got " + value);
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
