package dev.apirouter.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.JsonNode;
import dev.apirouter.auth.ApiKeys;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class LastKnownGoodTest {
    private static final String MODEL = "{\"upstreamModel\":\"up\",\"backends\":[{\"url\":\"http://a:1\",\"weight\":3}],"
            + "\"timeouts\":{\"connectMs\":5}}";
    private static final String HASH = ApiKeys.sha256Hex("sk-x");

    @TempDir
    Path tmp;

    private static PolicyView view(long revision) {
        return PolicyView.empty(PolicySource.ETCD).toBuilder()
                .putModel("meta/llama", MODEL.getBytes(StandardCharsets.UTF_8))
                .putKey(HASH, "{\"name\":\"a\",\"models\":[\"*\"],\"disabled\":true,\"expiresAt\":\"2030-01-01T00:00:00Z\"}"
                        .getBytes(StandardCharsets.UTF_8))
                .build(PolicySource.ETCD, revision, Instant.parse("2026-01-02T03:04:05Z"));
    }

    @Test
    void savesAndReadsBackTheWholeViewWithItsRevision() throws Exception {
        Path file = tmp.resolve("nested/dir/lkg.json");
        LastKnownGood lkg = new LastKnownGood(file);
        PolicyView saved = view(42);
        assertTrue(lkg.save(saved, "/api-router/"));

        LastKnownGood.Copy copy = new LastKnownGood(file).load().orElseThrow();
        PolicyView loaded = copy.view();
        assertEquals(PolicySource.LAST_KNOWN_GOOD, loaded.source());
        assertEquals(42, loaded.revision());
        assertEquals(saved.updatedAt(), loaded.updatedAt());
        assertEquals("/api-router/", copy.prefix());
        assertEquals(saved.models(), loaded.models());
        assertEquals(saved.keys(), loaded.keys());
        assertTrue(loaded.rejected().isEmpty());

        // the file: a wrapper whose "policy" member is a policy file as it stands
        JsonNode root = PolicyDocuments.JSON.readTree(file.toFile());
        assertEquals(LastKnownGood.FORMAT, root.path("format").asText());
        assertEquals(42, root.path("revision").asLong());
        PolicyView asPolicyFile = PolicyFile.apply(
                PolicyFile.parse(PolicyDocuments.JSON.writeValueAsBytes(root.get("policy"))),
                PolicyView.empty(PolicySource.FILE).toBuilder()).build(PolicySource.FILE, 1, Instant.EPOCH);
        assertEquals(saved.models(), asPolicyFile.models());

        // owner-only, since it lists key hashes
        Set<PosixFilePermission> perms = Files.getPosixFilePermissions(file);
        assertFalse(perms.contains(PosixFilePermission.OTHERS_READ), perms.toString());
    }

    @Test
    void replacesTheCopyAtomicallyAndLeavesNoTemporaryFiles() throws Exception {
        Path file = tmp.resolve("lkg.json");
        LastKnownGood lkg = new LastKnownGood(file);
        for (long rev = 1; rev <= 20; rev++) {
            assertTrue(lkg.save(view(rev), "/p/"));
            assertEquals(rev, new LastKnownGood(file).load().orElseThrow().view().revision());
        }
        try (Stream<Path> files = Files.list(tmp)) {
            assertEquals(List.of(file), files.toList());
        }
    }

    @Test
    void aWriteFailureIsReportedNotThrown() throws Exception {
        Path blocker = tmp.resolve("not-a-dir");
        Files.writeString(blocker, "a file where the directory should be");
        LastKnownGood lkg = new LastKnownGood(blocker.resolve("lkg.json"));
        assertFalse(lkg.save(view(1), "/p/"));
        assertFalse(lkg.save(view(2), "/p/"));
        assertTrue(lkg.load().isEmpty());
    }

    @Test
    void aMissingCorruptOrForeignFileIsNoCopy() throws IOException {
        assertTrue(new LastKnownGood(tmp.resolve("absent.json")).load().isEmpty());
        Path corrupt = tmp.resolve("corrupt.json");
        Files.writeString(corrupt, "{\"format\":\"api-router/last-known-good/v1\",\"revision\":");
        assertTrue(new LastKnownGood(corrupt).load().isEmpty());
        Path policyFile = tmp.resolve("policy.json");
        Files.writeString(policyFile, "{\"models\":{},\"keys\":{}}");
        assertTrue(new LastKnownGood(policyFile).load().isEmpty(), "a plain policy file is not a copy");
        Path badRevision = tmp.resolve("bad-revision.json");
        Files.writeString(badRevision, "{\"format\":\"api-router/last-known-good/v1\",\"revision\":\"x\",\"policy\":{}}");
        assertTrue(new LastKnownGood(badRevision).load().isEmpty());
    }

    @Test
    void aDocumentThatNoLongerValidatesIsRejectedAlone() throws IOException {
        Path file = tmp.resolve("lkg.json");
        Files.writeString(file, "{\"format\":\"api-router/last-known-good/v1\",\"prefix\":\"/p/\",\"revision\":9,"
                + "\"policy\":{\"models\":{\"ok\":" + MODEL + ",\"bad\":{\"backends\":[]}},\"keys\":{}}}");
        PolicyView loaded = new LastKnownGood(file).load().orElseThrow().view();
        assertEquals(Set.of("ok"), loaded.models().keySet());
        assertTrue(loaded.rejected().containsKey("models/bad"));
        assertEquals(9, loaded.revision());
    }
}
