package dev.apirouter.cli;

import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;

import com.fasterxml.jackson.databind.JsonNode;
import dev.apirouter.policy.InvalidDocumentException;
import dev.apirouter.policy.PolicyDocuments;

/**
 * One gateway process's entry in the replica registry, {@code <prefix>replicas/<id>} (bound to the process's lease):
 * {@code {"id","version","startedAt","managementAddress","appliedRevision","routesGeneration","state"}}. Read
 * leniently: every field but {@code appliedRevision} may be missing; {@code problem} says why a record cannot be
 * used (then its applied revision is unknown, -1).
 */
record ReplicaRecord(String id, String version, Instant startedAt, String managementAddress, long appliedRevision,
                     String routesGeneration, String state, String problem) {
    static final String PREFIX = "replicas/";

    /** The record stored at {@code relativeKey} ({@code replicas/<id>}). */
    static ReplicaRecord parse(String relativeKey, byte[] value) {
        String keyId = relativeKey.startsWith(PREFIX) ? relativeKey.substring(PREFIX.length()) : relativeKey;
        JsonNode doc;
        try {
            doc = PolicyDocuments.readJson(value);
        } catch (InvalidDocumentException e) {
            return new ReplicaRecord(keyId, null, null, null, -1, null, null, "not JSON");
        }
        return of(keyId, doc);
    }

    /** A record read from JSON (the registry's, or a replica in the admin API's fleet); {@code keyId} if none. */
    static ReplicaRecord of(String keyId, JsonNode doc) {
        if (!doc.isObject()) {
            return new ReplicaRecord(keyId, null, null, null, -1, null, null, "not a JSON object");
        }
        String id = text(doc, "id");
        Instant startedAt = null;
        String started = text(doc, "startedAt");
        if (started != null) {
            try {
                startedAt = Instant.parse(started);
            } catch (DateTimeParseException e) {
                startedAt = null;
            }
        }
        JsonNode applied = doc.path("appliedRevision");
        String problem = applied.canConvertToLong() && applied.isIntegralNumber() ? null
                : "no appliedRevision number";
        JsonNode generation = doc.path("routesGeneration");
        return new ReplicaRecord(id != null && !id.isBlank() ? id : keyId, text(doc, "version"), startedAt,
                text(doc, "managementAddress"), problem == null ? applied.asLong() : -1,
                generation.isMissingNode() || generation.isNull() ? null : generation.asText(), text(doc, "state"),
                problem);
    }

    private static String text(JsonNode doc, String field) {
        JsonNode n = doc.path(field);
        return n.isValueNode() && !n.isNull() ? n.asText() : null;
    }

    boolean hasApplied(long revision) {
        return problem == null && appliedRevision >= revision;
    }

    String appliedText() {
        return problem == null ? Long.toString(appliedRevision) : "?";
    }

    /** {@code 3d4h}, {@code 2h5m}, {@code 4m10s}, {@code 12s}; {@code -} when unknown. */
    static String age(Instant startedAt, Instant now) {
        if (startedAt == null) {
            return "-";
        }
        Duration d = Duration.between(startedAt, now);
        if (d.isNegative()) {
            return "0s";
        }
        long s = d.getSeconds();
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return s / 60 + "m" + (s % 60 > 0 ? s % 60 + "s" : "");
        }
        if (s < 86400) {
            return s / 3600 + "h" + (s % 3600 / 60 > 0 ? s % 3600 / 60 + "m" : "");
        }
        return s / 86400 + "d" + (s % 86400 / 3600 > 0 ? s % 86400 / 3600 + "h" : "");
    }
}
