package dev.apirouter.routing;

import java.util.Arrays;
import java.util.List;

import dev.apirouter.policy.Backend;

/**
 * A consistent-hash ring of a model's backends: each backend owns points on a ring of 64-bit hashes, as many as its
 * weight allows ({@link #POINTS} for the heaviest), placed by hashing its URL, so the ring depends only on the
 * backend set. A key goes to the owner of the first point at or after its hash; removing a backend moves only the
 * keys it owned. Immutable; built once per backend list.
 */
final class HashRing {
    static final int POINTS = 160;

    private final List<Backend> backends;
    private final long[] points;
    private final int[] owners;

    HashRing(List<Backend> backends) {
        this.backends = backends;
        int maxWeight = backends.stream().mapToInt(Backend::weight).max().orElse(1);
        int total = 0;
        int[] counts = new int[backends.size()];
        for (int i = 0; i < counts.length; i++) {
            int w = backends.get(i).weight();
            counts[i] = w <= 0 ? 0 : Math.max(1, (int) Math.round((double) POINTS * w / maxWeight));
            total += counts[i];
        }
        long[][] pairs = new long[total][];
        int k = 0;
        for (int i = 0; i < counts.length; i++) {
            String url = backends.get(i).url();
            for (int p = 0; p < counts[i]; p++) {
                pairs[k++] = new long[] {Hashing.hash(url + "#" + p), i};
            }
        }
        // ties (none in practice) broken by the backend's index, so the order never depends on the sort
        Arrays.sort(pairs, (a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
        points = new long[total];
        owners = new int[total];
        for (int i = 0; i < total; i++) {
            points[i] = pairs[i][0];
            owners[i] = (int) pairs[i][1];
        }
    }

    List<Backend> backends() {
        return backends;
    }

    /**
     * The indexes (in {@link #backends()}) of every backend with points, in the order the ring meets them going
     * clockwise from {@code key}: the key's owner first.
     */
    int[] walk(long key) {
        int n = backends.size();
        int[] order = new int[n];
        boolean[] seen = new boolean[n];
        int found = 0;
        if (points.length == 0) {
            return new int[0];
        }
        int start = Arrays.binarySearch(points, key);
        if (start < 0) {
            start = -start - 1;
        }
        for (int step = 0; step < points.length && found < n; step++) {
            int owner = owners[(start + step) % points.length];
            if (!seen[owner]) {
                seen[owner] = true;
                order[found++] = owner;
            }
        }
        return found == n ? order : Arrays.copyOf(order, found);
    }
}
