package dev.apirouter.limits;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import dev.apirouter.policy.Backend;
import dev.apirouter.policy.KeyLimits;
import dev.apirouter.policy.KeyRecord;
import dev.apirouter.policy.Limits;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.Routing;
import dev.apirouter.policy.Timeouts;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LimiterTest {
    private static final long T0 = 1_800_000_000_000L; // a minute boundary
    private final AtomicLong now = new AtomicLong(T0);
    private final Limiter limiter = new Limiter(new LocalCounters(), now::get);

    private static ModelPolicy model(String name, Limits limits) {
        return new ModelPolicy(name, Optional.empty(), List.of(new Backend("http://b:1", 1)), Timeouts.DEFAULTS,
                Routing.DEFAULTS, List.of(), limits);
    }

    private static KeyRecord key(Limits all, Map<String, Limits> perModel) {
        return new KeyRecord("team", Set.of("*"), false, Optional.empty(), Optional.of(new KeyLimits(all, perModel)));
    }

    private Verdict admit(KeyRecord key, ModelPolicy model, long tokens) {
        return limiter.admit("r" + now.incrementAndGet(), key, model, tokens).result();
    }

    @Test
    void aKeyAndModelWithoutLimitsTouchNoCounter() {
        KeyRecord free = new KeyRecord("free", Set.of("*"), false, Optional.empty());
        ModelPolicy m = model("m", Limits.NONE);
        assertFalse(Limiter.applies(free, m));
        assertSame(Verdict.UNLIMITED, admit(free, m, 10));
    }

    @Test
    void theTightestLimitsGiveTheHeadersAndTheFirstFullOneRefuses() {
        KeyRecord k = key(new Limits(10, 1000, 0, 0), Map.of("m", new Limits(2, 0, 0, 0)));
        ModelPolicy m = model("m", Limits.NONE);
        Verdict first = admit(k, m, 100);
        assertTrue(first.admitted());
        assertEquals("2", first.headers().get("x-ratelimit-limit-requests"), "the key's limit on this model is tighter");
        assertEquals("1", first.headers().get("x-ratelimit-remaining-requests"));
        assertEquals("1000", first.headers().get("x-ratelimit-limit-tokens"));
        assertEquals("900", first.headers().get("x-ratelimit-remaining-tokens"));
        assertTrue(admit(k, m, 100).admitted());
        Verdict third = admit(k, m, 100);
        assertFalse(third.admitted());
        assertEquals("rpm", third.refusedLimit());
        assertEquals("key:team:model:m", third.scope());
        assertTrue(third.retryAfterMillis() > 0);
        assertTrue(admit(k, model("other", Limits.NONE), 100).admitted(), "another model is not capped at 2");
    }

    @Test
    void settlingCorrectsTheEstimateAndFreesTheParallelSlot() {
        KeyRecord k = key(new Limits(0, 100, 1, 0), Map.of());
        ModelPolicy m = model("m", Limits.NONE);
        Verdict first = admit(k, m, 60);
        assertTrue(first.admitted());
        Verdict busy = admit(k, m, 10);
        assertEquals("maxParallel", busy.refusedLimit());
        assertEquals(Limiter.PARALLEL_RETRY_MILLIS, busy.retryAfterMillis());
        limiter.settle(first.reservation(), 20);
        Verdict second = admit(k, m, 60);
        assertTrue(second.admitted(), "20 used + 60 fits in 100 once the first is settled to 20");
        assertEquals("20", second.headers().get("x-ratelimit-remaining-tokens"));
    }

    @Test
    void aModelWideLimitAndTheDailyQuota() {
        KeyRecord free = new KeyRecord("free", Set.of("*"), false, Optional.empty());
        ModelPolicy capped = model("capped", new Limits(0, 0, 0, 50));
        assertTrue(admit(free, capped, 30).admitted());
        Verdict over = admit(free, capped, 30);
        assertTrue(over.quotaExhausted());
        assertEquals("model:capped", over.scope());
        assertEquals(-1, admit(free, capped, 60).retryAfterMillis(), "more than the quota at all: never");
    }

    @Test
    void resetsAreWrittenAsOpenAiDoes() {
        assertEquals("0s", Limiter.duration(0));
        assertEquals("20ms", Limiter.duration(20));
        assertEquals("1s", Limiter.duration(1000));
        assertEquals("2s", Limiter.duration(1001));
        assertEquals("6m0s", Limiter.duration(360_000));
        assertEquals("1h0m1s", Limiter.duration(3_601_000));
    }
}
