package dev.apirouter.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import dev.apirouter.auth.ApiKeys;
import dev.apirouter.config.Settings;
import dev.apirouter.etcd.EtcdClients;
import dev.apirouter.testing.EtcdProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The etcd store against a real etcd that stays up: snapshot, watch, revocation latency, validation. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EtcdPolicyStoreTest {
    static final String MODEL_V1 = "{\"backends\":[{\"url\":\"http://vllm-0:8000\"}]}";
    static final String MODEL_V2 = "{\"upstreamModel\":\"big\",\"backends\":[{\"url\":\"http://vllm-1:8000\",\"weight\":2}]}";
    static final String KEY_A = ApiKeys.sha256Hex("sk-test-a");
    static final String KEY_B = ApiKeys.sha256Hex("sk-test-b");

    private static EtcdProcess etcd;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startEtcd() throws IOException {
        if (EtcdProcess.installed()) { // otherwise each test skips (or fails in CI), saying why
            etcd = EtcdProcess.start();
        }
    }

    @BeforeEach
    void etcdInstalled() {
        EtcdProcess.assumeInstalled();
    }

    @AfterAll
    static void stopEtcd() {
        if (etcd != null) {
            etcd.close();
        }
    }

    @Test
    void snapshotThenWatchAppliesPutsUpdatesAndDeletes(TestInfo info) throws Exception {
        String prefix = prefix(info);
        etcd.put(prefix + "models/llama", MODEL_V1);
        etcd.put(prefix + "keys/" + KEY_A, keyRecord("team-a", false));
        etcd.put(prefix + "config/other", "not ours");
        etcd.put(prefix + "models/meta-llama/Llama-3.1-8B", MODEL_V1);
        long snapshotRevision = etcd.revision();

        try (EtcdPolicyStore store = store(settings(etcd, prefix, tmp))) {
            store.start();
            PolicyView first = awaitView(store, v -> v.model("llama").isPresent());
            assertEquals(PolicySource.ETCD, first.source());
            assertEquals(snapshotRevision, first.revision());
            assertEquals(Set.of("llama", "meta-llama/Llama-3.1-8B"), first.models().keySet());
            assertEquals("team-a", first.key(KEY_A).orElseThrow().name());
            awaitTrue(() -> store.status().connected(), "store connected");
            assertTrue(store.status().detail().startsWith("watching"), store.status().detail());

            etcd.put(prefix + "models/mistral", MODEL_V1);
            awaitView(store, v -> v.model("mistral").isPresent());

            long updateRevision = etcd.put(prefix + "models/llama", MODEL_V2);
            PolicyView updated = awaitView(store, v -> v.model("llama").orElseThrow().upstreamModel().isPresent());
            assertEquals("big", updated.model("llama").orElseThrow().upstreamModel().orElseThrow());
            assertEquals(2, updated.model("llama").orElseThrow().backends().get(0).weight());
            assertEquals(updateRevision, updated.revision());

            long deleteRevision = etcd.delete(prefix + "models/mistral");
            PolicyView deleted = awaitView(store, v -> v.model("mistral").isEmpty());
            assertEquals(deleteRevision, deleted.revision());
            assertTrue(deleted.model("llama").isPresent());

            // a change outside models/ and keys/ is ignored
            etcd.put(prefix + "config/other", "still not ours");
            etcd.put(prefix + "models/marker", MODEL_V1);
            PolicyView last = awaitView(store, v -> v.model("marker").isPresent());
            assertTrue(last.rejected().isEmpty(), last.rejected().toString());

            // every applied view is on disk as the last-known-good copy
            awaitTrue(() -> new LastKnownGood(tmp.resolve("lkg.json")).load()
                    .map(c -> c.view().revision() == last.revision()).orElse(false), "last-known-good saved");
            LastKnownGood.Copy copy = new LastKnownGood(tmp.resolve("lkg.json")).load().orElseThrow();
            assertEquals(PolicySource.LAST_KNOWN_GOOD, copy.view().source());
            assertEquals(last.models().keySet(), copy.view().models().keySet());
            assertEquals(last.keys().keySet(), copy.view().keys().keySet());
            assertEquals(prefix, copy.prefix());

            StoreStatus status = store.status();
            assertEquals("etcd", status.kind());
            assertEquals(etcd.endpoint(), etcdFacts(status).endpoints());
            assertEquals(prefix, etcdFacts(status).prefix());
            assertEquals(last.revision(), etcdFacts(status).revision());
            assertEquals(0, etcdFacts(status).rejected());
            assertNotNull(etcdFacts(status).lastUpdate());
        }
    }

    @Test
    void keyDisabledOrDeletedInEtcdIsRefusedWithinOneSecond(TestInfo info) throws Exception {
        String prefix = prefix(info);
        etcd.put(prefix + "keys/" + KEY_A, keyRecord("team-a", false));
        etcd.put(prefix + "keys/" + KEY_B, keyRecord("team-b", false));
        Settings.Store settings = settings(etcd, prefix, tmp);
        EtcdClients clients = EtcdClients.of(settings);
        try (EtcdPolicyStore store = store(settings);
             io.etcd.jetcd.Client writer = clients.newClient()) {
            store.start();
            awaitView(store, v -> v.key(KEY_A).isPresent() && v.key(KEY_B).isPresent());
            awaitTrue(() -> store.status().connected(), "store connected");

            // an operator's write lands in etcd (in-process client: no process start in the measured time) ...
            long start = System.nanoTime();
            clients.await(writer.getKVClient().put(bytes(prefix + "keys/" + KEY_A), bytes(keyRecord("team-a", true))));
            // ... and the gateway refuses the key within a second
            awaitWithin(Duration.ofSeconds(1), () -> store.current().orElseThrow().key(KEY_A).orElseThrow().disabled(),
                    "disabled key refused");
            long disabledMs = (System.nanoTime() - start) / 1_000_000;

            start = System.nanoTime();
            clients.await(writer.getKVClient().delete(bytes(prefix + "keys/" + KEY_B)));
            awaitWithin(Duration.ofSeconds(1), () -> store.current().orElseThrow().key(KEY_B).isEmpty(),
                    "deleted key refused");
            long deletedMs = (System.nanoTime() - start) / 1_000_000;
            assertTrue(disabledMs < 1000 && deletedMs < 1000, disabledMs + " ms / " + deletedMs + " ms");
        }
    }

    static io.etcd.jetcd.ByteSequence bytes(String s) {
        return io.etcd.jetcd.ByteSequence.from(s, java.nio.charset.StandardCharsets.UTF_8);
    }

    @Test
    void invalidDocumentIsRejectedAloneAndThePreviousVersionStays(TestInfo info) throws Exception {
        String prefix = prefix(info);
        etcd.put(prefix + "models/good", MODEL_V1);
        etcd.put(prefix + "models/broken-at-start", "{not json");
        etcd.put(prefix + "keys/" + KEY_A, keyRecord("team-a", false));
        try (EtcdPolicyStore store = store(settings(etcd, prefix, tmp))) {
            store.start();
            PolicyView first = awaitView(store, v -> v.model("good").isPresent());
            assertTrue(first.model("broken-at-start").isEmpty());
            assertTrue(first.rejected().containsKey("models/broken-at-start"), first.rejected().toString());
            awaitTrue(() -> store.status().connected(), "store connected");

            // an invalid new version: the valid one stays, the rejection is visible
            etcd.put(prefix + "models/good", "{\"backends\":[]}");
            etcd.put(prefix + "keys/" + KEY_A, "{\"name\":\"team-a\",\"models\":\"all\"}");
            etcd.put(prefix + "keys/not-a-hash", keyRecord("x", false));
            etcd.put(prefix + "models/other", MODEL_V2);
            PolicyView after = awaitView(store, v -> v.model("other").isPresent());
            assertEquals(first.model("good"), after.model("good"));
            assertEquals(first.key(KEY_A), after.key(KEY_A));
            assertTrue(after.rejected().containsKey("models/good"), after.rejected().toString());
            assertTrue(after.rejected().containsKey(PolicyView.keyDocument(KEY_A)), after.rejected().toString());
            assertTrue(after.rejected().containsKey("keys/not-a-ha…"), after.rejected().toString());
            assertEquals(4, etcdFacts(store.status()).rejected());
            assertEquals(after.rejected(), etcdFacts(store.status()).rejectedDocuments());
            // no document id or reason carries a whole key hash
            after.rejected().forEach((id, reason) -> {
                assertFalse(id.contains(KEY_A) || reason.contains(KEY_A), id + ": " + reason);
            });

            // a valid version clears the rejection; deleting a rejected document clears it too
            etcd.put(prefix + "models/good", MODEL_V2);
            etcd.delete(prefix + "models/broken-at-start");
            PolicyView fixed = awaitView(store, v -> v.model("good").orElseThrow().upstreamModel().isPresent()
                    && !v.rejected().containsKey("models/broken-at-start"));
            assertFalse(fixed.rejected().containsKey("models/good"));
        }
    }

    @Test
    void startReturnsAtOnceAndCurrentIsEmptyUntilTheSnapshot(TestInfo info) throws Exception {
        String prefix = prefix(info);
        try (EtcdPolicyStore store = store(settings(etcd, prefix, tmp))) {
            assertEquals("not started", store.status().detail());
            long t0 = System.nanoTime();
            store.start();
            assertTrue(System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(500), "start() returned at once");
            // an empty prefix is a valid, empty policy
            PolicyView v = awaitView(store, view -> view.source() == PolicySource.ETCD);
            assertTrue(v.models().isEmpty() && v.keys().isEmpty());
        }
    }

    // ------------------------------------------------------------------ shared test kit

    static String prefix(TestInfo info) {
        return "/t/" + info.getTestMethod().orElseThrow().getName() + "-" + System.nanoTime() + "/";
    }

    static String keyRecord(String name, boolean disabled) {
        return "{\"name\":\"" + name + "\",\"models\":[\"llama\"],\"disabled\":" + disabled + "}";
    }

    static StoreStatus.EtcdFacts etcdFacts(StoreStatus status) {
        return (StoreStatus.EtcdFacts) status.facts();
    }

    static Settings.Store settings(EtcdProcess etcd, String prefix, Path dir) {
        return settings(List.of(etcd.endpointUri()), prefix, dir);
    }

    static Settings.Store settings(List<URI> endpoints, String prefix, Path dir) {
        return new Settings.Store(Optional.empty(), false, Duration.ofSeconds(1), endpoints, prefix,
                Duration.ofMillis(500), Duration.ofMillis(1000), dir.resolve("lkg.json"), Settings.EtcdSecurity.NONE);
    }

    /** A store with short retry backoff (50 ms up to 500 ms) so recovery tests stay fast. */
    static EtcdPolicyStore store(Settings.Store settings) {
        return new EtcdPolicyStore(settings, Clock.systemUTC(), Duration.ofMillis(50), Duration.ofMillis(500));
    }

    static PolicyView awaitView(PolicyStore store, java.util.function.Predicate<PolicyView> condition) {
        awaitTrue(() -> store.current().map(condition::test).orElse(false),
                () -> "view condition; current: " + store.current().map(EtcdPolicyStoreTest::describe).orElse("none")
                        + "; status: " + store.status());
        return store.current().orElseThrow();
    }

    static String describe(PolicyView v) {
        return v.source() + "@" + v.revision() + " models=" + v.models().keySet() + " keys=" + v.keys().size()
                + " rejected=" + v.rejected().keySet();
    }

    static void awaitTrue(BooleanSupplier condition, String what) {
        awaitTrue(condition, () -> what);
    }

    static void awaitTrue(BooleanSupplier condition, Supplier<String> what) {
        awaitWithin(Duration.ofSeconds(15), condition, what);
    }

    static void awaitWithin(Duration limit, BooleanSupplier condition, String what) {
        awaitWithin(limit, condition, () -> what);
    }

    static void awaitWithin(Duration limit, BooleanSupplier condition, Supplier<String> what) {
        try {
            org.awaitility.Awaitility.await().atMost(limit).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(10))
                    .until(condition::getAsBoolean);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("not within " + limit.toMillis() + " ms: " + what.get(), e);
        }
    }

    static boolean storeThreadsAlive() {
        return Thread.getAllStackTraces().keySet().stream()
                .anyMatch(t -> t.isAlive() && t.getName().startsWith("etcd-policy-store"));
    }

    /**
     * A TCP proxy on 127.0.0.1 in front of etcd. {@link #cut()} closes every connection and from then on closes new
     * ones at once (a network partition that fails fast); {@link #restore()} forwards again.
     */
    static final class TcpProxy implements AutoCloseable {
        private final ServerSocket server;
        private final int targetPort;
        private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
        /** Connections closed at once because the proxy was cut: each is a (re)connect attempt that failed. */
        final java.util.concurrent.atomic.AtomicInteger refused = new java.util.concurrent.atomic.AtomicInteger();
        private volatile boolean cut;
        private volatile boolean closed;

        TcpProxy(int targetPort) throws IOException {
            this.targetPort = targetPort;
            this.server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
            Thread acceptor = new Thread(this::acceptLoop, "tcp-proxy-accept");
            acceptor.setDaemon(true);
            acceptor.start();
        }

        URI endpoint() {
            return URI.create("http://127.0.0.1:" + server.getLocalPort());
        }

        void cut() {
            cut = true;
            sockets.forEach(TcpProxy::closeQuietly);
            sockets.clear();
        }

        void restore() {
            cut = false;
        }

        private void acceptLoop() {
            while (!closed) {
                try {
                    Socket client = server.accept();
                    if (cut) {
                        closeQuietly(client);
                        refused.incrementAndGet();
                        continue;
                    }
                    Socket upstream = new Socket();
                    upstream.connect(new java.net.InetSocketAddress("127.0.0.1", targetPort), 1000);
                    sockets.add(client);
                    sockets.add(upstream);
                    pipe(client, upstream);
                    pipe(upstream, client);
                } catch (IOException e) {
                    if (closed) {
                        return;
                    }
                }
            }
        }

        private void pipe(Socket from, Socket to) {
            Thread t = new Thread(() -> {
                byte[] buf = new byte[16384];
                try (InputStream in = from.getInputStream(); OutputStream out = to.getOutputStream()) {
                    int n;
                    while ((n = in.read(buf)) >= 0) {
                        out.write(buf, 0, n);
                        out.flush();
                    }
                } catch (IOException ignored) {
                    // connection closed
                } finally {
                    closeQuietly(from);
                    closeQuietly(to);
                    sockets.remove(from);
                    sockets.remove(to);
                }
            }, "tcp-proxy-pipe");
            t.setDaemon(true);
            t.start();
        }

        @Override
        public void close() {
            closed = true;
            closeQuietly(server);
            cut();
        }

        private static void closeQuietly(java.io.Closeable c) {
            try {
                c.close();
            } catch (IOException ignored) {
                // closing
            }
        }
    }

    /** A TCP server on 127.0.0.1 that accepts connections and never answers: a hung etcd. */
    static final class HungServer implements AutoCloseable {
        private final ServerSocket server;
        private final Set<Socket> held = ConcurrentHashMap.newKeySet();
        final AtomicInteger accepted = new AtomicInteger();

        HungServer() throws IOException {
            server = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"));
            Thread t = new Thread(() -> {
                while (!server.isClosed()) {
                    try {
                        held.add(server.accept());
                        accepted.incrementAndGet();
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "hung-etcd");
            t.setDaemon(true);
            t.start();
        }

        URI endpoint() {
            return URI.create("http://127.0.0.1:" + server.getLocalPort());
        }

        @Override
        public void close() throws IOException {
            server.close();
            for (Socket s : held) {
                s.close();
            }
        }
    }

    static void writeFile(Path file, String content) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
    }
}
