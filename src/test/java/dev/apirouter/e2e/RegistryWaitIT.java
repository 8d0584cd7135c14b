package dev.apirouter.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.testing.EtcdProcess;
import dev.apirouter.testing.GatewayProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 15 end to end: a real etcd, three gateway processes on the etcd store, and the operator commands run as an
 * operator runs them ({@code java -jar ... keys revoke --wait}).
 * <ol>
 * <li>{@code keys revoke --wait} returns (exit 0) once all three have applied the revocation, one {@code confirmed}
 * line per replica with its time; each gateway then refuses the key with 401.</li>
 * <li>The same commands through one gateway's admin API ({@code ROUTER_ADMIN_URL}, no etcd address): {@code keys
 * create|revoke --wait} confirm all three, {@code fleet} lists them; a wrong token is exit 1.</li>
 * <li>One replica frozen with SIGSTOP: {@code --wait --wait-timeout 1500ms} exits 4 naming it, on etcd and through
 * the admin API (where the new key is still printed); after SIGCONT it catches up (lag 0 in
 * {@code /v1/status/fleet}, and it refuses the key).</li>
 * <li>SIGKILL: the replica leaves the registry within its lease's TTL (3 s) plus a margin.</li>
 * <li>SIGTERM: the replica removes itself at once, well before its lease could expire.</li>
 * </ol>
 * The frozen replica ({@code gw-2}) has a longer lease TTL (15 s) than the others (3 s): it must outlive the CLI's JVM
 * start on a loaded machine plus the 1.5 s wait, else the frozen replica would leave the registry (lease expired)
 * before the wait times out, and the wait would rightly drop it instead of naming it.
 */
@Timeout(180)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RegistryWaitIT {
    static final String ADMIN = "admin-token-for-the-registry-wait-it";
    static final String P = "/api-router/";
    static final long TTL_MS = 3000;
    static final long FROZEN_TTL_MS = 15000;
    static final Pattern CONFIRMED = Pattern.compile("(?m)^confirmed\\s+(\\S+)\\s+rev (\\d+)\\s+after (\\d+) ms$");
    static final Pattern WAITING = Pattern.compile("waiting for (\\d+) replica\\(s\\) to apply revision (\\d+)");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    static EtcdProcess etcd;
    static Path dir;
    static final Map<String, GatewayProcess> gateways = new LinkedHashMap<>();

    record Run(int exit, String out, String err, long millis) {
    }

    @BeforeAll
    static void startEtcdAndThreeGateways() throws Exception {
        etcd = EtcdProcess.start();
        dir = Files.createTempDirectory("registry-wait-it");
        etcd.put(P + "models/m", "{\"backends\":[{\"url\":\"http://127.0.0.1:9\"}]}"); // never reached: auth first
        for (int i = 0; i < 3; i++) {
            String id = "gw-" + i;
            Map<String, String> env = GatewayProcess.env("ETCD_ENDPOINTS", etcd.endpoint(), "ROUTER_ADMIN_TOKEN", ADMIN,
                    "ROUTER_REPLICA_TTL_MS", Long.toString(i == 2 ? FROZEN_TTL_MS : TTL_MS), "POD_NAME", id,
                    "ROUTER_DATA_DIR", dir.resolve(id).toString(), "ROUTER_SHUTDOWN_GRACE_MS", "2000");
            env.put("ROUTER_POLICY_FILE", null);
            env.put("ROUTER_DEMO", null);
            gateways.put(id, GatewayProcess.start(env)); // all three start side by side
        }
        long t0 = System.nanoTime();
        for (GatewayProcess gw : gateways.values()) {
            gw.awaitReady(Duration.ofSeconds(60));
        }
        await(Duration.ofSeconds(20), () -> etcd.keys(P + "replicas/").size() == 3, "three replicas registered");
        System.out.printf("RegistryWaitIT: 3 gateways ready and registered %d ms after the first readyz poll%n",
                ms(t0));
    }

    @AfterAll
    static void stopEverything() throws Exception {
        for (GatewayProcess gw : gateways.values()) {
            if (gw.isAlive()) {
                signal("CONT", gw.pid()); // a stopped process would never act on SIGTERM
            }
            gw.close(); // SIGTERM by PID, SIGKILL after 10 s
        }
        if (etcd != null) {
            etcd.close(); // SIGKILL by PID, data deleted
        }
        if (dir != null) {
            try (var paths = Files.walk(dir)) {
                paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    @Order(1)
    void revokeWaitReturnsAfterAllThreeApplyItAndEachThenRefusesTheKey() throws Exception {
        Run create = cli("keys", "create", "--name", "leaked", "--models", "m", "--wait");
        assertEquals(0, create.exit(), create.err());
        String key = create.out().strip();
        assertTrue(key.matches("sk-[A-Za-z0-9_-]{43}"), create.out());
        assertEquals(3, confirmations(create.err()).size(), create.err());
        for (GatewayProcess gw : gateways.values()) { // accepted (the backend is unreachable: anything but 401)
            assertNotEquals(401, chat(gw, key), "before the revocation");
        }

        Run revoke = cli("keys", "revoke", "--name", "leaked", "--wait", "--wait-timeout", "30s");
        assertEquals(0, revoke.exit(), revoke.out() + revoke.err());
        Matcher waiting = WAITING.matcher(revoke.err());
        assertTrue(waiting.find(), revoke.err());
        assertEquals(3, Integer.parseInt(waiting.group(1)), revoke.err());
        long revision = Long.parseLong(waiting.group(2));
        Map<String, long[]> confirmed = confirmations(revoke.err());
        assertEquals(gateways.keySet(), confirmed.keySet(), revoke.err());
        confirmed.forEach((id, revAndMs) -> assertTrue(revAndMs[0] >= revision, id + ": " + revoke.err()));
        assertTrue(revoke.err().contains("confirmed: 3 replica(s) applied revision " + revision), revoke.err());
        System.out.printf("(a) keys revoke --wait: exit 0 after %d ms (JVM start included); confirmations %s%n",
                revoke.millis(), describe(confirmed));

        // returned only after all three applied it: each refuses the key at once, no waiting
        for (Map.Entry<String, GatewayProcess> e : gateways.entrySet()) {
            assertEquals(401, chat(e.getValue(), key), e.getKey() + " after revoke --wait returned");
        }
    }

    @Test
    @Order(2)
    void throughOneGatewaysAdminApiTheSameCommandsWaitForAllThree() throws Exception {
        GatewayProcess via = gateways.get("gw-1");
        Run create = cliThroughAdminApi(via, "keys", "create", "--name", "leaked-api", "--models", "m", "--wait");
        assertEquals(0, create.exit(), create.err());
        String key = create.out().strip();
        assertTrue(key.matches("sk-[A-Za-z0-9_-]{43}"), create.out());
        assertEquals(gateways.keySet(), confirmations(create.err()).keySet(), create.err());
        for (GatewayProcess gw : gateways.values()) {
            assertNotEquals(401, chat(gw, key), "before the revocation");
        }

        Run revoke = cliThroughAdminApi(via, "keys", "revoke", "--name", "leaked-api", "--wait");
        assertEquals(0, revoke.exit(), revoke.out() + revoke.err());
        assertTrue(revoke.out().startsWith("disabled 'leaked-api' (keys/"), revoke.out());
        Matcher summary = Pattern.compile("confirmed: 3 replica\\(s\\) applied revision (\\d+) within \\d+ ms")
                .matcher(revoke.err());
        assertTrue(summary.find(), revoke.err());
        long revision = Long.parseLong(summary.group(1));
        Map<String, long[]> confirmed = confirmations(revoke.err());
        assertEquals(gateways.keySet(), confirmed.keySet(), revoke.err());
        confirmed.forEach((id, revAndMs) -> assertTrue(revAndMs[0] >= revision, id + ": " + revoke.err()));
        System.out.printf("(a') keys revoke --wait through gw-1's admin API: exit 0 after %d ms (JVM start"
                + " included); confirmations %s%n", revoke.millis(), describe(confirmed));
        for (Map.Entry<String, GatewayProcess> e : gateways.entrySet()) {
            assertEquals(401, chat(e.getValue(), key), e.getKey() + " after revoke --wait returned");
        }

        Run fleet = cliThroughAdminApi(via, "fleet");
        assertEquals(0, fleet.exit(), fleet.err());
        for (String id : gateways.keySet()) {
            assertTrue(Pattern.compile("(?m)^" + id + "\\s+serving\\s+\\d+\\s+0\\s").matcher(fleet.out()).find(),
                    fleet.out());
        }
        Run wrongToken = cli(Map.of("ROUTER_ADMIN_URL", via.managementUri("").toString(), "ROUTER_ADMIN_TOKEN",
                "not-the-token"), "fleet");
        assertEquals(1, wrongToken.exit(), wrongToken.err());
        assertTrue(wrongToken.err().contains("401") && !wrongToken.err().contains("not-the-token"), wrongToken.err());
    }

    @Test
    @Order(3)
    void aFrozenReplicaMakesTheWaitTimeOutNamingItAndCatchesUpWhenResumed() throws Exception {
        Run create = cli("keys", "create", "--name", "leaked-2", "--models", "m", "--wait");
        assertEquals(0, create.exit(), create.err());
        String key = create.out().strip();
        GatewayProcess frozen = gateways.get("gw-2");
        long revision;
        Run revoke;
        signal("STOP", frozen.pid());
        long frozenAt = System.nanoTime();
        try {
            revoke = cli("keys", "revoke", "--name", "leaked-2", "--wait", "--wait-timeout", "1500ms");
            System.out.printf("(b) frozen gw-2: keys revoke --wait --wait-timeout 1500ms exit %d after %d ms"
                    + " (JVM start included); gw-2 frozen for %d ms by then%n", revoke.exit(), revoke.millis(),
                    ms(frozenAt));
            assertEquals(4, revoke.exit(), revoke.out() + revoke.err());
            Matcher waiting = WAITING.matcher(revoke.err());
            assertTrue(waiting.find(), revoke.err());
            revision = Long.parseLong(waiting.group(2));
            assertTrue(Pattern.compile("(?m)^lagging\\s+gw-2\\s+applied rev \\d+").matcher(revoke.err()).find(),
                    revoke.err());
            assertTrue(revoke.err().contains("not confirmed within") && revoke.err().contains("(gw-2)"),
                    revoke.err());
            assertEquals(Set.of("gw-0", "gw-1"), Set.copyOf(confirmations(revoke.err()).keySet()),
                    revoke.err()); // in the order they confirmed

            assertTrue(revoke.err().contains("2 confirmed"), revoke.err());

            // the same through gw-0's admin API: the change is made, the wait names gw-2, exit 4
            Run viaApi = cliThroughAdminApi(gateways.get("gw-0"), "keys", "create", "--name", "while-frozen",
                    "--models", "m", "--wait-timeout", "1500ms");
            assertEquals(4, viaApi.exit(), viaApi.out() + viaApi.err());
            assertTrue(viaApi.out().strip().matches("sk-[A-Za-z0-9_-]{43}"), "the key is shown: " + viaApi.out());
            assertTrue(viaApi.err().contains("not confirmed") && viaApi.err().contains("gw-2 (applied revision"),
                    viaApi.err());
            assertNotEquals(401, chat(gateways.get("gw-0"), viaApi.out().strip()), "made although not confirmed");
        } finally {
            signal("CONT", frozen.pid());
        }
        long resumed = System.nanoTime();
        await(Duration.ofSeconds(20), () -> {
            JsonNode member = member(fleet(gateways.get("gw-0")), "gw-2");
            return member != null && member.path("appliedRevision").asLong() >= revision
                    && member.path("lag").asLong() == 0;
        }, "gw-2 caught up in /v1/status/fleet");
        long caughtUp = ms(resumed);
        assertEquals(401, chat(frozen, key), "gw-2 refuses the key once resumed");
        System.out.printf("(b) gw-2 resumed: lag 0 in /v1/status/fleet %d ms after SIGCONT%n", caughtUp);
    }

    @Test
    @Order(4)
    void sigkillRemovesAReplicaWithinTheLeaseTtl() throws Exception {
        GatewayProcess victim = gateways.get("gw-0");
        GatewayProcess observer = gateways.get("gw-2");
        assertTrue(member(fleet(observer), "gw-0") != null, "gw-0 registered before the kill");
        long t0 = System.nanoTime();
        signal("KILL", victim.pid());
        assertTrue(victim.waitFor(Duration.ofSeconds(10)), "killed");
        await(Duration.ofMillis(TTL_MS + 10_000), () -> member(fleet(observer), "gw-0") == null,
                "gw-0 gone from the registry");
        long took = ms(t0);
        System.out.printf("(c) SIGKILL gw-0: gone from the registry after %d ms (lease TTL %d ms)%n", took, TTL_MS);
        assertTrue(took <= TTL_MS + 1500, "within the TTL and etcd's expiry tick: " + took + " ms");
        assertTrue(took >= 1000, "a lease, not a goodbye: " + took + " ms");
    }

    @Test
    @Order(5)
    void sigtermRemovesAReplicaAtOnce() throws Exception {
        GatewayProcess victim = gateways.get("gw-1");
        GatewayProcess observer = gateways.get("gw-2");
        assertTrue(member(fleet(observer), "gw-1") != null, "gw-1 registered before SIGTERM");
        long t0 = System.nanoTime();
        victim.terminateAsync();
        await(Duration.ofMillis(TTL_MS + 10_000), () -> member(fleet(observer), "gw-1") == null,
                "gw-1 gone from the registry");
        long took = ms(t0);
        assertTrue(victim.waitFor(Duration.ofSeconds(20)), "exited");
        System.out.printf("(d) SIGTERM gw-1: gone from the registry after %d ms, exited (%d) (lease TTL %d ms)%n",
                took, victim.exitValue(), TTL_MS);
        assertTrue(victim.output().contains("Replica gw-1 removed from the registry"), victim.output());
        assertTrue(took < TTL_MS, "removed by the replica itself, not by its lease: " + took + " ms");
    }

    // ------------------------------------------------------------------------------------------------------------

    /** replica id -> {applied revision, ms}, in the order printed */
    static Map<String, long[]> confirmations(String err) {
        Map<String, long[]> out = new LinkedHashMap<>();
        Matcher m = CONFIRMED.matcher(err);
        while (m.find()) {
            out.put(m.group(1), new long[] {Long.parseLong(m.group(2)), Long.parseLong(m.group(3))});
        }
        return out;
    }

    static String describe(Map<String, long[]> confirmed) {
        List<String> parts = new ArrayList<>();
        confirmed.forEach((id, v) -> parts.add(id + " rev " + v[0] + " after " + v[1] + " ms"));
        return String.join(", ", parts);
    }

    static int chat(GatewayProcess gw, String key) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(gw.uri("/v1/chat/completions")).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"m\",\"messages\":[],\"max_tokens\":1}"))
                .build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    static JsonNode fleet(GatewayProcess gw) {
        try {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(gw.managementUri("/v1/status/fleet"))
                    .timeout(Duration.ofSeconds(5)).header("Authorization", "Bearer " + ADMIN).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, r.statusCode(), r.body());
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    static JsonNode member(JsonNode fleet, String id) {
        for (JsonNode r : fleet.path("replicas")) {
            if (id.equals(r.path("id").asText())) {
                return r;
            }
        }
        return null;
    }

    /** {@code kill -SIG pid}, bounded. */
    static void signal(String signal, long pid) throws Exception {
        Process p = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).redirectErrorStream(true).start();
        assertTrue(p.waitFor(5, TimeUnit.SECONDS), "kill -" + signal + " " + pid);
        assertEquals(0, p.exitValue(), "kill -" + signal + " " + pid + ": " + new String(p.getInputStream()
                .readAllBytes(), StandardCharsets.UTF_8));
    }

    /** The jar with {@code args}, against the test's etcd; standard output and error apart; bounded. */
    static Run cli(String... args) throws Exception {
        return cli(Map.of("ETCD_ENDPOINTS", etcd.endpoint()), args);
    }

    /** The jar with {@code args}, through {@code gw}'s admin API (ROUTER_ADMIN_URL, no ETCD_ENDPOINTS). */
    static Run cliThroughAdminApi(GatewayProcess gw, String... args) throws Exception {
        return cli(Map.of("ROUTER_ADMIN_URL", gw.managementUri("").toString(), "ROUTER_ADMIN_TOKEN", ADMIN), args);
    }

    static Run cli(Map<String, String> env, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Xmx256m", "-jar", GatewayProcess.jar().toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().keySet().removeIf(name -> name.startsWith("ROUTER_") || name.startsWith("ETCD_"));
        builder.environment().putAll(env);
        long t0 = System.nanoTime();
        Process p = builder.start();
        p.getOutputStream().close();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread o = drain(p.getInputStream(), out);
        Thread e = drain(p.getErrorStream(), err);
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            throw new AssertionError(String.join(" ", args) + " still running after 60 s; stderr: " + err);
        }
        long took = ms(t0);
        o.join(5000);
        e.join(5000);
        return new Run(p.exitValue(), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8),
                took);
    }

    private static Thread drain(InputStream in, ByteArrayOutputStream buffer) {
        Thread t = new Thread(() -> {
            try (in) {
                in.transferTo(buffer);
            } catch (IOException ignored) {
                // the process is gone
            }
        }, "cli-output");
        t.setDaemon(true);
        t.start();
        return t;
    }

    static long ms(long sinceNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - sinceNanos);
    }

    static void await(Duration atMost, BooleanSupplier condition, String what) {
        try {
            org.awaitility.Awaitility.await().atMost(atMost).pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(50)).ignoreExceptions().until(condition::getAsBoolean);
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            StringBuilder logs = new StringBuilder();
            gateways.forEach((id, gw) -> logs.append("--- ").append(id).append('\n').append(gw.output()));
            throw new AssertionError("not within " + atMost + ": " + what + "\n" + logs, e);
        }
    }
}
