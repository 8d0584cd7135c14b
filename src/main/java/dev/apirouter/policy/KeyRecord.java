package dev.apirouter.policy;

import java.time.Instant;
import java.util.Optional;
import java.util.Set;

/**
 * An API key record, stored under the SHA-256 of the key; the key itself is never stored.
 *
 * @param limits the key's rate limits and quota, empty when it has none (it then costs nothing to check)
 */
public record KeyRecord(String name, Set<String> models, boolean disabled, Optional<Instant> expiresAt,
                        Optional<KeyLimits> limits) {
    public static final String ALL_MODELS = "*";

    public KeyRecord {
        models = Set.copyOf(models);
    }

    /** A key without limits. */
    public KeyRecord(String name, Set<String> models, boolean disabled, Optional<Instant> expiresAt) {
        this(name, models, disabled, expiresAt, Optional.empty());
    }

    public boolean allowsModel(String model) {
        return models.contains(ALL_MODELS) || models.contains(model);
    }

    public boolean expiredAt(Instant now) {
        return expiresAt.map(at -> !now.isBefore(at)).orElse(false);
    }
}
