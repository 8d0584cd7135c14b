package dev.apirouter.limits;

import dev.apirouter.limits.Counters.Bucket;
import dev.apirouter.limits.Counters.Take;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LocalCountersTest extends CountersScenarios {
    private final LocalCounters counters = new LocalCounters();

    @Override
    Counters counters() {
        return counters;
    }

    @AfterEach
    void close() {
        counters.close();
    }

    @Test
    void windowsAndSlotsNoLongerNeededAreDropped() {
        for (int n = 0; n < 1000; n++) {
            Bucket rpm = bucket("rpm" + n, Bucket.Kind.SLIDING_WINDOW, 10, MINUTE);
            Bucket parallel = bucket("parallel" + n, Bucket.Kind.CONCURRENCY, 10, 0);
            assertTrue(acquire("r" + n, T0, new Take(rpm, 1), new Take(parallel, 1)).admitted());
        }
        assertEquals(2000, counters.size());
        // two windows later the counts are dropped; after the lease, the slots
        acquire("x", T0 + 2 * MINUTE);
        assertEquals(1000, counters.size());
        acquire("y", T0 + Counters.PARALLEL_LEASE_MILLIS);
        assertEquals(0, counters.size());
    }
}
