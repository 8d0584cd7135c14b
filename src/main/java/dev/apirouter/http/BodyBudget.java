package dev.apirouter.http;

import java.util.concurrent.atomic.AtomicLong;

/** The request body bytes all requests together may hold in memory ({@code ROUTER_MAX_BUFFERED_BODY_BYTES}). */
final class BodyBudget {
    private final long limit;
    private final AtomicLong reserved = new AtomicLong();

    BodyBudget(long limit) {
        this.limit = limit;
    }

    boolean tryReserve(long bytes) {
        while (true) {
            long now = reserved.get();
            if (now + bytes > limit) {
                return false;
            }
            if (reserved.compareAndSet(now, now + bytes)) {
                return true;
            }
        }
    }

    void release(long bytes) {
        reserved.addAndGet(-bytes);
    }

    long reserved() {
        return reserved.get();
    }

    long limit() {
        return limit;
    }
}
