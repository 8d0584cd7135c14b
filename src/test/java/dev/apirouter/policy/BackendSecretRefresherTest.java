package dev.apirouter.policy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class BackendSecretRefresherTest {

    /** A store that serves one fixed view. */
    private record FixedStore(PolicyView view) implements PolicyStore {
        @Override
        public Optional<PolicyView> current() {
            return Optional.of(view);
        }

        @Override
        public StoreStatus status() {
            return new StoreStatus("test", true, "fixed");
        }

        @Override
        public void start() {
        }

        @Override
        public void close() {
        }
    }

    @Test
    void aRotatedSecretFileIsUsedWithoutAPolicyChange(@TempDir Path dir) throws Exception {
        Path key = Files.writeString(dir.resolve("key"), "sk-one\n");
        PolicyView view = PolicyView.empty(PolicySource.FILE).toBuilder()
                .putModel("m", PolicyDocuments.readJson(PolicyDocumentsTest.utf8("{\"backends\":[{\"url\":\"http://a:1\","
                        + "\"auth\":{\"secretFile\":\"" + key + "\"}}]}")))
                .build(PolicySource.FILE, 1, Instant.EPOCH);
        BackendAuth auth = view.model("m").orElseThrow().backends().get(0).auth().orElseThrow();
        assertEquals("Bearer sk-one", auth.authorization());
        BackendSecretRefresher refresher = new BackendSecretRefresher(new FixedStore(view), Duration.ofHours(1));

        Files.writeString(key, "sk-two\n");
        refresher.refresh();
        assertEquals("Bearer sk-two", auth.authorization());

        Files.delete(key);
        refresher.refresh();
        assertEquals("Bearer sk-two", auth.authorization(), "a missing file keeps the secret in use");
        assertEquals("secretFile " + key + " does not exist", auth.problem());

        Files.writeString(key, "sk-three");
        refresher.refresh();
        assertEquals("Bearer sk-three", auth.authorization());
        assertNull(auth.problem());
        refresher.close();
    }
}
