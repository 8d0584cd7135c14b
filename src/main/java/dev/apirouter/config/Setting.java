package dev.apirouter.config;

/**
 * Every environment variable the gateway reads. The default of each lives in {@code application.properties}
 * under {@link #propertyKey()}; an environment variable set to the empty string counts as unset.
 */
public enum Setting {
    HTTP_PORT("ROUTER_HTTP_PORT", "router.http.port"),
    HTTP_HOST("ROUTER_HTTP_HOST", "router.http.host"),
    MAX_BODY_BYTES("ROUTER_MAX_BODY_BYTES", "router.http.max-body-bytes"),
    MAX_UPLOAD_BYTES("ROUTER_MAX_UPLOAD_BYTES", "router.http.max-upload-bytes"),
    MAX_CONCURRENT_REQUESTS("ROUTER_MAX_CONCURRENT_REQUESTS", "router.http.max-concurrent-requests"),
    MAX_BUFFERED_BODY_BYTES("ROUTER_MAX_BUFFERED_BODY_BYTES", "router.http.max-buffered-body-bytes"),
    MAX_CONNECTIONS("ROUTER_MAX_CONNECTIONS", "router.http.max-connections"),
    CLIENT_HEADER_TIMEOUT_MS("ROUTER_CLIENT_HEADER_TIMEOUT_MS", "router.http.client-header-timeout-ms"),
    CLIENT_BODY_TIMEOUT_MS("ROUTER_CLIENT_BODY_TIMEOUT_MS", "router.http.client-body-timeout-ms"),
    CLIENT_IDLE_TIMEOUT_MS("ROUTER_CLIENT_IDLE_TIMEOUT_MS", "router.http.client-idle-timeout-ms"),
    HTTP2("ROUTER_HTTP2", "router.http.http2"),
    MANAGEMENT_PORT("ROUTER_MANAGEMENT_PORT", "router.management.port"),
    MANAGEMENT_HOST("ROUTER_MANAGEMENT_HOST", "router.management.host"),
    POLICY_FILE("ROUTER_POLICY_FILE", "router.policy.file"),
    DEMO("ROUTER_DEMO", "router.policy.demo"),
    POLICY_POLL_MS("ROUTER_POLICY_POLL_MS", "router.policy.poll-ms"),
    ETCD_ENDPOINTS("ETCD_ENDPOINTS", "router.etcd.endpoints"),
    ETCD_PREFIX("ROUTER_ETCD_PREFIX", "router.etcd.prefix"),
    ETCD_CONNECT_TIMEOUT_MS("ROUTER_ETCD_CONNECT_TIMEOUT_MS", "router.etcd.connect-timeout-ms"),
    ETCD_CALL_TIMEOUT_MS("ROUTER_ETCD_CALL_TIMEOUT_MS", "router.etcd.call-timeout-ms"),
    ETCD_USERNAME("ETCD_USERNAME", "router.etcd.username"),
    ETCD_PASSWORD("ETCD_PASSWORD", "router.etcd.password"),
    ETCD_CACERT("ETCD_CACERT", "router.etcd.cacert"),
    ETCD_CERT("ETCD_CERT", "router.etcd.cert"),
    ETCD_KEY("ETCD_KEY", "router.etcd.key"),
    REPLICA_TTL_MS("ROUTER_REPLICA_TTL_MS", "router.replica.ttl-ms"),
    REPLICA_UPDATE_MS("ROUTER_REPLICA_UPDATE_MS", "router.replica.update-ms"),
    REPLICA_LAG_REVISIONS("ROUTER_REPLICA_LAG_REVISIONS", "router.replica.lag-revisions"),
    REPLICA_LAG_MS("ROUTER_REPLICA_LAG_MS", "router.replica.lag-ms"),
    POD_NAME("POD_NAME", "router.replica.pod-name"),
    POD_IP("POD_IP", "router.replica.pod-ip"),
    DATA_DIR("ROUTER_DATA_DIR", "router.data-dir"),
    LAST_KNOWN_GOOD_FILE("ROUTER_LAST_KNOWN_GOOD_FILE", "router.last-known-good-file"),
    ROUTES_DIR("ROUTER_ROUTES_DIR", "router.routes.dir"),
    SHUTDOWN_GRACE_MS("ROUTER_SHUTDOWN_GRACE_MS", "router.shutdown-grace-ms"),
    ADMIN_TOKEN("ROUTER_ADMIN_TOKEN", "router.admin-token"),
    ADMIN_TOKEN_LABEL("ROUTER_ADMIN_TOKEN_LABEL", "router.admin-token-label"),
    ADMIN_URL("ROUTER_ADMIN_URL", "router.admin-url"),
    METRICS_ENABLED("ROUTER_METRICS_ENABLED", "router.metrics.enabled"),
    BACKEND_PROBE_INTERVAL_MS("ROUTER_BACKEND_PROBE_INTERVAL_MS", "router.backend-probe.interval-ms"),
    BACKEND_PROBE_TIMEOUT_MS("ROUTER_BACKEND_PROBE_TIMEOUT_MS", "router.backend-probe.timeout-ms"),
    BACKEND_UNHEALTHY_AFTER("ROUTER_BACKEND_UNHEALTHY_AFTER", "router.backend-probe.unhealthy-after"),
    BACKEND_HEALTHY_AFTER("ROUTER_BACKEND_HEALTHY_AFTER", "router.backend-probe.healthy-after"),
    BACKEND_METRICS_INTERVAL_MS("ROUTER_BACKEND_METRICS_INTERVAL_MS", "router.backend-metrics.interval-ms"),
    BACKEND_METRICS_TIMEOUT_MS("ROUTER_BACKEND_METRICS_TIMEOUT_MS", "router.backend-metrics.timeout-ms"),
    OUTLIER_EJECT_AFTER("ROUTER_OUTLIER_EJECT_AFTER", "router.outlier.eject-after"),
    OUTLIER_BASE_EJECTION_MS("ROUTER_OUTLIER_BASE_EJECTION_MS", "router.outlier.base-ejection-ms"),
    OUTLIER_MAX_EJECTION_MS("ROUTER_OUTLIER_MAX_EJECTION_MS", "router.outlier.max-ejection-ms"),
    REDIS_URL("ROUTER_REDIS_URL", "router.redis.url"),
    REDIS_TIMEOUT_MS("ROUTER_REDIS_TIMEOUT_MS", "router.redis.timeout-ms"),
    LIMITS_ON_STORE_FAILURE("ROUTER_LIMITS_ON_STORE_FAILURE", "router.limits.on-store-failure"),
    BACKEND_SECRET_REFRESH_MS("ROUTER_BACKEND_SECRET_REFRESH_MS", "router.backend-secret.refresh-ms"),
    OTEL_ENDPOINT("OTEL_EXPORTER_OTLP_ENDPOINT", "router.otel.endpoint"),
    OTEL_PROTOCOL("OTEL_EXPORTER_OTLP_PROTOCOL", "router.otel.protocol"),
    OTEL_HEADERS("OTEL_EXPORTER_OTLP_HEADERS", "router.otel.headers"),
    OTEL_SERVICE_NAME("OTEL_SERVICE_NAME", "router.otel.service-name"),
    OTEL_SDK_DISABLED("OTEL_SDK_DISABLED", "router.otel.sdk-disabled"),
    OTEL_CONNECT_TIMEOUT_MS("ROUTER_OTEL_CONNECT_TIMEOUT_MS", "router.otel.connect-timeout-ms"),
    OTEL_EXPORT_TIMEOUT_MS("ROUTER_OTEL_EXPORT_TIMEOUT_MS", "router.otel.export-timeout-ms"),
    LOG_LEVEL("LOG_LEVEL", "router.log.level"),
    LOG_FORMAT("LOG_FORMAT", "router.log.format");

    private final String envVar;
    private final String propertyKey;

    Setting(String envVar, String propertyKey) {
        this.envVar = envVar;
        this.propertyKey = propertyKey;
    }

    public String envVar() {
        return envVar;
    }

    public String propertyKey() {
        return propertyKey;
    }
}
