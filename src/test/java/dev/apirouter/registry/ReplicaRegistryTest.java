package dev.apirouter.registry;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.config.Settings;
import dev.apirouter.policy.EtcdPolicyStore;
import dev.apirouter.testing.EtcdProcess;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.options.LeaseOption;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The replica registry against a real etcd. */
class ReplicaRegistryTest {
    static final String MODEL = "{\"backends\":[{\"url\":\"http://vllm-0:8000\"}]}";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static EtcdProcess etcd;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startEtcd() throws IOException {
        if (EtcdProcess.installed()) {
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
    void registersItsRecordBoundToALeaseAndListsItselfInTheFleet(TestInfo info) throws Exception {
        String prefix = prefix(info);
        long policyRevision = etcd.put(prefix + "models/m", MODEL);
        Settings.Store store = store(etcd, prefix);
        try (EtcdPolicyStore policy = new EtcdPolicyStore(store, Clock.systemUTC());
             Client client = client(etcd)) {
            policy.start();
            ReplicaRegistry registry = new ReplicaRegistry(store, replica(Optional.of("pod-a"), Optional.of("10.1.2.3")),
                    policy, () -> 7, "0.0.0.0", 9191, Clock.systemUTC());
            try {
                Instant before = Instant.now();
                registry.start();
                await(() -> value(client, prefix + "replicas/pod-a").map(v -> v.contains("\"appliedRevision\":"
                        + policyRevision)).orElse(false), "registered with the applied revision");
                KeyValue kv = kv(client, prefix + "replicas/pod-a").orElseThrow();
                String json = kv.getValue().toString(StandardCharsets.UTF_8);
                JsonNode n = JSON.readTree(json);
                List<String> fields = List.of("id", "version", "startedAt", "managementAddress", "appliedRevision",
                        "routesGeneration", "state");
                assertEquals(fields, iterable(n.fieldNames()), json);
                assertEquals("pod-a", n.get("id").asText());
                assertEquals("10.1.2.3:9191", n.get("managementAddress").asText());
                assertEquals(policyRevision, n.get("appliedRevision").asLong());
                assertEquals(7, n.get("routesGeneration").asLong());
                assertEquals("serving", n.get("state").asText());
                assertFalse(Instant.parse(n.get("startedAt").asText()).isBefore(before.minusSeconds(1)));
                assertNotEquals(0, kv.getLease(), "bound to a lease");
                long granted = client.getLeaseClient().timeToLive(kv.getLease(), LeaseOption.DEFAULT)
                        .get(5, TimeUnit.SECONDS).getGrantedTTL();
                assertEquals(2, granted, "ROUTER_REPLICA_TTL_MS=2000 is a 2 s lease");
                assertTrue(registry.registered());

                ReplicaRegistry.Fleet fleet = registry.fleet().get(5, TimeUnit.SECONDS);
                ReplicaRegistry.Fleet.Member self = fleet.member("pod-a").orElseThrow();
                assertTrue(self.self());
                assertEquals(0, self.lag(), fleet.json());
                assertEquals(policyRevision, fleet.policyRevision());
                assertTrue(fleet.storeRevision() > policyRevision, "the registry's own write moved etcd's revision");
                JsonNode f = JSON.readTree(fleet.json());
                assertEquals(List.of("storeRevision", "policyRevision", "replicas"), iterable(f.fieldNames()));
                assertEquals(List.of("id", "version", "state", "appliedRevision", "lag", "routesGeneration",
                        "managementAddress", "startedAt", "ageSeconds", "self"),
                        iterable(f.get("replicas").get(0).fieldNames()));

                // the lease is kept alive beyond its TTL, without rewriting the value
                long writes = registry.writes();
                Thread.sleep(3000);
                assertTrue(kv(client, prefix + "replicas/pod-a").isPresent(), "still registered after 1.5 TTL");
                assertEquals(writes, registry.writes(), "no write at idle (keep-alives only)");
                assertFalse(registry.status().lagging());
            } finally {
                registry.close();
            }
        }
    }

    @Test
    void aBurstOfChangesIsCoalescedIntoAFewWrites(TestInfo info) throws Exception {
        String prefix = prefix(info);
        etcd.put(prefix + "models/m", MODEL);
        Settings.Store store = store(etcd, prefix);
        try (EtcdPolicyStore policy = new EtcdPolicyStore(store, Clock.systemUTC());
             Client client = client(etcd)) {
            policy.start();
            ReplicaRegistry registry = new ReplicaRegistry(store, replica(Optional.of("burst"), Optional.empty()),
                    policy, () -> 0, "127.0.0.1", 9090, Clock.systemUTC());
            try {
                registry.start();
                await(registry::registered, "registered");
                long versionBefore = kv(client, prefix + "replicas/burst").orElseThrow().getVersion();
                long writesBefore = registry.writes();
                long last = 0;
                long t0 = System.nanoTime();
                for (int i = 0; i < 100; i++) {
                    last = client.getKVClient().put(bytes(prefix + "models/m"), bytes(MODEL.replace("vllm-0",
                            "vllm-" + i))).get(5, TimeUnit.SECONDS).getHeader().getRevision();
                }
                long burstMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                long target = last;
                await(() -> value(client, prefix + "replicas/burst").map(v -> v.contains("\"appliedRevision\":"
                        + target)).orElse(false), "the last revision registered");
                Thread.sleep(500); // nothing more comes
                long versionAfter = kv(client, prefix + "replicas/burst").orElseThrow().getVersion();
                long writes = versionAfter - versionBefore;
                System.out.printf("registry writes for a burst of 100 changes in %d ms: %d%n", burstMs, writes);
                // at most one write per ROUTER_REPLICA_UPDATE_MS (100 ms) while the burst lasts, and the last one
                assertTrue(writes >= 1 && writes <= burstMs / 100 + 3, "coalesced: " + writes + " writes in "
                        + burstMs + " ms");
                assertEquals(writes, registry.writes() - writesBefore);
            } finally {
                registry.close();
            }
        }
    }

    @Test
    void drainsThenRemovesItselfOnClose(TestInfo info) throws Exception {
        String prefix = prefix(info);
        Settings.Store store = store(etcd, prefix);
        try (EtcdPolicyStore policy = new EtcdPolicyStore(store, Clock.systemUTC());
             Client client = client(etcd)) {
            policy.start();
            ReplicaRegistry registry = new ReplicaRegistry(store, replica(Optional.of("leaving"), Optional.empty()),
                    policy, () -> 0, "127.0.0.1", 9090, Clock.systemUTC());
            registry.start();
            await(registry::registered, "registered");
            long lease = kv(client, prefix + "replicas/leaving").orElseThrow().getLease();
            registry.draining();
            await(() -> value(client, prefix + "replicas/leaving").map(v -> v.contains("\"state\":\"draining\""))
                    .orElse(false), "draining written");
            long t0 = System.nanoTime();
            registry.close(Duration.ofMillis(500));
            long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            assertTrue(ms < 700, "close within its budget: " + ms + " ms");
            assertTrue(kv(client, prefix + "replicas/leaving").isEmpty(), "key deleted");
            long ttl = client.getLeaseClient().timeToLive(lease, LeaseOption.DEFAULT).get(5, TimeUnit.SECONDS).getTTL();
            assertTrue(ttl <= 0, "lease revoked, TTL " + ttl);
        }
    }

    @Test
    void registersAgainWhenItsLeaseIsLostAndAfterEtcdComesBack(TestInfo info) throws Exception {
        String prefix = prefix(info);
        try (EtcdProcess own = EtcdProcess.start()) {
            own.put(prefix + "models/m", MODEL);
            Settings.Store store = store(own, prefix);
            try (EtcdPolicyStore policy = new EtcdPolicyStore(store, Clock.systemUTC());
                 Client client = client(own)) {
                policy.start();
                ReplicaRegistry registry = new ReplicaRegistry(store, replica(Optional.of("phoenix"), Optional.empty()),
                        policy, () -> 0, "127.0.0.1", 9090, Clock.systemUTC());
                try {
                    registry.start();
                    await(registry::registered, "registered");
                    long first = kv(client, prefix + "replicas/phoenix").orElseThrow().getLease();

                    // the lease is lost (as if it expired): the key goes with it, and comes back on a new lease
                    client.getLeaseClient().revoke(first).get(5, TimeUnit.SECONDS);
                    await(() -> kv(client, prefix + "replicas/phoenix").map(kv -> kv.getLease() != first)
                            .orElse(false), "registered again on a new lease");

                    // etcd away for longer than the TTL: serving goes on; registered again once etcd is back
                    own.kill();
                    await(() -> !registry.registered(), "registration counted as lost after the TTL");
                    assertTrue(policy.current().isPresent(), "the policy stays in force");
                    own.restart();
                    awaitWithin(Duration.ofSeconds(20), registry::registered, "registered again");
                    awaitWithin(Duration.ofSeconds(20), () -> kv(client, prefix + "replicas/phoenix").isPresent(),
                            "the key is back");
                } finally {
                    registry.close();
                }
            }
        }
    }

    @Test
    void theIdIsThePodNameElseHostAndPid() {
        assertEquals("pod-7", ReplicaRegistry.replicaId(replica(Optional.of("pod-7"), Optional.empty())));
        String id = ReplicaRegistry.replicaId(replica(Optional.empty(), Optional.empty()));
        assertTrue(id.endsWith("-" + ProcessHandle.current().pid()), id);
        assertFalse(id.contains("/"));
    }

    // ------------------------------------------------------------------ helpers

    static String prefix(TestInfo info) {
        return "/t-" + info.getTestMethod().orElseThrow().getName() + "/";
    }

    static Settings.Store store(EtcdProcess etcd, String prefix) {
        return new Settings.Store(Optional.empty(), false, Duration.ofSeconds(1), List.of(etcd.endpointUri()), prefix,
                Duration.ofMillis(500), Duration.ofMillis(1000), Path.of(System.getProperty("java.io.tmpdir"),
                "registry-test-lkg-" + ProcessHandle.current().pid() + prefix.replace('/', '_') + ".json"),
                Settings.EtcdSecurity.NONE);
    }

    static Settings.Replica replica(Optional<String> podName, Optional<String> podIp) {
        return new Settings.Replica(Duration.ofMillis(2000), Duration.ofMillis(100), 0, Duration.ofMillis(10_000),
                podName, podIp);
    }

    static Client client(EtcdProcess etcd) {
        return Client.builder().endpoints(etcd.endpointUri()).build();
    }

    static Optional<KeyValue> kv(Client client, String key) {
        try {
            List<KeyValue> kvs = client.getKVClient().get(bytes(key)).get(5, TimeUnit.SECONDS).getKvs();
            return kvs.isEmpty() ? Optional.empty() : Optional.of(kvs.get(0));
        } catch (Exception e) {
            return Optional.empty();
        }
    }

    static Optional<String> value(Client client, String key) {
        return kv(client, key).map(kv -> kv.getValue().toString(StandardCharsets.UTF_8));
    }

    static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    static List<String> iterable(java.util.Iterator<String> it) {
        List<String> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    static void await(BooleanSupplier condition, String what) {
        awaitWithin(Duration.ofSeconds(15), condition, what);
    }

    static void awaitWithin(Duration limit, BooleanSupplier condition, String what) {
        try {
            org.awaitility.Awaitility.await().atMost(limit).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(20))
                    .until(condition::getAsBoolean);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("not within " + limit.toMillis() + " ms: " + what, e);
        }
    }
}
