package dev.apirouter.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import dev.apirouter.config.Config;
import dev.apirouter.policy.PolicyDocuments;
import dev.apirouter.testing.EtcdProcess;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.support.CloseableClient;
import io.etcd.jetcd.watch.WatchEvent;
import io.grpc.stub.StreamObserver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code --wait} and {@code fleet} against a real etcd, with fake replicas written the way the gateway writes them:
 * {@code <prefix>replicas/<id>} on a lease, {@code appliedRevision} raised some time after each change of
 * {@code keys/} or {@code models/} (or never: a frozen replica).
 */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class RegistryCliTest {
    private static final String MODEL = "{\"backends\":[{\"url\":\"http://vllm-0:8000\"}]}";
    private static EtcdProcess etcd;
    private static Client client;

    @TempDir
    Path tmp;

    record Result(int code, String out, String err, long ms) {
    }

    @BeforeAll
    static void startEtcd() throws IOException {
        if (EtcdProcess.installed()) {
            etcd = EtcdProcess.start();
            client = Client.builder().endpoints(etcd.endpoint()).build();
        }
    }

    @AfterAll
    static void stopEtcd() {
        if (client != null) {
            client.close();
        }
        if (etcd != null) {
            etcd.close();
        }
    }

    @Test
    void everyReplicaConfirmsEachKindOfChange(TestInfo info) throws Exception {
        Map<String, String> env = etcdEnv(info);
        String prefix = env.get("ROUTER_ETCD_PREFIX");
        Path model = write("m.json", MODEL);
        try (FakeReplica a = new FakeReplica(prefix, "gw-1", 10, true, 30);
             FakeReplica b = new FakeReplica(prefix, "gw-2", 10, true, 150);
             FakeReplica c = new FakeReplica(prefix, "gw-3", 10, true, 300)) {
            Result put = run(env, "policy", "put", "--model", "llama", "--file", model.toString(), "--wait");
            assertEquals(0, put.code(), put.err());
            long revision = Long.parseLong(put.out().replaceAll("(?s).*at revision (\\d+).*", "$1"));
            assertConfirmedBy(put, revision, "gw-1", "gw-2", "gw-3");
            assertTrue(put.err().contains("waiting for 3 replica(s) to apply revision " + revision + " (timeout 30s)"),
                    put.err());

            Result created = run(env, "keys", "create", "--name", "team-a", "--models", "llama", "--wait");
            assertEquals(0, created.code(), created.err());
            assertEquals(1, created.out().lines().count(), "stdout is the key alone: " + created.out());
            assertTrue(created.err().contains("confirmed  gw-3  rev "), created.err());

            Result revoked = run(env, "keys", "revoke", "--name", "team-a", "--wait-timeout", "10s");
            assertEquals(0, revoked.code(), revoked.err());
            assertTrue(revoked.err().contains("confirmed: 3 replica(s) applied revision"), revoked.err());
            assertTrue(revoked.ms() < 5000, revoked.ms() + " ms");

            Result deleted = run(env, "policy", "delete", "--model", "llama", "--wait");
            assertEquals(0, deleted.code(), deleted.err());
            assertTrue(deleted.err().contains("confirmed  gw-2  rev "), deleted.err());

            // fleet: all three, with their applied revisions
            Result fleet = run(env, "fleet");
            assertEquals(0, fleet.code(), fleet.err());
            List<String> lines = fleet.out().lines().toList();
            assertTrue(lines.get(0).matches("ID\\s+STATE\\s+APPLIED\\s+LAG\\s+VERSION\\s+AGE\\s+MANAGEMENT"),
                    fleet.out());
            assertEquals(4, lines.size(), fleet.out());
            assertTrue(lines.get(1).matches("gw-1\\s+serving\\s+\\d+\\s+\\d+\\s+test-1\\s+\\d+s\\s+127\\.0\\.0\\.1:"
                    + "9001"), lines.get(1));
            assertTrue(fleet.err().contains("3 replica(s); store revision"), fleet.err());
            Result json = run(env, "fleet", "--json");
            assertEquals(0, json.code(), json.err());
            JsonNode root = PolicyDocuments.JSON.readTree(json.out());
            assertTrue(root.path("revision").asLong() > 0, json.out());
            assertEquals(3, root.path("replicas").size(), json.out());
            JsonNode first = root.path("replicas").get(0);
            assertEquals("gw-1", first.path("id").asText());
            assertEquals(a.applied(), first.path("appliedRevision").asLong());
            assertEquals(Math.max(0, root.path("policyRevision").asLong() - a.applied()), first.path("lag").asLong());
            assertTrue(root.path("policyRevision").asLong() <= root.path("revision").asLong(), json.out());
            assertTrue(first.path("ageSeconds").isIntegralNumber(), first.toString());
            assertEquals("127.0.0.1:9001", first.path("managementAddress").asText());
            assertTrue(first.path("invalid").isNull());
        }
    }

    @Test
    void aFrozenReplicaMakesTheWaitTimeOutAndIsNamed(TestInfo info) throws Exception {
        Map<String, String> env = etcdEnv(info);
        String prefix = env.get("ROUTER_ETCD_PREFIX");
        try (FakeReplica a = new FakeReplica(prefix, "gw-1", 10, true, 30);
             FakeReplica frozen = new FakeReplica(prefix, "gw-frozen", 10, true, -1)) {
            Result put = run(env, "policy", "put", "--model", "llama", "--file", write("m.json", MODEL).toString(),
                    "--wait-timeout", "1500ms");
            assertEquals(Cli.EXIT_NOT_CONFIRMED, put.code(), put.err());
            long revision = Long.parseLong(put.out().replaceAll("(?s).*at revision (\\d+).*", "$1"));
            assertTrue(put.err().contains("confirmed  gw-1  rev "), put.err());
            long behind = revision - frozen.applied();
            assertTrue(put.err().contains("lagging    gw-frozen  applied rev " + frozen.applied() + "  " + behind
                    + " revision(s) behind  (serving, 127.0.0.1:9001)"), put.err());
            assertTrue(put.err().contains("not confirmed within 1500ms: 1 replica(s) have not applied revision "
                    + revision + " (gw-frozen); 1 confirmed"), put.err());
            assertTrue(put.ms() >= 1400 && put.ms() < 4000, "bounded by the timeout: " + put.ms() + " ms");
        }
    }

    @Test
    void aReplicaWhoseLeaseExpiresIsDroppedAndOneThatJoinsIsWaitedFor(TestInfo info) throws Exception {
        Map<String, String> env = etcdEnv(info);
        String prefix = env.get("ROUTER_ETCD_PREFIX");
        ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor();
        List<FakeReplica> joined = new ArrayList<>();
        try (FakeReplica a = new FakeReplica(prefix, "gw-1", 10, true, 30);
             FakeReplica expiring = new FakeReplica(prefix, "gw-expiring", 2, false, -1)) {
            // joins 300 ms into the wait with an old revision, applies the change 1 s later
            later.schedule(() -> {
                FakeReplica j = new FakeReplica(prefix, "gw-late", 10, true, -1);
                joined.add(j);
                j.applyLatestAfter(1000);
                return j;
            }, 300, TimeUnit.MILLISECONDS);
            Result put = run(env, "policy", "put", "--model", "llama", "--file", write("m.json", MODEL).toString(),
                    "--wait-timeout", "20s");
            assertEquals(0, put.code(), put.err());
            assertTrue(put.err().contains("confirmed  gw-1  rev "), put.err());
            assertTrue(put.err().contains("confirmed  gw-late  rev "), "joined during the wait: " + put.err());
            assertTrue(put.err().contains("left       gw-expiring  (left the registry before confirming"), put.err());
            assertTrue(put.err().contains("confirmed: 2 replica(s) applied revision"), put.err());
            assertTrue(put.err().contains("1 left the registry without confirming (gw-expiring)"), put.err());
            assertTrue(put.ms() < 10_000, "the lease (2 s) ended the wait for it, not the timeout: " + put.ms());
        } finally {
            later.shutdownNow();
            joined.forEach(FakeReplica::close);
        }
    }

    @Test
    void noReplicaRegisteredSaysNothingWasConfirmed(TestInfo info) throws Exception {
        Map<String, String> env = etcdEnv(info);
        Result put = run(env, "policy", "put", "--model", "llama", "--file", write("m.json", MODEL).toString(),
                "--wait");
        assertEquals(0, put.code(), put.err());
        assertTrue(put.err().contains("warning: no replica is registered under " + env.get("ROUTER_ETCD_PREFIX")
                + "replicas/: nothing to confirm"), put.err());
        Result fleet = run(env, "fleet");
        assertEquals(0, fleet.code(), fleet.err());
        assertEquals(1, fleet.out().lines().count(), "the header only: " + fleet.out());
        assertTrue(fleet.err().contains("no replica is registered"), fleet.err());
    }

    @Test
    void waitAndFleetNeedEtcdAndFleetSaysWhenItIsUnreachable() throws Exception {
        Path policy = write("policy.yaml", "models:\n  llama: " + MODEL + "\nkeys: {}\n");
        Map<String, String> file = new HashMap<>(Map.of("ROUTER_POLICY_FILE", policy.toString()));
        Result put = run(file, "policy", "put", "--model", "x", "--file", write("x.json", MODEL).toString(), "--wait");
        assertEquals(Cli.EXIT_USAGE, put.code(), put.err());
        assertTrue(put.err().contains("--wait needs the etcd store"), put.err());
        assertTrue(put.out().isEmpty(), "nothing printed to paste: " + put.out());
        assertEquals(Cli.EXIT_USAGE, run(file, "fleet").code());
        assertEquals(Cli.EXIT_USAGE, run(file, "keys", "revoke", "--name", "a", "--wait-timeout", "soon").code());

        Map<String, String> down = env("http://127.0.0.1:" + EtcdProcess.freePort(), "/x/");
        Result fleet = run(down, "fleet");
        assertEquals(Cli.EXIT_ETCD, fleet.code(), fleet.err());
        assertTrue(fleet.err().contains("did not answer"), fleet.err());

        Result help = run(file, "--help");
        assertTrue(help.out().contains("  fleet [--json]"), help.out());
        assertTrue(help.out().contains("4 not confirmed"), help.out());
        Result revokeHelp = run(file, "keys", "revoke", "--help");
        assertTrue(revokeHelp.out().contains("--wait-timeout DURATION"), revokeHelp.out());
        assertEquals(0, run(file, "fleet", "--help").code());
    }

    // ------------------------------------------------------------------ kit

    private static void assertConfirmedBy(Result r, long revision, String... ids) {
        for (String id : ids) {
            assertTrue(r.err().matches("(?s).*confirmed  " + id + "  rev \\d+  after \\d+ ms.*"), id + ": " + r.err());
        }
        assertTrue(r.err().contains("confirmed: " + ids.length + " replica(s) applied revision " + revision
                + " within "), r.err());
    }

    /**
     * A gateway process as the registry sees it: a lease (kept alive or not), its record, and {@code appliedRevision}
     * raised to the revision of each change of keys/ or models/ {@code delayMs} after it (-1: never, frozen).
     */
    static final class FakeReplica implements AutoCloseable {
        private final String key;
        private final String id;
        private final String prefix;
        private final long lease;
        private final CloseableClient keepAlive;
        private final List<Watch.Watcher> watchers = new ArrayList<>();
        private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
        private volatile long applied;

        FakeReplica(String prefix, String id, long ttlSeconds, boolean keepAlive, long delayMs) {
            try {
                this.prefix = prefix;
                this.id = id;
                this.key = prefix + "replicas/" + id;
                this.lease = client.getLeaseClient().grant(ttlSeconds).get(5, TimeUnit.SECONDS).getID();
                this.keepAlive = keepAlive ? client.getLeaseClient().keepAlive(lease, new StreamObserver<>() {
                    @Override
                    public void onNext(io.etcd.jetcd.lease.LeaseKeepAliveResponse value) {
                    }

                    @Override
                    public void onError(Throwable t) {
                    }

                    @Override
                    public void onCompleted() {
                    }
                }) : null;
                long now = client.getKVClient().get(bytes(key)).get(5, TimeUnit.SECONDS).getHeader().getRevision();
                write(now);
                if (delayMs >= 0) {
                    for (String watched : List.of("keys/", "models/")) {
                        watchers.add(client.getWatchClient().watch(bytes(prefix + watched), WatchOption.builder()
                                .isPrefix(true).withRevision(now + 1).build(), response -> {
                                    long max = response.getEvents().stream().map(WatchEvent::getKeyValue)
                                            .mapToLong(kv -> kv.getModRevision()).max().orElse(0);
                                    scheduler.schedule(() -> write(max), delayMs, TimeUnit.MILLISECONDS);
                                }));
                    }
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }

        /** Applies whatever the store holds now, {@code delayMs} from now. */
        void applyLatestAfter(long delayMs) {
            scheduler.schedule(() -> {
                try {
                    write(client.getKVClient().get(bytes(key)).get(5, TimeUnit.SECONDS).getHeader().getRevision());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }, delayMs, TimeUnit.MILLISECONDS);
        }

        long applied() {
            return applied;
        }

        private synchronized void write(long revision) {
            applied = Math.max(applied, revision);
            String record = "{\"id\":\"" + id + "\",\"version\":\"test-1\",\"startedAt\":\"" + java.time.Instant.now()
                    + "\",\"managementAddress\":\"127.0.0.1:9001\",\"appliedRevision\":" + applied
                    + ",\"routesGeneration\":1,\"state\":\"serving\"}";
            try {
                client.getKVClient().put(bytes(key), bytes(record), PutOption.builder().withLeaseId(lease).build())
                        .get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                // the lease expired (a replica that was meant to disappear): nothing to write any more
            }
        }

        @Override
        public void close() {
            scheduler.shutdownNow();
            watchers.forEach(Watch.Watcher::close);
            if (keepAlive != null) {
                keepAlive.close();
            }
            try { // a graceful shutdown: the record goes at once
                client.getLeaseClient().revoke(lease).get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                // already expired
            }
        }

        private static ByteSequence bytes(String s) {
            return ByteSequence.from(s, StandardCharsets.UTF_8);
        }
    }

    private Map<String, String> etcdEnv(TestInfo info) {
        EtcdProcess.assumeInstalled();
        return env(etcd.endpoint(), "/reg/" + info.getTestMethod().orElseThrow().getName() + "/");
    }

    private static Map<String, String> env(String endpoints, String prefix) {
        Map<String, String> env = new HashMap<>();
        env.put("ETCD_ENDPOINTS", endpoints);
        env.put("ROUTER_ETCD_PREFIX", prefix);
        env.put("ROUTER_ETCD_CONNECT_TIMEOUT_MS", "1000");
        env.put("ROUTER_ETCD_CALL_TIMEOUT_MS", "2500");
        return env;
    }

    private static Result run(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        int code = Cli.run(args, new Config(env, Config.bundledDefaults()),
                new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8),
                (System.nanoTime() - t0) / 1_000_000);
    }

    private Path write(String name, String content) throws IOException {
        Path file = tmp.resolve(name);
        Files.writeString(file, content);
        return file;
    }
}
