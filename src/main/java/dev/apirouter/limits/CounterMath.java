package dev.apirouter.limits;

import dev.apirouter.limits.Counters.State;

/**
 * The arithmetic of {@link Counters}, written once: {@link LocalCounters} calls it, and {@code counters-acquire.lua}
 * (the script {@link RedisCounters} runs in Redis) is a line-by-line port of it. Change one, change the other.
 * <p>
 * Everything is integer arithmetic on the window's length {@code w} and the milliseconds {@code elapsed} since the
 * current window began (so {@code f = elapsed / w}): a sliding window's use {@code prev * (1 - f) + cur} times
 * {@code w} is {@code prev * (w - elapsed) + cur * w}, exact in Java's longs and in Lua's doubles (Redis runs Lua 5.1)
 * as long as {@code limit * w} stays below 2^53 (a limit of 10^11 tokens per minute, or 10^9 per day).
 */
final class CounterMath {
    static final int SLIDING = 1;
    static final int DAILY = 2;
    static final int CONCURRENCY = 3;

    private CounterMath() {
    }

    /** The Lua script's number for a kind. */
    static int code(Counters.Bucket.Kind kind) {
        return switch (kind) {
            case SLIDING_WINDOW -> SLIDING;
            case DAILY -> DAILY;
            case CONCURRENCY -> CONCURRENCY;
        };
    }

    /** The index of the window {@code now} falls in. */
    static long index(long now, long w) {
        return Math.floorDiv(now, w);
    }

    // ---- sliding window: prev = c(i-1), cur = c(i)

    /** Whether {@code prev * (1 - f) + cur + amount <= limit}. */
    static boolean slidingFits(long limit, long w, long elapsed, long prev, long cur, long amount) {
        return prev * (w - elapsed) + (cur + amount) * w <= limit * w;
    }

    /**
     * The state with these counts (after the take when admitted): {@code floor(limit - use)}, and in how long both
     * counts have left the sliding window (0 when both are 0).
     */
    static State sliding(long limit, long w, long elapsed, long prev, long cur) {
        long remaining = Math.max(0, Math.floorDiv(limit * w - prev * (w - elapsed) - cur * w, w));
        long reset = cur > 0 ? 2 * w - elapsed : prev > 0 ? w - elapsed : 0;
        return new State(remaining, reset);
    }

    /**
     * In how long a refused take of {@code amount} would be admitted (at least 1), or -1 if never (more than the
     * limit). Either later in this window, once enough of {@code prev} has slid out, or in the next window, once
     * enough of {@code cur} (then the previous window) has.
     */
    static long slidingRetry(long limit, long w, long elapsed, long prev, long cur, long amount) {
        if (amount > limit) {
            return -1;
        }
        long at; // milliseconds after the current window's start
        if (cur <= limit - amount) {
            // f >= 1 - (limit - amount - cur) / prev
            at = prev <= 0 ? elapsed : ceilDiv(w * (prev + cur + amount - limit), prev);
        } else {
            // window i+1 at f' >= 1 - (limit - amount) / cur
            at = w + ceilDiv(w * (cur + amount - limit), cur);
        }
        return Math.max(1, at - elapsed);
    }

    // ---- daily: used = c(day)

    static boolean dailyFits(long limit, long used, long amount) {
        return used + amount <= limit;
    }

    /** Remaining, and the time to the next window (the next UTC midnight for a day). */
    static State daily(long limit, long w, long elapsed, long used) {
        return new State(Math.max(0, limit - used), w - elapsed);
    }

    /** The next window, or -1 (never) when {@code amount} is more than the limit. */
    static long dailyRetry(long limit, long w, long elapsed, long amount) {
        return amount > limit ? -1 : w - elapsed;
    }

    // ---- concurrency: held = unexpired slots

    static boolean concurrencyFits(long limit, long held) {
        return held + 1 <= limit;
    }

    static State concurrency(long limit, long held) {
        return new State(Math.max(0, limit - held), 0);
    }

    /** {@code ceil(x / y)} for {@code y > 0} ({@code Math.ceilDiv} is Java 18). */
    static long ceilDiv(long x, long y) {
        return -Math.floorDiv(-x, y);
    }
}
