package dev.apirouter.limits;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Redis first, and what to do when it fails. A Redis call that fails or times out marks Redis unusable (one WARN
 * line) and is answered, like every call after it, by the in-process counters ({@link Mode#OPEN}: each replica then
 * limits on its own) or refused with a {@link CountersUnavailableException} ({@link Mode#CLOSED}). Meanwhile Redis is
 * probed in the background (a PING every {@code probeEvery}, bounded by the Redis timeout); once it answers, calls go
 * back to Redis (one INFO line). Counts taken in process while degraded are not carried over to Redis.
 * <p>
 * A request is settled where it was acquired: the ids of requests acquired in process are remembered (until their
 * lease would end) so that their settle goes there, even once Redis is back.
 */
public final class FailoverCounters implements Counters {
    /** What to answer while Redis is unusable. */
    public enum Mode {
        /** The in-process counters answer. */
        OPEN,
        /** Every call fails with a {@link CountersUnavailableException}. */
        CLOSED
    }

    public static final Duration DEFAULT_PROBE_EVERY = Duration.ofSeconds(1);
    private static final Logger LOG = LoggerFactory.getLogger(FailoverCounters.class);
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

    private final Vertx vertx;
    private final RedisCounters redis;
    private final LocalCounters local;
    private final Mode mode;
    private final long probeEveryMillis;
    private final AtomicBoolean degraded = new AtomicBoolean();
    private final AtomicBoolean probing = new AtomicBoolean();
    /** Requests acquired in process: id to the end of their lease. */
    private final Map<String, Long> acquiredLocally = new ConcurrentHashMap<>();
    private volatile Instant degradedSince;
    private volatile long probeTimer = -1;
    private volatile boolean closed;

    /** {@link Mode#OPEN}, probing every second. */
    public FailoverCounters(Vertx vertx, RedisCounters redis, LocalCounters local) {
        this(vertx, redis, local, Mode.OPEN, DEFAULT_PROBE_EVERY);
    }

    public FailoverCounters(Vertx vertx, RedisCounters redis, LocalCounters local, Mode mode, Duration probeEvery) {
        this.vertx = vertx;
        this.redis = redis;
        this.local = local;
        this.mode = mode;
        this.probeEveryMillis = Math.max(1, probeEvery.toMillis());
    }

    /** Whether Redis is unusable (calls answered in process, or refused). */
    public boolean degraded() {
        return degraded.get();
    }

    /** For readiness: {@code redis 127.0.0.1:6379}, and since when it is degraded. */
    public String describe() {
        Instant since = degradedSince;
        String base = "redis " + redis.endpoint();
        if (!degraded.get() || since == null) {
            return base;
        }
        return base + " (degraded: " + (mode == Mode.OPEN ? "in-process counters" : "refusing") + " since "
                + TIME.format(since) + ")";
    }

    @Override
    public Future<Outcome> acquire(String requestId, List<Take> takes, long nowMillis) {
        if (degraded.get()) {
            return fallback(requestId, takes, nowMillis, null);
        }
        return redis.acquire(requestId, takes, nowMillis).recover(e -> {
            unusable(e);
            return fallback(requestId, takes, nowMillis, e);
        });
    }

    @Override
    public Future<Void> settle(String requestId, List<Take> takes, long[] corrections, long acquiredAtMillis) {
        if (acquiredLocally.remove(requestId) != null) {
            return local.settle(requestId, takes, corrections, acquiredAtMillis);
        }
        // acquired in Redis: settled there, or not at all (best effort)
        return redis.settle(requestId, takes, corrections, acquiredAtMillis).onFailure(this::unusable);
    }

    @Override
    public void close() {
        closed = true;
        long timer = probeTimer;
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
        redis.close();
        local.close();
    }

    // ------------------------------------------------------------------

    private Future<Outcome> fallback(String requestId, List<Take> takes, long nowMillis, Throwable cause) {
        if (mode == Mode.CLOSED) {
            return Future.failedFuture(new CountersUnavailableException("limit counters unavailable: redis "
                    + redis.endpoint() + " is unusable", cause));
        }
        return local.acquire(requestId, takes, nowMillis).onSuccess(outcome -> {
            if (outcome.admitted()) {
                forgetExpired(nowMillis);
                acquiredLocally.put(requestId, nowMillis + PARALLEL_LEASE_MILLIS);
            }
        });
    }

    /** Bounds the ids remembered: a request never settled is forgotten when its slot's lease would end. */
    private void forgetExpired(long nowMillis) {
        if (acquiredLocally.size() >= 1024) {
            acquiredLocally.values().removeIf(end -> end <= nowMillis);
        }
    }

    private void unusable(Throwable cause) {
        if (closed || !degraded.compareAndSet(false, true)) {
            return;
        }
        degradedSince = Instant.now();
        LOG.warn("Limit counters: redis {} unusable ({}); {} until it answers again (probed every {} ms)",
                redis.endpoint(), cause.toString(), mode == Mode.OPEN ? "each replica counts on its own"
                        : "requests with limits are refused", probeEveryMillis);
        probeTimer = vertx.setPeriodic(probeEveryMillis, id -> probe());
    }

    private void probe() {
        if (closed || !probing.compareAndSet(false, true)) {
            return;
        }
        redis.ping().onComplete(ar -> {
            probing.set(false);
            if (ar.succeeded() && !closed && degraded.get()) {
                vertx.cancelTimer(probeTimer);
                probeTimer = -1;
                Instant since = degradedSince;
                degraded.set(false);
                LOG.info("Limit counters: redis {} answers again; counting in Redis (degraded since {})",
                        redis.endpoint(), since == null ? "?" : TIME.format(since));
            }
        });
    }
}
