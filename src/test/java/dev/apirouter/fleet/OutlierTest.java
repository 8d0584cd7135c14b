package dev.apirouter.fleet;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OutlierTest {
    private static final long S = 1_000_000_000L;
    private final Outlier outlier = new Outlier(new Outlier.Rules(3, Duration.ofSeconds(5), Duration.ofSeconds(30)));

    @Test
    void consecutiveFailuresEjectAndASuccessInBetweenResetsTheCount() {
        assertFalse(outlier.failed(0));
        assertFalse(outlier.failed(0));
        outlier.succeeded(0);
        assertFalse(outlier.failed(0));
        assertFalse(outlier.failed(0));
        assertTrue(outlier.failed(0), "the third consecutive failure ejects");
        assertEquals(Outlier.State.EJECTED, outlier.state(1 * S));
        assertFalse(outlier.admits(4 * S));
        assertEquals(1, outlier.totalEjections());
    }

    @Test
    void halfOpenLetsOneTrialThroughAndASuccessReadmits() {
        ejectAt(0);
        assertEquals(Outlier.State.HALF_OPEN, outlier.state(5 * S));
        assertTrue(outlier.admits(5 * S));
        outlier.started(5 * S);
        assertFalse(outlier.admits(5 * S), "one trial at a time");
        assertTrue(outlier.succeeded(6 * S));
        assertEquals(Outlier.State.SERVING, outlier.state(6 * S));
        assertTrue(outlier.admits(6 * S));
    }

    @Test
    void aFailedTrialEjectsAgainForTwiceAsLongUpToTheMaximum() {
        ejectAt(0);
        outlier.started(5 * S);
        assertTrue(outlier.failed(5 * S));
        assertEquals(10 * S, outlier.remainingNanos(5 * S));
        outlier.started(15 * S);
        assertTrue(outlier.failed(15 * S));
        assertEquals(20 * S, outlier.remainingNanos(15 * S));
        outlier.started(35 * S);
        assertTrue(outlier.failed(35 * S));
        assertEquals(30 * S, outlier.remainingNanos(35 * S), "capped at the maximum");
    }

    @Test
    void anAbandonedTrialFreesTheHalfOpenSlot() {
        ejectAt(0);
        outlier.started(5 * S);
        outlier.abandoned();
        assertTrue(outlier.admits(5 * S));
    }

    @Test
    void answersToRequestsSentBeforeTheEjectionDoNotExtendIt() {
        ejectAt(0);
        assertFalse(outlier.failed(1 * S));
        assertEquals(4 * S, outlier.remainingNanos(1 * S));
    }

    @Test
    void zeroFailuresTurnsEjectionOff() {
        Outlier off = new Outlier(new Outlier.Rules(0, Duration.ofSeconds(5), Duration.ofSeconds(30)));
        for (int i = 0; i < 100; i++) {
            assertFalse(off.failed(0));
        }
        assertTrue(off.admits(0));
    }

    private void ejectAt(long now) {
        outlier.failed(now);
        outlier.failed(now);
        assertTrue(outlier.failed(now));
    }
}
