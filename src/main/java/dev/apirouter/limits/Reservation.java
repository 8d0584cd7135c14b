package dev.apirouter.limits;

import java.util.List;

/**
 * What an admitted request took from its limits, to settle when it ends: the takes (in the order the counters got
 * them), which of them are token takes, and when they were taken.
 *
 * @param tokenTakes for each take, whether it counts tokens (its estimate is corrected by the real usage)
 */
public record Reservation(String requestId, List<Counters.Take> takes, boolean[] tokenTakes, long estimate,
                          long acquiredAtMillis) {
    /** Nothing taken: a key and model without limits. */
    public static final Reservation NONE = new Reservation("", List.of(), new boolean[0], 0, 0);

    public boolean isEmpty() {
        return takes.isEmpty();
    }
}
