package dev.apirouter.routing;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.DoubleSupplier;
import java.util.function.Predicate;

import dev.apirouter.policy.Backend;

/**
 * Chooses the order in which a request tries a model's backends: a weighted random order without replacement
 * (weight 0 = drained, never chosen), healthy backends only unless none of them is healthy.
 */
public final class BackendSelector {
    private final DoubleSupplier random;

    public BackendSelector(DoubleSupplier random) {
        this.random = random;
    }

    public List<Backend> order(List<Backend> backends, Predicate<Backend> healthy) {
        if (backends.size() == 1) { // the common case, on every request: no copies
            Backend only = backends.get(0);
            return only.weight() > 0 ? backends : List.of();
        }
        List<Backend> eligible = new ArrayList<>(backends.size());
        List<Backend> healthyOnes = new ArrayList<>(backends.size());
        for (Backend b : backends) {
            if (b.weight() > 0) {
                eligible.add(b);
                if (healthy.test(b)) {
                    healthyOnes.add(b);
                }
            }
        }
        List<Backend> pool = healthyOnes.isEmpty() ? eligible : healthyOnes;
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
