package dev.apirouter.policy;

import java.util.Map;

/**
 * The limits of one API key: over all its requests ({@code all}) and, for some models, over its requests to that model
 * ({@code "limits": {"models": {"<model>": {...}}}}).
 */
public record KeyLimits(Limits all, Map<String, Limits> models) {
    public KeyLimits {
        models = Map.copyOf(models);
    }

    /** The key's limits of {@code model}, {@link Limits#NONE} when it has none. */
    public Limits of(String model) {
        return models.getOrDefault(model, Limits.NONE);
    }
}
