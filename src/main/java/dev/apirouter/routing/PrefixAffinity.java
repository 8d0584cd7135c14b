package dev.apirouter.routing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import dev.apirouter.fleet.Fleet;
import dev.apirouter.policy.Backend;

/**
 * {@code prefix-affinity}: consistent hashing with bounded load (Mirrokni, Thorup and Zadimoghaddam). The affinity
 * key picks a point on the ring of the model's backends; going clockwise from it, the first available backend whose
 * load, with this request, stays within its capacity takes the request. A backend's capacity is {@code loadFactor}
 * times its weight's share of the total load (this request included), rounded up, plus {@link #SLACK}: the slack
 * keeps a conversation on its backend while loads differ by a request or two (a vLLM server runs many requests
 * at once; one more costs far less than prefilling the prompt again elsewhere), and the factor still spreads a hot
 * key before it queues. So the same key reaches the same backend — the one whose prefix cache holds its prompt —
 * while that backend is not overloaded, and spills to the next one on the ring (always the same next one) when it
 * is. The rest of the ring's order gives the candidates to retry.
 */
final class PrefixAffinity {
    static final int SLACK = 1;
    private static final int MAX_RINGS = 256;

    private final Fleet fleet;
    private final Map<List<Backend>, HashRing> rings = new ConcurrentHashMap<>();

    PrefixAffinity(Fleet fleet) {
        this.fleet = fleet;
    }

    /**
     * @param all  the model's backends (the ring is built from them, so it does not move when one is unavailable)
     * @param pool the available ones, a subset of {@code all}
     */
    Decision order(List<Backend> all, List<Backend> pool, long key, double loadFactor) {
        HashRing ring = ring(all);
        int[] walk = ring.walk(key);
        int n = pool.size();
        double[] loads = new double[n];
        double total = 0;
        double weights = 0;
        for (int i = 0; i < n; i++) {
            loads[i] = fleet.load(pool.get(i));
            total += loads[i];
            weights += pool.get(i).weight();
        }
        List<Backend> ordered = new ArrayList<>(n);
        int chosen = -1;
        boolean firstOnRing = true;
        Reason reason = Reason.AFFINITY;
        for (int index : walk) {
            Backend b = ring.backends().get(index);
            int p = pool.indexOf(b);
            if (p < 0) {
                continue; // not available: the next one on the ring stands in, as for every key it owned
            }
            ordered.add(b);
            if (chosen < 0) {
                double capacity = Math.ceil(loadFactor * (total + 1) * b.weight() / weights) + SLACK;
                if (loads[p] + 1 <= capacity) {
                    chosen = ordered.size() - 1;
                    reason = firstOnRing ? Reason.AFFINITY : Reason.SPILLED;
                }
                firstOnRing = false;
            }
        }
        if (chosen > 0) {
            ordered.add(0, ordered.remove(chosen));
        }
        return new Decision(ordered, chosen < 0 ? Reason.SPILLED : reason);
    }

    private HashRing ring(List<Backend> all) {
        HashRing ring = rings.get(all);
        if (ring == null) {
            if (rings.size() >= MAX_RINGS) {
                rings.clear(); // policies changed a lot; the ones in use come back at once
            }
            ring = rings.computeIfAbsent(all, HashRing::new);
        }
        return ring;
    }
}
