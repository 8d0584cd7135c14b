package dev.apirouter.http;

import java.util.concurrent.atomic.AtomicInteger;

/** Counts requests in flight (open streams included) and refuses one more than the limit. */
public final class InflightLimiter {
    private final int limit;
    private final AtomicInteger inflight = new AtomicInteger();

    public InflightLimiter(int limit) {
        this.limit = limit;
    }

    public boolean tryAcquire() {
        while (true) {
            int now = inflight.get();
            if (now >= limit) {
                return false;
            }
            if (inflight.compareAndSet(now, now + 1)) {
                return true;
            }
        }
    }

    public void release() {
        inflight.decrementAndGet();
    }

    public int inflight() {
        return inflight.get();
    }

    public int limit() {
        return limit;
    }
}
