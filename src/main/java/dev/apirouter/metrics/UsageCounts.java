package dev.apirouter.metrics;

import java.time.Duration;

/**
 * One key name's use of one model: requests, requests refused by a limit, input and output tokens — in total since
 * the process started, per minute for the last hour and per clock hour for the last day — and when it was last used.
 * Two fixed rings (60 + 24 slots), so the memory is bounded whatever the traffic; a slot is reused when its minute or
 * hour comes round again. One lock per key and model: a request adds once, at its end.
 */
final class UsageCounts {
    static final int REQUESTS = 0;
    static final int LIMITED = 1;
    static final int INPUT = 2;
    static final int OUTPUT = 3;
    static final int FIELDS = 4;
    static final Duration LONGEST = Duration.ofHours(24);
    private static final long MINUTE = 60_000;
    private static final long HOUR = 3_600_000;

    private final Ring minutes = new Ring(60, MINUTE);
    private final Ring hours = new Ring(24, HOUR);
    private final long[] total = new long[FIELDS];
    private long lastUsedMs;

    /** Adds one request's counts ({@code values} in field order) at {@code nowMs}. */
    synchronized void add(long nowMs, long[] values) {
        minutes.add(nowMs, values);
        hours.add(nowMs, values);
        for (int i = 0; i < FIELDS; i++) {
            total[i] += values[i];
        }
        lastUsedMs = Math.max(lastUsedMs, nowMs);
    }

    /**
     * The counts of the last {@code window} before {@code nowMs}: whole minutes up to an hour (the current minute
     * included), whole clock hours beyond (the current hour included), at most {@link #LONGEST}.
     */
    synchronized long[] within(long nowMs, Duration window) {
        long ms = Math.min(window.toMillis(), LONGEST.toMillis());
        return ms <= HOUR ? minutes.sum(nowMs, (ms + MINUTE - 1) / MINUTE)
                : hours.sum(nowMs, (ms + HOUR - 1) / HOUR);
    }

    synchronized long[] total() {
        return total.clone();
    }

    /** Epoch milliseconds of the last request, 0 for none. */
    synchronized long lastUsedMs() {
        return lastUsedMs;
    }

    /** Slots of {@code width} ms, each remembering which period it holds. */
    private static final class Ring {
        private final long width;
        private final long[] period;
        private final long[][] counts;

        Ring(int slots, long width) {
            this.width = width;
            this.period = new long[slots];
            this.counts = new long[slots][FIELDS];
            java.util.Arrays.fill(period, -1);
        }

        void add(long nowMs, long[] values) {
            long p = nowMs / width;
            int slot = (int) (p % period.length);
            if (period[slot] != p) {
                period[slot] = p;
                java.util.Arrays.fill(counts[slot], 0);
            }
            for (int i = 0; i < FIELDS; i++) {
                counts[slot][i] += values[i];
            }
        }

        /** The last {@code periods} periods up to the one holding {@code nowMs}. */
        long[] sum(long nowMs, long periods) {
            long newest = nowMs / width;
            long oldest = newest - Math.min(periods, period.length) + 1;
            long[] sum = new long[FIELDS];
            for (int slot = 0; slot < period.length; slot++) {
                if (period[slot] >= oldest && period[slot] <= newest) {
                    for (int i = 0; i < FIELDS; i++) {
                        sum[i] += counts[slot][i];
                    }
                }
            }
            return sum;
        }
    }
}
