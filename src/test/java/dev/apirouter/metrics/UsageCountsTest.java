package dev.apirouter.metrics;

import java.time.Duration;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class UsageCountsTest {
    private static final long MINUTE = 60_000;
    private static final long HOUR = 60 * MINUTE;
    private static final long T0 = 1_000 * HOUR; // on a whole hour

    @Test
    void windowsCountWholeMinutesThenWholeHours() {
        UsageCounts c = new UsageCounts();
        c.add(T0 + 5 * MINUTE, new long[] {1, 0, 10, 20});
        c.add(T0 + 50 * MINUTE, new long[] {1, 1, 1, 2});
        c.add(T0 + 59 * MINUTE, new long[] {1, 0, 0, 0});
        long now = T0 + 59 * MINUTE + 30_000;
        assertArrayEquals(new long[] {1, 0, 0, 0}, c.within(now, Duration.ofMinutes(1)));
        assertArrayEquals(new long[] {2, 1, 1, 2}, c.within(now, Duration.ofMinutes(10)));
        assertArrayEquals(new long[] {3, 1, 11, 22}, c.within(now, Duration.ofMinutes(60)));
        assertArrayEquals(new long[] {3, 1, 11, 22}, c.within(now, Duration.ofHours(2)));
        assertArrayEquals(new long[] {3, 1, 11, 22}, c.total());
        assertEquals(T0 + 59 * MINUTE, c.lastUsedMs());
    }

    @Test
    void oldSlotsAreForgottenAndReused() {
        UsageCounts c = new UsageCounts();
        c.add(T0, new long[] {5, 0, 0, 0});
        long dayLater = T0 + 25 * HOUR;
        assertArrayEquals(new long[] {0, 0, 0, 0}, c.within(dayLater, Duration.ofHours(24)));
        c.add(dayLater, new long[] {1, 0, 0, 0}); // the slot of T0's minute and hour come round again
        assertArrayEquals(new long[] {1, 0, 0, 0}, c.within(dayLater, Duration.ofMinutes(60)));
        assertArrayEquals(new long[] {1, 0, 0, 0}, c.within(dayLater, Duration.ofHours(24)));
        assertArrayEquals(new long[] {6, 0, 0, 0}, c.total());
        assertArrayEquals(new long[] {1, 0, 0, 0}, c.within(dayLater, Duration.ofDays(30)), "at most 24 h");
    }
}
