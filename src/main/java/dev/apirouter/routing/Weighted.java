package dev.apirouter.routing;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.DoubleSupplier;

import dev.apirouter.policy.Backend;

/**
 * {@code weighted}: a weighted random order of the available backends, without replacement: the first is drawn in
 * proportion to the weights, then the next among the rest, and so on.
 */
final class Weighted {
    private final DoubleSupplier random;

    Weighted(DoubleSupplier random) {
        this.random = random;
    }

    /** @param pool backends with a weight above 0 */
    List<Backend> order(List<Backend> pool) {
        if (pool.size() <= 1) {
            return pool;
        }
        // Efraimidis-Spirakis: sorting by u^(1/w) descending draws without replacement, proportionally to weight.
        List<Keyed> keyed = new ArrayList<>(pool.size());
        for (Backend b : pool) {
            double u = Math.max(random.getAsDouble(), Double.MIN_VALUE);
            keyed.add(new Keyed(b, Math.log(u) / b.weight()));
        }
        keyed.sort(Comparator.comparingDouble(Keyed::key).reversed());
        List<Backend> ordered = new ArrayList<>(keyed.size());
        keyed.forEach(k -> ordered.add(k.backend()));
        return ordered;
    }

    private record Keyed(Backend backend, double key) {
    }
}
