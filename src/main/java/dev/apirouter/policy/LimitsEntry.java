package dev.apirouter.policy;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * {@code "limits"} as stored: in a key record (where {@code models} may give per-model limits) and in a model policy
 * (where it may not). Every field optional; a figure present must be a whole number of at least 1.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record LimitsEntry(Long rpm, Long tpm, Long maxParallel, Long tokensPerDay, Map<String, LimitsEntry> models) {
    static final long MAX = 1L << 50;

    static LimitsEntry of(Limits limits, Map<String, Limits> models) {
        Map<String, LimitsEntry> perModel = null;
        if (models != null && !models.isEmpty()) {
            perModel = new LinkedHashMap<>();
            for (Map.Entry<String, Limits> e : models.entrySet()) {
                perModel.put(e.getKey(), of(e.getValue(), null));
            }
        }
        return new LimitsEntry(orNull(limits.rpm()), orNull(limits.tpm()), orNull(limits.maxParallel()),
                orNull(limits.tokensPerDay()), perModel);
    }

    /** A key record's limits. */
    static Optional<KeyLimits> keyLimits(LimitsEntry entry) throws InvalidDocumentException {
        if (entry == null) {
            return Optional.empty();
        }
        Map<String, Limits> perModel = new LinkedHashMap<>();
        if (entry.models() != null) {
            for (Map.Entry<String, LimitsEntry> e : entry.models().entrySet()) {
                String where = "limits.models." + e.getKey();
                if (e.getKey().isBlank()) {
                    throw new InvalidDocumentException("limits.models must be keyed by model names");
                }
                if (e.getValue() == null) {
                    throw new InvalidDocumentException(where + " must be a JSON object");
                }
                if (e.getValue().models() != null) {
                    throw new InvalidDocumentException(where + " cannot have 'models' of its own");
                }
                perModel.put(e.getKey(), e.getValue().figures(where));
            }
        }
        return Optional.of(new KeyLimits(entry.figures("limits"), perModel));
    }

    /** A model policy's limits (no per-model map there). */
    static Limits modelLimits(LimitsEntry entry) throws InvalidDocumentException {
        if (entry == null) {
            return Limits.NONE;
        }
        if (entry.models() != null) {
            throw new InvalidDocumentException("limits.models is for key records; a model policy's limits apply to the"
                    + " model itself");
        }
        return entry.figures("limits");
    }

    private Limits figures(String where) throws InvalidDocumentException {
        return new Limits(figure(rpm, where + ".rpm"), figure(tpm, where + ".tpm"),
                figure(maxParallel, where + ".maxParallel"), figure(tokensPerDay, where + ".tokensPerDay"));
    }

    private static long figure(Long value, String where) throws InvalidDocumentException {
        if (value == null) {
            return 0;
        }
        if (value < 1 || value > MAX) {
            throw new InvalidDocumentException(where + " must be a whole number from 1 to " + MAX);
        }
        return value;
    }

    private static Long orNull(long figure) {
        return figure > 0 ? figure : null;
    }
}
