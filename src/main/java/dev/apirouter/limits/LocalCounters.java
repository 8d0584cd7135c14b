package dev.apirouter.limits;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import io.vertx.core.Future;

/**
 * The counters in this process: the limits of one replica alone, or the fallback of {@link FailoverCounters} while
 * Redis is unusable. Keyed exactly like Redis (a count per bucket and window index, a set of slots per concurrency
 * bucket) and computed by the same {@link CounterMath}, so the same calls give the same {@link Counters.State}s.
 * <p>
 * One lock for the whole store (a call is a few map operations, no I/O), taken from any Vert.x event loop; Futures
 * come back already completed. Memory stays bounded: counts no longer needed (a sliding window two windows old, a day
 * two days old, by the callers' clocks) and expired slots are swept on access, at most every
 * {@link #SWEEP_EVERY_MILLIS}.
 */
public final class LocalCounters implements Counters {
    static final long SWEEP_EVERY_MILLIS = 10_000;

    /** A count of a bucket's window (sliding or daily), dropped once {@code now >= dropAt}. */
    private static final class Count {
        long value;
        final long dropAt;

        Count(long dropAt) {
            this.dropAt = dropAt;
        }
    }

    private record Window(String bucket, long index) {
    }

    private final Map<Window, Count> counts = new HashMap<>();
    /** Per concurrency bucket: request id to lease expiry. */
    private final Map<String, Map<String, Long>> slots = new HashMap<>();
    private long nextSweep = Long.MIN_VALUE;

    @Override
    public Future<Outcome> acquire(String requestId, List<Take> takes, long nowMillis) {
        synchronized (this) {
            sweepIfDue(nowMillis);
            int n = takes.size();
            long[] prev = new long[n];
            long[] cur = new long[n];
            int refused = -1;
            boolean[] fits = new boolean[n];
            for (int t = 0; t < n; t++) {
                Take take = takes.get(t);
                Bucket b = take.bucket();
                switch (b.kind()) {
                    case SLIDING_WINDOW -> {
                        long i = CounterMath.index(nowMillis, b.windowMillis());
                        cur[t] = value(b.id(), i);
                        prev[t] = value(b.id(), i - 1);
                        fits[t] = CounterMath.slidingFits(b.limit(), b.windowMillis(), elapsed(nowMillis, b),
                                prev[t], cur[t], take.amount());
                    }
                    case DAILY -> {
                        cur[t] = value(b.id(), CounterMath.index(nowMillis, b.windowMillis()));
                        fits[t] = CounterMath.dailyFits(b.limit(), cur[t], take.amount());
                    }
                    case CONCURRENCY -> {
                        cur[t] = held(b.id(), nowMillis);
                        fits[t] = CounterMath.concurrencyFits(b.limit(), cur[t]);
                    }
                }
                if (!fits[t] && refused < 0) {
                    refused = t;
                }
            }
            boolean admitted = refused < 0;
            List<State> states = new ArrayList<>(n);
            for (int t = 0; t < n; t++) {
                Take take = takes.get(t);
                Bucket b = take.bucket();
                long w = b.windowMillis();
                long elapsed = b.kind() == Bucket.Kind.CONCURRENCY ? 0 : elapsed(nowMillis, b);
                if (admitted) {
                    cur[t] += take(requestId, take, nowMillis);
                }
                State state = switch (b.kind()) {
                    case SLIDING_WINDOW -> {
                        State s = CounterMath.sliding(b.limit(), w, elapsed, prev[t], cur[t]);
                        yield fits[t] ? s : new State(s.remaining(),
                                CounterMath.slidingRetry(b.limit(), w, elapsed, prev[t], cur[t], take.amount()));
                    }
                    case DAILY -> {
                        State s = CounterMath.daily(b.limit(), w, elapsed, cur[t]);
                        yield fits[t] ? s : new State(s.remaining(),
                                CounterMath.dailyRetry(b.limit(), w, elapsed, take.amount()));
                    }
                    case CONCURRENCY -> CounterMath.concurrency(b.limit(), cur[t]);
                };
                states.add(state);
            }
            return Future.succeededFuture(new Outcome(admitted, refused, List.copyOf(states)));
        }
    }

    @Override
    public Future<Void> settle(String requestId, List<Take> takes, long[] corrections, long acquiredAtMillis) {
        synchronized (this) {
            for (int t = 0; t < takes.size(); t++) {
                Bucket b = takes.get(t).bucket();
                if (b.kind() == Bucket.Kind.CONCURRENCY) {
                    Map<String, Long> held = slots.get(b.id());
                    if (held != null) {
                        held.remove(requestId);
                    }
                } else if (t < corrections.length && corrections[t] != 0) {
                    // the window the take went to; gone (expired) means no longer counted: nothing to correct
                    Count c = counts.get(new Window(b.id(), CounterMath.index(acquiredAtMillis, b.windowMillis())));
                    if (c != null) {
                        c.value = Math.max(0, c.value + corrections[t]);
                    }
                }
            }
        }
        return Future.succeededFuture();
    }

    @Override
    public void close() {
        synchronized (this) {
            counts.clear();
            slots.clear();
        }
    }

    /** How many counts and slots are kept (for tests of the memory bound). */
    synchronized int size() {
        return counts.size() + slots.values().stream().mapToInt(Map::size).sum();
    }

    // ------------------------------------------------------------------

    /** Adds the take; returns what it added to the count it is checked against. */
    private long take(String requestId, Take take, long now) {
        Bucket b = take.bucket();
        if (b.kind() == Bucket.Kind.CONCURRENCY) {
            Map<String, Long> held = slots.computeIfAbsent(b.id(), k -> new HashMap<>());
            return held.put(requestId, now + PARALLEL_LEASE_MILLIS) == null ? 1 : 0;
        }
        if (take.amount() == 0) {
            return 0;
        }
        long w = b.windowMillis();
        long i = CounterMath.index(now, w);
        // as Redis: a sliding window's count is needed until the end of the next window; a day's, likewise
        counts.computeIfAbsent(new Window(b.id(), i), k -> new Count((i + 2) * w)).value += take.amount();
        return take.amount();
    }

    private long value(String bucket, long index) {
        Count c = counts.get(new Window(bucket, index));
        return c == null ? 0 : c.value;
    }

    /** Unexpired slots of a concurrency bucket, dropping the expired ones. */
    private long held(String bucket, long now) {
        Map<String, Long> held = slots.get(bucket);
        if (held == null) {
            return 0;
        }
        held.values().removeIf(expiry -> expiry <= now);
        return held.size();
    }

    private static long elapsed(long now, Bucket b) {
        return now - CounterMath.index(now, b.windowMillis()) * b.windowMillis();
    }

    private void sweepIfDue(long now) {
        if (now < nextSweep) {
            return;
        }
        nextSweep = now + SWEEP_EVERY_MILLIS;
        counts.values().removeIf(c -> c.dropAt <= now);
        for (Iterator<Map<String, Long>> it = slots.values().iterator(); it.hasNext(); ) {
            Map<String, Long> held = it.next();
            held.values().removeIf(expiry -> expiry <= now);
            if (held.isEmpty()) {
                it.remove();
            }
        }
    }
}
