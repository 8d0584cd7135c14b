package dev.apirouter.routing;

/** Why a request went where it went: the {@code reason} label of the routing metrics and the span attribute. */
public enum Reason {
    /** Weighted random order. */
    WEIGHTED("weighted"),
    /** The least loaded backend (the {@code least-load} strategy, or {@code prefix-affinity} without a key). */
    LEAST_LOAD("least-load"),
    /** The backend the affinity key hashes to. */
    AFFINITY("affinity"),
    /** The affinity key's backend was above its bounded load: the next one on the ring took the request. */
    SPILLED("spilled"),
    /** No backend of the model was available (ejected, unhealthy or drained): its fallbacks are next. */
    UNAVAILABLE("unavailable"),
    /** A backend answered 429 or 503 before any byte was sent: the request went to the next candidate. */
    RETRY("retry"),
    /** Every backend of the model was unavailable: the request went to a fallback model. */
    FALLBACK("fallback"),
    /** The request names a stored response: it goes to the backend that holds it, and only there. */
    PINNED("pinned");

    private final String label;

    Reason(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
