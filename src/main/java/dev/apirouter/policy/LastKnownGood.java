package dev.apirouter.policy;

import java.io.FileOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The local copy of the last policy view applied from etcd, so that a gateway started while etcd is unreachable can
 * still serve. One JSON file, replaced atomically (written to a temporary file in the same directory, flushed, then
 * renamed over the old copy):
 *
 * <pre>
 * {
 *   "format": "api-router/last-known-good/v1",
 *   "prefix": "/api-router/",
 *   "revision": 42,
 *   "updatedAt": "2026-01-01T00:00:00Z",
 *   "savedAt": "2026-01-01T00:00:00.120Z",
 *   "policy": { "models": { ... }, "keys": { ... } }
 * }
 * </pre>
 *
 * {@code policy} is exactly the policy-file form, so {@code jq .policy} turns a copy into a usable
 * {@code ROUTER_POLICY_FILE}. Saving never throws: a failure is logged as a warning and reported by the return value.
 */
public final class LastKnownGood {
    public static final String FORMAT = "api-router/last-known-good/v1";
    private static final Logger LOG = LoggerFactory.getLogger(LastKnownGood.class);

    private final Path file;
    private final Clock clock;
    private String lastSaveProblem;

    /** A copy read back: the view (source {@link PolicySource#LAST_KNOWN_GOOD}), its etcd prefix and when it was saved. */
    public record Copy(PolicyView view, String prefix, Instant savedAt) {
    }

    public LastKnownGood(Path file) {
        this(file, Clock.systemUTC());
    }

    public LastKnownGood(Path file, Clock clock) {
        this.file = file.toAbsolutePath();
        this.clock = clock;
    }

    public Path file() {
        return file;
    }

    /**
     * Saves {@code view} (taken from etcd under {@code prefix}) atomically, creating the parent directories.
     *
     * @return true when the copy was written; false when it could not be (logged as a warning, never thrown)
     */
    public synchronized boolean save(PolicyView view, String prefix) {
        Path tmp = null;
        try {
            ObjectNode root = PolicyDocuments.JSON.createObjectNode();
            root.put("format", FORMAT);
            root.put("prefix", prefix);
            root.put("revision", view.revision());
            root.put("updatedAt", view.updatedAt().toString());
            root.put("savedAt", clock.instant().toString());
            root.set("policy", PolicyDocuments.write(view));
            byte[] bytes = PolicyDocuments.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);

            Path dir = file.getParent();
            Files.createDirectories(dir);
            // createTempFile makes the file readable by its owner only; the rename keeps that
            tmp = Files.createTempFile(dir, "." + file.getFileName() + ".", ".tmp");
            // java.io streams, not NIO channels: an interrupt (the store closing) must not abort the write
            try (FileOutputStream out = new FileOutputStream(tmp.toFile())) {
                out.write(bytes);
                out.getFD().sync();
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            tmp = null;
            if (lastSaveProblem != null) {
                LOG.info("Last-known-good copy {} is written again (revision {})", file, view.revision());
                lastSaveProblem = null;
            }
            return true;
        } catch (IOException | RuntimeException e) {
            String problem = e.getClass().getSimpleName() + ": " + e.getMessage();
            if (!problem.equals(lastSaveProblem)) {
                LOG.warn("Cannot save the last-known-good policy copy to {} (the gateway goes on without it): {}",
                        file, problem);
            } else {
                LOG.debug("Still cannot save the last-known-good copy to {}: {}", file, problem);
            }
            lastSaveProblem = problem;
            return false;
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // best effort
                }
            }
        }
    }

    /**
     * Reads the copy back. Empty when there is none, or when it cannot be read or is not a copy in this format (logged
     * as a warning). Documents of the copy that no longer validate are rejected alone, as in any store.
     */
    public Optional<Copy> load() {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException | RuntimeException e) {
            LOG.warn("Cannot read the last-known-good policy copy {}: {}", file, e.toString());
            return Optional.empty();
        }
        try {
            return Optional.of(parse(bytes));
        } catch (InvalidDocumentException e) {
            LOG.warn("Ignoring the last-known-good policy copy {}: {}", file, e.getMessage());
            return Optional.empty();
        }
    }

    static Copy parse(byte[] bytes) throws InvalidDocumentException {
        JsonNode root = PolicyDocuments.readJson(bytes);
        if (!root.isObject() || !FORMAT.equals(root.path("format").asText(null))) {
            throw new InvalidDocumentException("not a last-known-good copy (expected \"format\": \"" + FORMAT + "\")");
        }
        JsonNode revision = root.get("revision");
        if (revision == null || !revision.isIntegralNumber() || revision.longValue() < 0) {
            throw new InvalidDocumentException("'revision' must be a whole number >= 0");
        }
        JsonNode policy = root.get("policy");
        if (policy == null || !policy.isObject()) {
            throw new InvalidDocumentException("'policy' must be a map with 'models' and 'keys'");
        }
        Instant updatedAt = instant(root, "updatedAt");
        Instant savedAt = instant(root, "savedAt");
        JsonNode parsed;
        try {
            parsed = PolicyFile.parse(PolicyDocuments.JSON.writeValueAsBytes(policy));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new InvalidDocumentException("unreadable policy: " + e.getOriginalMessage());
        }
        PolicyView.Builder builder = PolicyFile.apply(parsed, PolicyView.empty(PolicySource.LAST_KNOWN_GOOD).toBuilder());
        builder.newRejections().forEach(r ->
                LOG.warn("Last-known-good document rejected: {}", r));
        PolicyView view = builder.build(PolicySource.LAST_KNOWN_GOOD, revision.longValue(), updatedAt);
        return new Copy(view, root.path("prefix").asText(""), savedAt);
    }

    private static Instant instant(JsonNode root, String field) throws InvalidDocumentException {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) {
            return Instant.EPOCH;
        }
        try {
            return Instant.parse(v.asText());
        } catch (DateTimeParseException e) {
            throw new InvalidDocumentException("'" + field + "' must be an ISO-8601 instant");
        }
    }
}
