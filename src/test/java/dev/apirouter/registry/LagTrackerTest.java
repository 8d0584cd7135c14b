package dev.apirouter.registry;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LagTrackerTest {
    static final long S = 1_000_000_000L;

    @Test
    void laggingOnlyWhenTheRevisionEtcdHadIsNotReachedWithinTheWindow() {
        LagTracker t = new LagTracker(1, Duration.ofSeconds(10));
        t.etcdAt(100, 100, 0);
        assertFalse(t.lag(100, 0).lagging());
        t.etcdAt(105, 100, S);                       // 5 behind: the lag starts
        assertFalse(t.lag(100, 10 * S).lagging());   // not longer than the window yet
        assertTrue(t.lag(100, 12 * S).lagging());
        assertEquals(5, t.lag(100, 12 * S).behind());
        assertFalse(t.lag(104, 12 * S).lagging(), "within the bound of the revision etcd had: caught up");
    }

    @Test
    void aStreamOfChangesFollowedCloselyNeverLags() {
        LagTracker t = new LagTracker(0, Duration.ofSeconds(2));
        long watched = 0;
        for (int i = 1; i <= 100; i++) {
            t.etcdAt(i * 10L, watched, i * S / 2);     // etcd always a little ahead when sampled ...
            assertFalse(t.lag(watched, i * S / 2).lagging());
            watched = i * 10L;                       // ... and the watch catches up before the next sample
        }
    }

    @Test
    void etcdGoingBackInTimeStartsOver() {
        LagTracker t = new LagTracker(0, Duration.ofSeconds(1));
        t.etcdAt(50, 10, 0);
        assertTrue(t.lag(10, 2 * S).lagging());
        t.etcdAt(5, 10, 3 * S);
        assertFalse(t.lag(10, 10 * S).lagging());
        assertEquals(0, t.lag(10, 10 * S).behind());
    }
}
