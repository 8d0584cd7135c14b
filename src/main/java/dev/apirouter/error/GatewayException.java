package dev.apirouter.error;

/** The one exception type of the gateway: what went wrong, said the way the client will read it. */
public final class GatewayException extends RuntimeException {
    private final ErrorCode code;
    private final String reason;

    public GatewayException(ErrorCode code, String message) {
        this(code, code.code(), message);
    }

    /** @param reason a finer, label-safe cause for metrics (e.g. {@code expired} for an invalid key) */
    public GatewayException(ErrorCode code, String reason, String message) {
        super(message, null, false, false);
        this.code = code;
        this.reason = reason;
    }

    public ErrorCode code() {
        return code;
    }

    public String reason() {
        return reason;
    }
}
