package dev.apirouter.routing;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import dev.apirouter.policy.Backend;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackendSelectorTest {
    private static final Backend A = new Backend("http://a:8000", 3);
    private static final Backend B = new Backend("http://b:8000", 1);
    private static final Backend DRAINED = new Backend("http://c:8000", 0);

    @Test
    void ordersEveryEligibleBackendOnceAndSkipsDrainedOnes() {
        BackendSelector selector = new BackendSelector(new Random(1)::nextDouble);
        for (int i = 0; i < 100; i++) {
            List<Backend> order = selector.order(List.of(A, B, DRAINED), b -> true);
            assertEquals(2, order.size());
            assertTrue(order.containsAll(List.of(A, B)));
        }
    }

    @Test
    void firstChoiceFollowsTheWeights() {
        BackendSelector selector = new BackendSelector(new Random(42)::nextDouble);
        Map<Backend, Integer> first = new HashMap<>();
        int draws = 20_000;
        for (int i = 0; i < draws; i++) {
            first.merge(selector.order(List.of(A, B), b -> true).get(0), 1, Integer::sum);
        }
        double shareA = first.get(A) / (double) draws;
        assertEquals(0.75, shareA, 0.02, "weight 3 vs 1 should win first place ~75% of the time");
    }

    @Test
    void unhealthyBackendsAreSkippedUnlessNoneIsHealthy() {
        BackendSelector selector = new BackendSelector(new Random(7)::nextDouble);
        assertEquals(List.of(B), selector.order(List.of(A, B), b -> b != A));
        assertEquals(2, selector.order(List.of(A, B), b -> false).size());
    }

    @Test
    void aSingleBackendIsTriedEvenUnhealthyButNeverDrained() {
        BackendSelector selector = new BackendSelector(new Random(7)::nextDouble);
        assertEquals(List.of(A), selector.order(List.of(A), b -> false));
        assertEquals(List.of(), selector.order(List.of(DRAINED), b -> true));
    }
}
