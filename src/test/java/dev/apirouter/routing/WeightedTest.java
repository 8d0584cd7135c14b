package dev.apirouter.routing;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import dev.apirouter.policy.Backend;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WeightedTest {
    private static final Backend A = new Backend("http://a:8000", 3);
    private static final Backend B = new Backend("http://b:8000", 1);

    @Test
    void ordersEveryBackendOnce() {
        Weighted weighted = new Weighted(new Random(1)::nextDouble);
        for (int i = 0; i < 100; i++) {
            List<Backend> order = weighted.order(List.of(A, B));
            assertEquals(2, order.size());
            assertTrue(order.containsAll(List.of(A, B)));
        }
    }

    @Test
    void firstChoiceFollowsTheWeights() {
        Weighted weighted = new Weighted(new Random(42)::nextDouble);
        Map<Backend, Integer> first = new HashMap<>();
        int draws = 20_000;
        for (int i = 0; i < draws; i++) {
            first.merge(weighted.order(List.of(A, B)).get(0), 1, Integer::sum);
        }
        double shareA = first.get(A) / (double) draws;
        assertEquals(0.75, shareA, 0.02, "weight 3 vs 1 should win first place ~75% of the time");
    }
}
