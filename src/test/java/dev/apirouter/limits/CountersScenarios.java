package dev.apirouter.limits;

import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import dev.apirouter.limits.Counters.Bucket;
import dev.apirouter.limits.Counters.Outcome;
import dev.apirouter.limits.Counters.State;
import dev.apirouter.limits.Counters.Take;
import io.vertx.core.Future;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The arithmetic of {@link Counters} with a controlled clock, run against {@link LocalCounters} and against
 * {@link RedisCounters} on a real Redis: both must give exactly the same outcomes and states.
 */
abstract class CountersScenarios {
    static final long MINUTE = 60_000;
    static final long DAY = 86_400_000;
    /** The start of a minute and of a UTC day. */
    static final long T0 = Math.floorDiv(1_700_000_000_000L, DAY) * DAY;

    /** Unique per test: a Redis is shared by the tests of a class. */
    private final String run = UUID.randomUUID().toString().substring(0, 8);

    abstract Counters counters();

    Bucket bucket(String name, Bucket.Kind kind, long limit, long window) {
        return new Bucket(run + "/" + name, kind, limit, window);
    }

    Outcome acquire(String requestId, long now, Take... takes) {
        return await(counters().acquire(requestId, List.of(takes), now));
    }

    void settle(String requestId, long acquiredAt, long[] corrections, Take... takes) {
        await(counters().settle(requestId, List.of(takes), corrections, acquiredAt));
    }

    static <T> T await(Future<T> future) {
        try {
            return future.toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError("the counters did not answer: " + e, e);
        }
    }

    @Test
    void aSlidingWindowAdmitsExactlyItsLimit() {
        Bucket rpm = bucket("rpm", Bucket.Kind.SLIDING_WINDOW, 5, MINUTE);
        for (int n = 1; n <= 5; n++) {
            Outcome o = acquire("r" + n, T0 + 1000 * n, new Take(rpm, 1));
            assertTrue(o.admitted(), "take " + n);
            // back to full once this window has slid out: the end of the next window
            assertEquals(new State(5 - n, 2 * MINUTE - 1000 * n), o.states().get(0));
        }
        Outcome refused = acquire("r6", T0 + 6000, new Take(rpm, 1));
        assertFalse(refused.admitted());
        assertEquals(0, refused.refused());
        // admitted in the next window once 1/5 of the 5 has slid out: at 12 s into it
        assertEquals(new State(0, MINUTE + 12_000 - 6000), refused.states().get(0));
        assertFalse(acquire("r7", T0 + MINUTE + 11_999, new Take(rpm, 1)).admitted());
        assertTrue(acquire("r8", T0 + MINUTE + 12_000, new Take(rpm, 1)).admitted());
    }

    @Test
    void theLastWindowCountsByTheShareOfItStillInTheSlidingWindow() {
        Bucket tpm = bucket("tpm", Bucket.Kind.SLIDING_WINDOW, 10, MINUTE);
        assertTrue(acquire("a", T0 + 59_000, new Take(tpm, 10)).admitted());
        // halfway through the next window, half of the last one's 10 still counts
        long half = T0 + MINUTE + 30_000;
        Outcome o = acquire("b", half, new Take(tpm, 5));
        assertTrue(o.admitted());
        assertEquals(new State(0, 2 * MINUTE - 30_000), o.states().get(0));
        Outcome refused = acquire("c", half, new Take(tpm, 1));
        assertFalse(refused.admitted());
        // 10 * (1 - f) + 5 + 1 <= 10 from f = 0.6: 6 s later
        assertEquals(new State(0, 6000), refused.states().get(0));
        assertTrue(acquire("d", half + 6000, new Take(tpm, 1)).admitted());
    }

    @Test
    void anAcquireTakesAllOrNothing() {
        Bucket big = bucket("big", Bucket.Kind.SLIDING_WINDOW, 10, MINUTE);
        Bucket small = bucket("small", Bucket.Kind.DAILY, 2, DAY);
        Outcome o = acquire("r1", T0, new Take(big, 3), new Take(small, 3));
        assertFalse(o.admitted());
        assertEquals(1, o.refused());
        // as they stand: nothing taken from either
        assertEquals(new State(10, 0), o.states().get(0));
        assertEquals(new State(2, -1), o.states().get(1));
        Outcome full = acquire("r2", T0 + 1, new Take(big, 10), new Take(small, 2));
        assertTrue(full.admitted());
        assertEquals(-1, full.refused());
        assertEquals(List.of(new State(0, 2 * MINUTE - 1), new State(0, DAY - 1)), full.states());
    }

    @Test
    void aDayResetsAtUtcMidnight() {
        Bucket day = bucket("tokens-per-day", Bucket.Kind.DAILY, 100, DAY);
        long noon = T0 + DAY / 2;
        assertEquals(new State(40, DAY / 2), acquire("a", noon, new Take(day, 60)).states().get(0));
        Outcome refused = acquire("b", noon + 1, new Take(day, 50));
        assertFalse(refused.admitted());
        assertEquals(new State(40, DAY / 2 - 1), refused.states().get(0));
        assertEquals(new State(40, -1), acquire("c", noon + 2, new Take(day, 101)).states().get(0));
        Outcome tomorrow = acquire("d", T0 + DAY, new Take(day, 100));
        assertTrue(tomorrow.admitted());
        assertEquals(new State(0, DAY), tomorrow.states().get(0));
    }

    @Test
    void concurrencySlotsAreHeldUntilSettledOrTheirLeaseEnds() {
        Bucket parallel = bucket("parallel", Bucket.Kind.CONCURRENCY, 2, 0);
        Take slot = new Take(parallel, 1);
        assertEquals(new State(1, 0), acquire("r1", T0, slot).states().get(0));
        assertEquals(new State(0, 0), acquire("r2", T0 + 1, slot).states().get(0));
        Outcome refused = acquire("r3", T0 + 2, slot);
        assertFalse(refused.admitted());
        assertEquals(new State(0, 0), refused.states().get(0));
        settle("r1", T0, new long[] {0}, slot);
        assertTrue(acquire("r3", T0 + 3, slot).admitted());
        // r2 and r3 still hold theirs until their leases end
        assertFalse(acquire("r4", T0 + Counters.PARALLEL_LEASE_MILLIS, slot).admitted());
        long later = T0 + 3 + Counters.PARALLEL_LEASE_MILLIS;
        assertEquals(new State(1, 0), acquire("r4", later, slot).states().get(0));
        assertEquals(new State(0, 0), acquire("r5", later, slot).states().get(0));
    }

    @Test
    void settlingCorrectsTheWindowAndTheDayOfTheTake() {
        Bucket tpm = bucket("tpm", Bucket.Kind.SLIDING_WINDOW, 100, MINUTE);
        Bucket day = bucket("day", Bucket.Kind.DAILY, 1000, DAY);
        Bucket parallel = bucket("parallel", Bucket.Kind.CONCURRENCY, 1, 0);
        Take[] takes = {new Take(tpm, 50), new Take(day, 50), new Take(parallel, 1)};
        assertTrue(acquire("r1", T0 + 10, takes).admitted());
        // used 20 instead of the 50 estimated; and frees the slot
        settle("r1", T0 + 10, new long[] {-30, -30, 0}, takes);
        Outcome o = acquire("r2", T0 + 20, new Take(tpm, 0), new Take(day, 0), new Take(parallel, 1));
        assertEquals(List.of(new State(80, 2 * MINUTE - 20), new State(980, DAY - 20), new State(0, 0)),
                o.states());
        // used 90 instead of 50
        settle("r2", T0 + 20, new long[] {40, 40, 0}, new Take(tpm, 0), new Take(day, 0), new Take(parallel, 1));
        assertEquals(List.of(new State(40, 2 * MINUTE - 30), new State(940, DAY - 30)),
                acquire("r3", T0 + 30, new Take(tpm, 0), new Take(day, 0)).states());
        // never below 0
        settle("r1", T0 + 10, new long[] {-1000, -1000}, new Take(tpm, 0), new Take(day, 0));
        assertEquals(List.of(new State(100, 0), new State(1000, DAY - 40)),
                acquire("r4", T0 + 40, new Take(tpm, 0), new Take(day, 0)).states());
    }

    @Test
    void resetAndRetryTimes() {
        Bucket rpm = bucket("rpm", Bucket.Kind.SLIDING_WINDOW, 10, MINUTE);
        assertEquals(new State(9, 2 * MINUTE - 1000), acquire("a", T0 + 1000, new Take(rpm, 1)).states().get(0));
        // next window: only the last one's count remains, back to full at this window's end
        assertEquals(new State(9, MINUTE - 500), acquire("b", T0 + MINUTE + 500, new Take(rpm, 0)).states().get(0));
        // two windows later: nothing counts any more
        assertEquals(new State(10, 0), acquire("c", T0 + 2 * MINUTE, new Take(rpm, 0)).states().get(0));
        // more than the limit is never admitted
        Outcome never = acquire("d", T0 + 2 * MINUTE, new Take(rpm, 11));
        assertFalse(never.admitted());
        assertEquals(new State(10, -1), never.states().get(0));
    }
}
