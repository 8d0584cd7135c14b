package dev.apirouter.routing;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.DoubleSupplier;

import dev.apirouter.fleet.Fleet;
import dev.apirouter.policy.Backend;

/**
 * {@code least-load}: the backends by load per unit of weight, lowest first (weights act as capacity). A backend's
 * load is what it holds ({@link Fleet#load}: running and waiting, or this gateway's in-flight count) plus its waiting
 * queue once more, as queued requests add their whole wait to time-to-first-token. Ties are broken at random, so
 * equal backends share the load instead of the first taking it all.
 */
final class LeastLoad {
    private final Fleet fleet;
    private final DoubleSupplier random;

    LeastLoad(Fleet fleet, DoubleSupplier random) {
        this.fleet = fleet;
        this.random = random;
    }

    List<Backend> order(List<Backend> pool) {
        int n = pool.size();
        Scored[] scored = new Scored[n];
        for (int i = 0; i < n; i++) {
            Backend b = pool.get(i);
            scored[i] = new Scored(b, score(b), random.getAsDouble());
        }
        Arrays.sort(scored, (a, b) -> a.score != b.score ? Double.compare(a.score, b.score)
                : Double.compare(a.tie, b.tie));
        List<Backend> ordered = new ArrayList<>(n);
        for (Scored s : scored) {
            ordered.add(s.backend);
        }
        return ordered;
    }

    double score(Backend backend) {
        return (fleet.load(backend) + fleet.waiting(backend)) / backend.weight();
    }

    private record Scored(Backend backend, double score, double tie) {
    }
}
