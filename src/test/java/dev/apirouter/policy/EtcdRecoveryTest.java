package dev.apirouter.policy;

import static dev.apirouter.policy.EtcdPolicyStoreTest.KEY_A;
import static dev.apirouter.policy.EtcdPolicyStoreTest.MODEL_V1;
import static dev.apirouter.policy.EtcdPolicyStoreTest.MODEL_V2;
import static dev.apirouter.policy.EtcdPolicyStoreTest.awaitTrue;
import static dev.apirouter.policy.EtcdPolicyStoreTest.awaitView;
import static dev.apirouter.policy.EtcdPolicyStoreTest.etcdFacts;
import static dev.apirouter.policy.EtcdPolicyStoreTest.keyRecord;
import static dev.apirouter.policy.EtcdPolicyStoreTest.settings;
import static dev.apirouter.policy.EtcdPolicyStoreTest.store;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.apirouter.config.Settings;
import dev.apirouter.policy.EtcdPolicyStoreTest.TcpProxy;
import dev.apirouter.testing.EtcdProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The etcd store when etcd goes away, comes back, compacts, or was never there. Each test has its own etcd. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EtcdRecoveryTest {
    private static final String P = "/api-router/";

    @TempDir
    Path tmp;

    @Test
    void etcdKilledAndRestartedTheWatchResumesWithNoChangeLost() throws Exception {
        try (EtcdProcess etcd = EtcdProcess.start();
             EtcdPolicyStore store = store(settings(etcd, P, tmp))) {
            etcd.put(P + "models/a", MODEL_V1);
            etcd.put(P + "models/b", MODEL_V1);
            store.start();
            awaitView(store, v -> v.model("a").isPresent());
            awaitTrue(() -> store.status().connected(), "connected");

            etcd.kill();
            awaitTrue(() -> !store.status().connected(), "store sees etcd gone");
            StoreStatus down = store.status();
            assertTrue(down.detail().startsWith("etcd unreachable since "), down.detail());
            assertTrue(down.detail().contains("serving the last etcd view"), down.detail());
            assertNotNull(etcdFacts(down).unreachableSince(), down.facts().toString());
            // requests keep being served from memory
            assertTrue(store.current().orElseThrow().model("a").isPresent());

            etcd.restart();
            // changes made as soon as etcd is back, before the store has necessarily reconnected
            etcd.put(P + "models/c", MODEL_V1);
            etcd.delete(P + "models/a");
            long last = etcd.put(P + "models/b", MODEL_V2);

            PolicyView after = awaitView(store, v -> v.revision() == last);
            assertTrue(after.model("a").isEmpty());
            assertTrue(after.model("c").isPresent());
            assertTrue(after.model("b").orElseThrow().upstreamModel().isPresent());
            awaitTrue(() -> store.status().connected(), "connected again");
            assertEquals(1, store.snapshotsLoaded(), "resumed the watch, no new snapshot");

            // and the watch works on
            etcd.put(P + "models/d", MODEL_V1);
            awaitView(store, v -> v.model("d").isPresent());
        }
    }

    @Test
    void changesMadeWhileTheStoreWasCutOffArriveWhenItReconnects() throws Exception {
        try (EtcdProcess etcd = EtcdProcess.start();
             TcpProxy proxy = new TcpProxy(etcd.clientPort());
             EtcdPolicyStore store = store(settings(List.of(proxy.endpoint()), P, tmp))) {
            etcd.put(P + "models/a", MODEL_V1);
            store.start();
            awaitView(store, v -> v.model("a").isPresent());
            awaitTrue(() -> store.status().connected(), "connected");

            proxy.cut();
            awaitTrue(() -> !store.status().connected(), "store sees the partition");
            etcd.put(P + "models/b", MODEL_V1);
            etcd.delete(P + "models/a");
            etcd.put(P + "keys/" + KEY_A, keyRecord("team-a", false));
            long last = etcd.put(P + "keys/" + KEY_A, keyRecord("team-a", true));
            int refusedBefore = proxy.refused.get();
            awaitTrue(() -> proxy.refused.get() >= refusedBefore + 3, "a few failed reconnects");
            assertTrue(store.current().orElseThrow().model("a").isPresent(), "nothing seen while cut off");

            proxy.restore();
            PolicyView after = awaitView(store, v -> v.revision() == last);
            assertTrue(after.model("a").isEmpty());
            assertTrue(after.model("b").isPresent());
            assertTrue(after.key(KEY_A).orElseThrow().disabled());
            assertEquals(1, store.snapshotsLoaded(), "resumed from the last applied revision + 1");
        }
    }

    @Test
    void aFlappingConnectionIsReportedOnceAndNoChangeIsLost() throws Exception {
        ch.qos.logback.classic.Logger storeLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(EtcdPolicyStore.class);
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logs =
                new ch.qos.logback.core.read.ListAppender<>();
        logs.start();
        storeLog.addAppender(logs);
        try (EtcdProcess etcd = EtcdProcess.start();
             TcpProxy proxy = new TcpProxy(etcd.clientPort());
             EtcdPolicyStore store = store(settings(List.of(proxy.endpoint()), P, tmp))) {
            store.start();
            awaitView(store, v -> v.source() == PolicySource.ETCD);
            long last = 0;
            for (int i = 0; i < 4; i++) {
                awaitTrue(() -> store.status().connected(), "connected");
                proxy.cut();
                awaitTrue(() -> !store.status().connected(), "store sees the partition");
                last = etcd.put(P + "models/m" + i, MODEL_V1);
                proxy.restore();
            }
            long expected = last;
            PolicyView after = awaitView(store, v -> v.revision() == expected);
            assertEquals(java.util.Set.of("m0", "m1", "m2", "m3"), after.models().keySet());
        } finally {
            storeLog.detachAppender(logs);
        }
        long warnings = logs.list.stream()
                .filter(e -> e.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.WARN)).count();
        assertEquals(1, warnings, logs.list.toString());
    }

    @Test
    void aCompactedRevisionMakesTheStoreReadANewSnapshotAndWatchAgain() throws Exception {
        try (EtcdProcess etcd = EtcdProcess.start();
             TcpProxy proxy = new TcpProxy(etcd.clientPort());
             EtcdPolicyStore store = store(settings(List.of(proxy.endpoint()), P, tmp))) {
            etcd.put(P + "models/a", MODEL_V1);
            etcd.put(P + "models/gone", MODEL_V1);
            store.start();
            awaitView(store, v -> v.model("gone").isPresent());
            awaitTrue(() -> store.status().connected(), "connected");
            long seen = store.current().orElseThrow().revision();

            // the watcher falls behind, and the history it needs is compacted away
            proxy.cut();
            awaitTrue(() -> !store.status().connected(), "store sees the partition");
            etcd.put(P + "models/a", MODEL_V2);
            etcd.delete(P + "models/gone");
            etcd.put(P + "models/new", MODEL_V1);
            etcd.put(P + "other/ignored", "x");
            long last = etcd.put(P + "models/new", MODEL_V2);
            etcd.compact(last);
            assertTrue(last > seen + 1);

            proxy.restore();
            PolicyView after = awaitView(store, v -> v.revision() >= last);
            assertEquals(2, store.snapshotsLoaded(), "a second snapshot after the compaction");
            assertTrue(after.model("gone").isEmpty(), "a delete inside the compacted history is applied");
            assertTrue(after.model("a").orElseThrow().upstreamModel().isPresent());
            assertTrue(after.model("new").orElseThrow().upstreamModel().isPresent());
            awaitTrue(() -> store.status().connected(), "watching again");

            // and it watches from the new snapshot's revision + 1
            etcd.put(P + "models/later", MODEL_V1);
            awaitView(store, v -> v.model("later").isPresent());
        }
    }

    @Test
    void startedWithEtcdDownItServesNothingThenLoadsWhenEtcdComesUpAndLogsAtABoundedRate() throws Exception {
        ch.qos.logback.classic.Logger storeLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger(EtcdPolicyStore.class);
        ch.qos.logback.classic.Logger jetcdLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory
                .getLogger("io.etcd.jetcd.impl.KVImpl");
        ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> logs =
                new ch.qos.logback.core.read.ListAppender<>();
        logs.start();
        storeLog.addAppender(logs);
        jetcdLog.addAppender(logs);
        ch.qos.logback.classic.Level storeLevel = storeLog.getLevel();
        storeLog.setLevel(ch.qos.logback.classic.Level.DEBUG); // to count the failed attempts
        try (EtcdProcess etcd = EtcdProcess.start()) {
            etcd.put(P + "models/a", MODEL_V1);
            etcd.stop();
            try (EtcdPolicyStore store = store(settings(etcd, P, tmp))) {
                long t0 = System.nanoTime();
                store.start();
                assertTrue(System.nanoTime() - t0 < TimeUnit.MILLISECONDS.toNanos(500), "start() returned at once");
                assertTrue(store.current().isEmpty());
                awaitTrue(() -> store.status().detail().startsWith("etcd unreachable"), () -> store.status().detail());
                StoreStatus status = store.status();
                assertFalse(status.connected());
                assertTrue(status.detail().endsWith("no policy loaded yet"), status.detail());
                assertTrue(status.detail().contains("UNAVAILABLE"), status.detail());
                assertTrue(store.current().isEmpty());
                // several retries (backoff 50 to 500 ms here): the store logs each after the first at DEBUG
                awaitTrue(() -> {
                    synchronized (logs) { // the appender appends under its own lock
                        return logs.list.stream()
                                .filter(e -> e.getFormattedMessage().startsWith("etcd attempt ")).count() >= 3;
                    }
                }, "several failed attempts");

                etcd.restart();
                PolicyView view = awaitView(store, v -> v.model("a").isPresent());
                assertEquals(PolicySource.ETCD, view.source());
                awaitTrue(() -> store.status().connected(), "connected");
            }
        } finally {
            storeLog.detachAppender(logs);
            jetcdLog.detachAppender(logs);
            storeLog.setLevel(storeLevel);
        }
        List<String> warnings = logs.list.stream()
                .filter(e -> e.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.WARN))
                .map(e -> e.getLoggerName() + ": " + e.getFormattedMessage()).toList();
        // one warning for the whole outage (the next would come after 30 s), none from jetcd's retries
        assertEquals(1, warnings.size(), String.join("\n", warnings));
        assertTrue(warnings.get(0).contains("unreachable"), warnings.get(0));
        assertEquals(1, logs.list.stream().filter(e -> e.getFormattedMessage().contains("reachable again")).count());
    }

    @Test
    void startedWithEtcdDownItServesTheLastKnownGoodCopyUntilEtcdAnswers() throws Exception {
        try (EtcdProcess etcd = EtcdProcess.start()) {
            etcd.put(P + "models/a", MODEL_V1);
            etcd.put(P + "keys/" + KEY_A, keyRecord("team-a", false));
            long saved;
            try (EtcdPolicyStore first = store(settings(etcd, P, tmp))) {
                first.start();
                saved = awaitView(first, v -> v.model("a").isPresent()).revision();
                awaitTrue(() -> new LastKnownGood(tmp.resolve("lkg.json")).load().isPresent(), "copy saved");
            }
            etcd.stop();

            try (EtcdPolicyStore store = store(settings(etcd, P, tmp))) {
                store.start();
                // at once, without waiting for etcd
                PolicyView lkg = store.current().orElseThrow();
                assertEquals(PolicySource.LAST_KNOWN_GOOD, lkg.source());
                assertEquals(saved, lkg.revision());
                assertTrue(lkg.model("a").isPresent());
                assertEquals("team-a", lkg.key(KEY_A).orElseThrow().name());
                assertEquals("last-known-good", etcdFacts(store.status()).source());
                awaitTrue(() -> store.status().detail().startsWith("etcd unreachable"), () -> store.status().detail());
                assertTrue(store.status().detail().contains("serving last-known-good revision " + saved),
                        store.status().detail());

                etcd.restart();
                etcd.put(P + "models/b", MODEL_V1);
                PolicyView live = awaitView(store, v -> v.source() == PolicySource.ETCD && v.model("b").isPresent());
                assertTrue(live.model("a").isPresent());
                awaitTrue(() -> store.status().connected(), "connected");
                assertEquals("etcd", etcdFacts(store.status()).source());
            }
        }
    }

    @Test
    void aLastKnownGoodCopyOfAnotherPrefixIsNotServed() throws Exception {
        PolicyView other = PolicyView.empty(PolicySource.ETCD).toBuilder()
                .putModel("x", MODEL_V1.getBytes()).build(PolicySource.ETCD, 7, java.time.Instant.now());
        assertTrue(new LastKnownGood(tmp.resolve("lkg.json")).save(other, "/another-prefix/"));
        int deadPort = EtcdProcess.freePort();
        Settings.Store settings = settings(List.of(java.net.URI.create("http://127.0.0.1:" + deadPort)), P, tmp);
        try (EtcdPolicyStore store = store(settings)) {
            store.start();
            assertTrue(store.current().isEmpty());
        }
    }

    @Test
    void aHungEtcdNeverBlocksStartOrCloseAndStatusSaysWhy() throws Exception {
        // seed a last-known-good copy so that there is something to serve meanwhile
        PolicyView seed = PolicyView.empty(PolicySource.ETCD).toBuilder()
                .putModel("a", MODEL_V1.getBytes()).build(PolicySource.ETCD, 3, java.time.Instant.now());
        assertTrue(new LastKnownGood(tmp.resolve("lkg.json")).save(seed, P));

        new LastKnownGood(tmp.resolve("lkg.json")).load().orElseThrow(); // warm the JSON/YAML classes up

        try (EtcdPolicyStoreTest.HungServer hung = new EtcdPolicyStoreTest.HungServer()) {
            Settings.Store base = settings(List.of(hung.endpoint()), P, tmp);
            Settings.Store settings = new Settings.Store(base.policyFile(), base.demo(), base.policyPoll(),
                    base.etcdEndpoints(), base.etcdPrefix(), base.etcdConnectTimeout(),
                    java.time.Duration.ofMillis(2000), base.lastKnownGoodFile(), base.etcdSecurity());
            EtcdPolicyStore store = store(settings);
            long t0 = System.nanoTime();
            store.start();
            long startMs = (System.nanoTime() - t0) / 1_000_000;
            // well under the 2 s call deadline: start() did not wait for the hung server
            assertTrue(startMs < 1000, "start() took " + startMs + " ms");
            assertEquals(PolicySource.LAST_KNOWN_GOOD, store.current().orElseThrow().source());

            // the snapshot read hits its deadline
            awaitTrue(() -> store.status().detail().startsWith("etcd unreachable"), () -> store.status().detail());
            StoreStatus status = store.status();
            assertFalse(status.connected());
            assertTrue(status.detail().contains("DEADLINE_EXCEEDED: no answer within 2000 ms"), status.detail());
            assertTrue(status.detail().contains("serving last-known-good revision 3"), status.detail());
            assertTrue(hung.accepted.get() > 0, "the store did reach the hung server");

            // close while a call to the hung server is in flight (the retry after the first failure, on a new
            // connection: a failure drops the client)
            int connections = hung.accepted.get();
            awaitTrue(() -> hung.accepted.get() > connections, "the retry reached the hung server");
            t0 = System.nanoTime();
            store.close();
            long closeMs = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(closeMs < 3000, "close() took " + closeMs + " ms");
            EtcdPolicyStoreTest.awaitWithin(java.time.Duration.ofSeconds(3),
                    () -> !EtcdPolicyStoreTest.storeThreadsAlive(), "store threads gone");
            assertEquals("closed", store.status().detail());
        }
    }
}
