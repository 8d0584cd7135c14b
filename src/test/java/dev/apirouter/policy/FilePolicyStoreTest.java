package dev.apirouter.policy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class FilePolicyStoreTest {
    private static final String KEY_HASH = "b".repeat(64);

    private static String policy(String backend) {
        return "models:\n  m:\n    backends:\n      - url: " + backend + "\n"
                + "keys:\n  \"" + KEY_HASH + "\": { name: t, models: [\"*\"] }\n";
    }

    @Test
    void loadsTheBundledDemoPolicyWithoutAFile() {
        try (FilePolicyStore store = new FilePolicyStore(Optional.empty(), Duration.ofSeconds(1), Clock.systemUTC())) {
            store.start();
            PolicyView view = store.current().orElseThrow();
            assertTrue(view.model("llama-3.1-8b").isPresent());
            assertEquals(PolicySource.FILE, view.source());
        }
    }

    @Test
    void picksUpChangesRejectsBadOnesAndKeepsThePrevious(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("policy.yaml");
        Files.writeString(file, policy("http://one:1"));
        try (FilePolicyStore store = new FilePolicyStore(Optional.of(file), Duration.ofMillis(50), Clock.systemUTC())) {
            store.start();
            assertEquals("http://one:1", backendOf(store));

            Files.writeString(file, policy("http://two:2"));
            awaitBackend(store, "http://two:2");

            Files.writeString(file, "models: [unclosed");
            // the store has read the broken file: its status says it rejected it
            await("the broken file is read").atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
                    .until(() -> !store.status().connected() && store.status().detail().contains("rejected"));
            assertEquals("http://two:2", backendOf(store), "a file that does not parse changes nothing");

            long before = store.current().orElseThrow().revision();
            Files.writeString(file, policy("ftp://bad") + "  extra: 1\n");
            // the store has applied the file: a new revision, with the invalid documents rejected
            await("the file with invalid documents is applied").atMost(Duration.ofSeconds(5))
                    .pollInterval(Duration.ofMillis(20)).until(() -> store.current().orElseThrow().revision() > before);
            assertFalse(store.current().orElseThrow().rejected().isEmpty(), "the invalid documents are rejected");
            assertEquals("http://two:2", backendOf(store), "an invalid document keeps its previous version");

            Files.writeString(file, policy("http://three:3"));
            awaitBackend(store, "http://three:3");
            assertTrue(store.current().orElseThrow().rejected().isEmpty());
        }
    }

    @Test
    void seesAKubernetesStyleSymlinkSwap(@TempDir Path dir) throws Exception {
        Path v1 = Files.createDirectory(dir.resolve("..v1"));
        Path v2 = Files.createDirectory(dir.resolve("..v2"));
        Files.writeString(v1.resolve("policy.yaml"), policy("http://one:1"));
        Files.writeString(v2.resolve("policy.yaml"), policy("http://two:2"));
        Path data = dir.resolve("..data");
        Files.createSymbolicLink(data, v1.getFileName());
        Path file = dir.resolve("policy.yaml");
        Files.createSymbolicLink(file, Path.of("..data/policy.yaml"));
        try (FilePolicyStore store = new FilePolicyStore(Optional.of(file), Duration.ofMillis(50), Clock.systemUTC())) {
            store.start();
            assertEquals("http://one:1", backendOf(store));
            Path tmp = dir.resolve("..data_tmp");
            Files.createSymbolicLink(tmp, v2.getFileName());
            Files.move(tmp, data, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            awaitBackend(store, "http://two:2");
        }
    }

    @Test
    void aMissingFileMeansNoPolicyAndIsReported(@TempDir Path dir) {
        try (FilePolicyStore store = new FilePolicyStore(Optional.of(dir.resolve("absent.yaml")), Duration.ofSeconds(1),
                Clock.systemUTC())) {
            store.start();
            assertTrue(store.current().isEmpty());
            assertTrue(store.status().detail().contains("does not exist"));
        }
    }

    private static String backendOf(FilePolicyStore store) {
        return store.current().orElseThrow().model("m").orElseThrow().backends().get(0).url();
    }

    private static void awaitBackend(FilePolicyStore store, String url) {
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
                .untilAsserted(() -> assertEquals(url, backendOf(store)));
    }
}
