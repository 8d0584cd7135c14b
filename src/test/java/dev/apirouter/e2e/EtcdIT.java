package dev.apirouter.e2e;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import dev.apirouter.auth.ApiKeys;
import dev.apirouter.sim.VllmSimulator;
import dev.apirouter.testing.EtcdProcess;
import dev.apirouter.testing.GatewayProcess;
import org.awaitility.core.ConditionTimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The jar against a real etcd: live policy, revocation, etcd outages, last-known-good, operator commands. */
@Timeout(180)
class EtcdIT {
    static final String KEY = "sk-etcd-it";
    static final String PREFIX = "/api-router/";
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    Path dir;

    static String model(VllmSimulator sim) {
        return "{\"upstreamModel\":\"" + VllmSimulator.DEFAULT_MODEL + "\",\"backends\":[{\"url\":\"" + sim.baseUrl() + "\"}]}";
    }

    static int chat(GatewayProcess gateway, String key, String model) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/chat/completions")).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"model\":\"" + model + "\",\"messages\":[],\"max_tokens\":1}"))
                .build(), HttpResponse.BodyHandlers.discarding()).statusCode();
    }

    static String readyz(GatewayProcess gateway) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/status/readyz")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
    }

    static long awaitStatus(GatewayProcess gateway, String key, String model, int status, Duration timeout) throws Exception {
        long t0 = System.nanoTime();
        try {
            await().atMost(timeout).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(20))
                    .until(() -> chat(gateway, key, model) == status);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("never got " + status + " for " + model + " within " + timeout, e);
        }
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    @Test
    void etcdIsTheLiveStoreAndOutagesNeverStopTheGateway() throws Exception {
        Path data = dir.resolve("data");
        try (VllmSimulator sim = VllmSimulator.start(new VllmSimulator.Options().port(0).tokenDelayMs(1));
             EtcdProcess etcd = EtcdProcess.start()) {
            etcd.put(PREFIX + "models/m", model(sim));
            etcd.put(PREFIX + "keys/" + ApiKeys.sha256Hex(KEY), "{\"name\":\"it\",\"models\":[\"*\"]}");
            var env = GatewayProcess.env("ETCD_ENDPOINTS", etcd.endpoint(), "ROUTER_DATA_DIR", data.toString());
            try (GatewayProcess gateway = GatewayProcess.start(env)) {
                gateway.awaitReady(Duration.ofSeconds(40));
                assertEquals(200, chat(gateway, KEY, "m"));

                // a model added in etcd is served without restart
                etcd.put(PREFIX + "models/added", model(sim));
                awaitStatus(gateway, KEY, "added", 200, Duration.ofSeconds(5));

                // an invalid document is rejected alone: the previous version stays, readyz names it
                etcd.put(PREFIX + "models/m", "{\"backends\":[]}");
                await("readyz names the rejected document").atMost(Duration.ofSeconds(5))
                        .pollInterval(Duration.ofMillis(50)).until(() -> readyz(gateway).contains("models/m"));
                assertEquals(200, chat(gateway, KEY, "m"));

                // a key disabled in etcd is refused within 1 s
                etcd.put(PREFIX + "keys/" + ApiKeys.sha256Hex(KEY), "{\"name\":\"it\",\"models\":[\"*\"],\"disabled\":true}");
                long ms = awaitStatus(gateway, KEY, "m", 401, Duration.ofSeconds(3));
                assertTrue(ms <= 1000, "revocation took " + ms + " ms");
                etcd.put(PREFIX + "keys/" + ApiKeys.sha256Hex(KEY), "{\"name\":\"it\",\"models\":[\"*\"]}");
                awaitStatus(gateway, KEY, "m", 200, Duration.ofSeconds(3));

                // etcd killed under traffic: every request still served from memory; after a restart the watch resumes
                AtomicInteger failures = new AtomicInteger();
                AtomicInteger sent = new AtomicInteger();
                List<Thread> load = new ArrayList<>();
                long loadUntil = System.nanoTime() + Duration.ofSeconds(4).toNanos();
                for (int t = 0; t < 2; t++) {
                    Thread th = new Thread(() -> {
                        for (int i = 0; i < 2000 && System.nanoTime() < loadUntil; i++) {
                            try {
                                if (chat(gateway, KEY, "m") != 200) {
                                    failures.incrementAndGet();
                                }
                            } catch (Exception e) {
                                failures.incrementAndGet();
                            }
                            sent.incrementAndGet();
                        }
                    });
                    th.start();
                    load.add(th);
                }
                await("the load is running").atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20))
                        .until(() -> sent.get() >= 20);
                assertTrue(readyz(gateway).contains("{\"name\":\"etcd\",\"status\":\"UP\",\"data\":{\"connected\":true"),
                        readyz(gateway));
                etcd.kill();
                await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100)).untilAsserted(() -> {
                    String body = readyz(gateway);
                    assertTrue(body.contains("{\"name\":\"etcd\",\"status\":\"UP\",\"data\":{\"connected\":false"),
                            "the etcd check says the connection is lost: " + body);
                });
                assertTrue(readyz(gateway).startsWith("{\"status\":\"UP\""), "still ready from memory: " + readyz(gateway));
                etcd.restart();
                for (Thread th : load) {
                    th.join(10_000);
                }
                assertEquals(0, failures.get(), "requests failed while etcd was down");
                etcd.put(PREFIX + "models/after-restart", model(sim));
                awaitStatus(gateway, KEY, "after-restart", 200, Duration.ofSeconds(15));
            }

            // restarted with etcd down: the last-known-good copy is served, and readyz says so
            etcd.kill();
            try (GatewayProcess gateway = GatewayProcess.start(env)) {
                gateway.awaitReady(Duration.ofSeconds(40));
                assertTrue(readyz(gateway).contains("last-known-good"), readyz(gateway));
                assertEquals(200, chat(gateway, KEY, "after-restart"));
                Duration exit = gateway.terminate(Duration.ofSeconds(30));
                assertTrue(exit != null && exit.toSeconds() < 28, "SIGTERM exit took " + exit);
            }
        }
    }

    @Test
    void withEtcdUnreachableAndNoCopyItIsAliveButNotReady() throws Exception {
        int closed = GatewayProcess.freePort();
        try (GatewayProcess gateway = GatewayProcess.start(GatewayProcess.env(
                "ETCD_ENDPOINTS", "http://127.0.0.1:" + closed, "ROUTER_DATA_DIR", dir.resolve("empty").toString()))) {
            assertTrue(gateway.awaitStatus("/v1/status/healthz", 200, Duration.ofSeconds(20)) > 0);
            int status = chat(gateway, KEY, "m");
            assertEquals(503, status, "503 (starting, then no_policy), never a 404 or a hang");
            await("the context is up").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                    .until(() -> readyz(gateway).contains("\"context\",\"status\":\"UP\""));
            String body = readyz(gateway);
            assertTrue(body.contains("\"status\":\"DOWN\""), body);
            assertTrue(body.contains("etcd"), body);
            assertEquals(503, chat(gateway, KEY, "m"));
        }
    }

    @Test
    void operatorCommandsManageKeysThatTheGatewayAccepts() throws Exception {
        try (VllmSimulator sim = VllmSimulator.start(new VllmSimulator.Options().port(0));
             EtcdProcess etcd = EtcdProcess.start()) {
            Path policy = dir.resolve("m.json");
            java.nio.file.Files.writeString(policy, model(sim));
            assertEquals(0, cli(etcd, "policy", "put", "--model", "m", "--file", policy.toString()).exit);
            Result created = cli(etcd, "keys", "create", "--name", "team-a", "--models", "m");
            assertEquals(0, created.exit, created.err);
            String key = created.out.strip();
            assertTrue(key.startsWith("sk-"), created.out);
            assertTrue(etcd.get(PREFIX + "keys/" + ApiKeys.sha256Hex(key)).contains("team-a"));
            try (GatewayProcess gateway = GatewayProcess.start(GatewayProcess.env("ETCD_ENDPOINTS", etcd.endpoint(),
                    "ROUTER_DATA_DIR", dir.resolve("d2").toString()))) {
                gateway.awaitReady(Duration.ofSeconds(40));
                assertEquals(200, chat(gateway, key, "m"));
                assertEquals(0, cli(etcd, "keys", "revoke", "--name", "team-a").exit);
                awaitStatus(gateway, key, "m", 401, Duration.ofSeconds(3));
                assertTrue(!gateway.output().contains(key), "the key never appears in the gateway's logs");
            }
            assertEquals(2, cli(etcd, "policy", "validate", dir.resolve("missing.json").toString()).exit != 0 ? 2 : 0);
        }
    }

    record Result(int exit, String out, String err) {
    }

    static Result cli(EtcdProcess etcd, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar", GatewayProcess.jar().toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("ETCD_ENDPOINTS", etcd.endpoint());
        Process p = pb.start();
        byte[] out = p.getInputStream().readAllBytes();
        byte[] err = p.getErrorStream().readAllBytes();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }
}
