package dev.apirouter.error;

/**
 * Every error the gateway itself answers with: HTTP status, OpenAI error {@code type} and {@code code}, and the
 * Anthropic error {@code type} of the same status ({@link #anthropicType()}).
 */
public enum ErrorCode {
    INVALID_REQUEST(400, "invalid_request_error", "invalid_request"),
    INVALID_API_KEY(401, "authentication_error", "invalid_api_key"),
    UNAUTHORIZED(401, "authentication_error", "unauthorized"),
    MODEL_NOT_ALLOWED(403, "permission_error", "model_not_allowed"),
    ADMIN_DISABLED(403, "permission_error", "admin_disabled"),
    MODEL_NOT_FOUND(404, "invalid_request_error", "model_not_found"),
    NOT_FOUND(404, "invalid_request_error", "not_found"),
    KEY_NOT_FOUND(404, "invalid_request_error", "key_not_found"),
    METHOD_NOT_ALLOWED(405, "invalid_request_error", "method_not_allowed"),
    REQUEST_TIMEOUT(408, "invalid_request_error", "request_timeout"),
    STORE_READ_ONLY(409, "invalid_request_error", "store_read_only"),
    CONFLICT(409, "invalid_request_error", "conflict"),
    REQUEST_TOO_LARGE(413, "invalid_request_error", "request_too_large"),
    URI_TOO_LONG(414, "invalid_request_error", "uri_too_long"),
    RATE_LIMITED(429, "rate_limit_error", "rate_limit_exceeded"),
    INSUFFICIENT_QUOTA(429, "insufficient_quota", "insufficient_quota"),
    HEADERS_TOO_LARGE(431, "invalid_request_error", "invalid_request"),
    INTERNAL_ERROR(500, "api_error", "internal_error"),
    UPSTREAM_UNAVAILABLE(502, "api_error", "upstream_unavailable"),
    REGISTRY_NEEDS_ETCD(404, "invalid_request_error", "registry_needs_etcd"),
    NO_POLICY(503, "api_error", "no_policy"),
    ETCD_UNAVAILABLE(503, "api_error", "etcd_unavailable"),
    OVERLOADED(503, "api_error", "overloaded"),
    SHUTTING_DOWN(503, "api_error", "shutting_down"),
    STARTING(503, "api_error", "starting"),
    UPSTREAM_TIMEOUT(504, "api_error", "upstream_timeout"),
    FLEET_TIMEOUT(504, "api_error", "fleet_timeout");

    private final int status;
    private final String type;
    private final String code;

    ErrorCode(int status, String type, String code) {
        this.status = status;
        this.type = type;
        this.code = code;
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String code() {
        return code;
    }

    /**
     * The Anthropic Messages API's error {@code type} for this error (its SDKs choose their exception by it and by
     * the status): by status as Anthropic documents them; a 503 is {@code overloaded_error} (Anthropic's own overload
     * status is 529, the status stays the contract's), a 504 {@code timeout_error}.
     */
    public String anthropicType() {
        return switch (status) {
            case 401 -> "authentication_error";
            case 403 -> "permission_error";
            case 404 -> "not_found_error";
            case 413 -> "request_too_large";
            case 429 -> "rate_limit_error";
            case 503 -> "overloaded_error";
            case 504 -> "timeout_error";
            default -> status >= 500 ? "api_error" : "invalid_request_error";
        };
    }
}
