package dev.apirouter.http;

import java.util.Map;

import dev.apirouter.error.GatewayException;

/**
 * What a request holds of the gateway from its admission to its answer: one place in the in-flight limit and the
 * body bytes it keeps in memory. Released once, when the request is answered or abandoned.
 */
final class Admission {
    private final InflightLimiter limiter;
    private final BodyBudget budget;
    private final boolean holdsPlace;
    private long reservedBytes;
    private boolean released;
    private GatewayException refusal;
    private Map<String, Object> found = Map.of();
    private byte[] body;

    private Admission(InflightLimiter limiter, BodyBudget budget, boolean holdsPlace) {
        this.limiter = limiter;
        this.budget = budget;
        this.holdsPlace = holdsPlace;
    }

    /** A request with a place in the in-flight limit. */
    static Admission admitted(InflightLimiter limiter, BodyBudget budget) {
        return new Admission(limiter, budget, true);
    }

    /** A request refused before it got anything: the route answers it with {@code refusal}. */
    static Admission refused(InflightLimiter limiter, BodyBudget budget, GatewayException refusal) {
        Admission admission = new Admission(limiter, budget, false);
        admission.refusal = refusal;
        return admission;
    }

    void refuse(GatewayException e) {
        this.refusal = e;
    }

    GatewayException refusal() {
        return refusal;
    }

    void found(Map<String, Object> found) {
        this.found = found;
    }

    Map<String, Object> found() {
        return found;
    }

    boolean reserve(long bytes) {
        if (!budget.tryReserve(bytes)) {
            return false;
        }
        reservedBytes += bytes;
        return true;
    }

    void body(byte[] body) {
        this.body = body;
    }

    /** The request body as read (null: the request has none). */
    byte[] body() {
        return body;
    }

    void release() {
        if (released) {
            return;
        }
        released = true;
        if (holdsPlace) {
            limiter.release();
        }
        budget.release(reservedBytes);
        reservedBytes = 0;
        body = null;
    }
}
