package dev.apirouter.limits;

import java.util.List;

import io.vertx.core.Future;

/**
 * Where the limit counters live: in this process ({@link LocalCounters}) or shared by every replica in Redis
 * ({@code RedisCounters}). Both implement exactly the same arithmetic, below, so a key is limited the same way by
 * one replica alone or by many sharing Redis.
 *
 * <p><b>Buckets.</b> A {@link Bucket} is one limit of one scope (a key, a key and a model, a model):
 * <ul>
 * <li>{@link Bucket.Kind#SLIDING_WINDOW} ({@code rpm}, {@code tpm}): a sliding-window counter. Time is cut into
 * windows of {@code windowMillis}; window {@code i = floor(now / windowMillis)} has its count {@code c(i)}. The
 * bucket's use at {@code now} is {@code c(i-1) * (1 - (now - i * windowMillis) / windowMillis) + c(i)}. A take of
 * {@code amount} is admitted when {@code use + amount <= limit}, and then adds {@code amount} to {@code c(i)}.</li>
 * <li>{@link Bucket.Kind#DAILY} ({@code tokensPerDay}): a fixed window per UTC day ({@code windowMillis} is a day);
 * admitted when {@code used + amount <= limit}.</li>
 * <li>{@link Bucket.Kind#CONCURRENCY} ({@code maxParallel}): the requests holding a slot, each by its request id, each
 * slot leased for {@link #PARALLEL_LEASE_MILLIS} at most (a replica that dies does not leak slots); admitted when
 * {@code held + 1 <= limit} (amount is 1).</li>
 * </ul>
 * <b>All or nothing.</b> {@link #acquire} checks every take first and adds them only when every one is admitted;
 * atomically (one Lua script in Redis; one lock per store in process).
 * <p>
 * <b>Settling.</b> Token takes are estimates; {@link #settle} adds {@code actual - estimate} (may be negative) to the
 * same window and day the take went to, and frees the request's concurrency slots. A request refused by
 * {@link #acquire} took nothing and is not settled.
 */
public interface Counters extends AutoCloseable {
    long PARALLEL_LEASE_MILLIS = 10 * 60_000L;

    /**
     * Checks and takes every one of {@code takes} at {@code nowMillis} (epoch milliseconds), or none. Never fails for
     * a refusal (that is an {@link Outcome} with {@code admitted == false}); fails only when the store cannot answer
     * (Redis down or too slow: the caller then decides).
     */
    Future<Outcome> acquire(String requestId, List<Take> takes, long nowMillis);

    /**
     * Corrects the token takes of an admitted request by {@code corrections} (same order as its takes; 0 for takes
     * that are not tokens) and frees its concurrency slots. Best effort: a failure is logged by the caller, never
     * retried.
     */
    Future<Void> settle(String requestId, List<Take> takes, long[] corrections, long acquiredAtMillis);

    @Override
    void close();

    /** One limit: its id (unique per scope and limit), kind, limit and window. */
    record Bucket(String id, Kind kind, long limit, long windowMillis) {
        public enum Kind {
            SLIDING_WINDOW, DAILY, CONCURRENCY
        }
    }

    /** Take {@code amount} from {@code bucket}. */
    record Take(Bucket bucket, long amount) {
    }

    /**
     * What {@link #acquire} found, per take in order: the state of each bucket after this request (when admitted) or
     * as it stands (when refused).
     *
     * @param refused the index of the first take refused, -1 when admitted
     */
    record Outcome(boolean admitted, int refused, List<State> states) {
    }

    /**
     * A bucket's state.
     *
     * @param remaining   what is left of the limit (0 at least)
     * @param resetMillis for a sliding window or a day: in how long the bucket is back to its full limit; for a refused
     *                    take: in how long the refused amount would be admitted (the {@code Retry-After}); for
     *                    concurrency: 0
     */
    record State(long remaining, long resetMillis) {
    }
}
