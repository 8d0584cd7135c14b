package dev.apirouter.policy;

import java.time.Duration;
import java.util.Locale;
import java.util.Optional;

/**
 * How a model's requests are spread over its backends ({@code "routing"} in the model policy).
 *
 * @param strategy       how the first backend is chosen
 * @param affinityHeader the request header whose value is the affinity key ({@code prefix-affinity}), lower case
 * @param prefixBytes    how many bytes of the prompt's beginning make the affinity key when neither the header nor
 *                       {@code user} is given
 * @param loadFactor     bounded load: a backend whose load is above this factor times the mean is skipped for the
 *                       next one on the ring
 * @param attempts       backends tried at most for one request when they answer {@code 429}/{@code 503} (refused
 *                       connections do not count: every candidate is tried)
 * @param retryBackoff   wait before the next attempt after a {@code 429}/{@code 503}, jittered (50% to 150%)
 */
public record Routing(Strategy strategy, String affinityHeader, int prefixBytes, double loadFactor, int attempts,
                      Duration retryBackoff) {
    public static final String DEFAULT_AFFINITY_HEADER = "x-session-id";
    public static final int DEFAULT_PREFIX_BYTES = 2048;
    public static final double DEFAULT_LOAD_FACTOR = 1.25;
    public static final int DEFAULT_ATTEMPTS = 3;
    public static final Duration DEFAULT_RETRY_BACKOFF = Duration.ofMillis(25);
    public static final Routing DEFAULTS = new Routing(Strategy.PREFIX_AFFINITY, DEFAULT_AFFINITY_HEADER,
            DEFAULT_PREFIX_BYTES, DEFAULT_LOAD_FACTOR, DEFAULT_ATTEMPTS, DEFAULT_RETRY_BACKOFF);

    /** The strategies, by their names in the policy. */
    public enum Strategy {
        /** Weighted random order (weight 0 = drained). */
        WEIGHTED("weighted"),
        /** The lowest load per unit of weight first: queue, running and in flight. */
        LEAST_LOAD("least-load"),
        /** Consistent hashing of an affinity key with bounded load. */
        PREFIX_AFFINITY("prefix-affinity");

        private final String label;

        Strategy(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }

        public static Optional<Strategy> of(String label) {
            for (Strategy s : values()) {
                if (s.label.equals(label.toLowerCase(Locale.ROOT))) {
                    return Optional.of(s);
                }
            }
            return Optional.empty();
        }
    }
}
