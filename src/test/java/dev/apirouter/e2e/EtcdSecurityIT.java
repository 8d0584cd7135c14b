package dev.apirouter.e2e;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.apirouter.sim.VllmSimulator;
import dev.apirouter.testing.EtcdProcess;
import dev.apirouter.testing.GatewayProcess;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The jar and its operator commands against an etcd with TLS and authentication, mutual TLS, refused credentials,
 * and incomplete settings. Certificates come from a throwaway CA made with openssl; skipped without etcd or openssl.
 */
@Timeout(300)
class EtcdSecurityIT {
    static final String PASSWORD = "etcd-security-it-Pw-7c1e";
    static final String WRONG_PASSWORD = "wrong-password-Zq93";

    @TempDir
    Path dir;

    /** The etcd's client settings, with time for a cold TLS start on a busy machine. */
    static Map<String, String> env(EtcdProcess etcd, Path dataDir) {
        Map<String, String> env = new HashMap<>(etcd.clientEnv());
        env.put("ROUTER_DATA_DIR", dataDir.toString());
        env.put("ROUTER_ETCD_CONNECT_TIMEOUT_MS", "5000");
        env.put("ROUTER_ETCD_CALL_TIMEOUT_MS", "15000");
        return env;
    }

    /** Stores model {@code m} (backend: the simulator) and creates a key for it, with the operator commands. */
    String storeModelAndCreateKey(Map<String, String> env, VllmSimulator sim) throws Exception {
        Path policy = Files.writeString(dir.resolve("m.json"), EtcdIT.model(sim));
        EtcdIT.Result put = cli(env, "policy", "put", "--model", "m", "--file", policy.toString());
        assertEquals(0, put.exit(), put.err());
        EtcdIT.Result created = cli(env, "keys", "create", "--name", "secured", "--models", "m");
        assertEquals(0, created.exit(), created.err());
        String key = created.out().strip();
        assertTrue(key.startsWith("sk-"), created.out());
        return key;
    }

    @Test
    void tlsAndAuthenticationThenAWrongPassword() throws Exception {
        try (VllmSimulator sim = VllmSimulator.start(new VllmSimulator.Options().port(0));
             EtcdProcess etcd = EtcdProcess.start(EtcdProcess.Security.TLS.withRootPassword(PASSWORD))) {
            Map<String, String> env = env(etcd, dir.resolve("data"));
            String key = storeModelAndCreateKey(env, sim);
            try (GatewayProcess gateway = GatewayProcess.start(env)) {
                gateway.awaitReady(Duration.ofSeconds(90));
                assertEquals(200, EtcdIT.chat(gateway, key, "m"));
                String ready = EtcdIT.readyz(gateway);
                assertTrue(ready.contains("{\"name\":\"etcd\",\"status\":\"UP\",\"data\":{\"connected\":true"), ready);
                assertTrue(gateway.output().contains("TLS, user root"), gateway.output());
                assertFalse(gateway.output().contains(PASSWORD), "the password is never logged");
            }

            // refused credentials: not ready, the etcd check says why, and the store keeps retrying quietly
            Map<String, String> wrong = env(etcd, dir.resolve("data-wrong"));
            wrong.put("ETCD_PASSWORD", WRONG_PASSWORD);
            try (GatewayProcess gateway = GatewayProcess.start(wrong)) {
                assertTrue(gateway.awaitStatus("/v1/status/healthz", 200, Duration.ofSeconds(60)) > 0);
                await("the etcd check says why").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                        .until(() -> managementReadyz(gateway).contains("authentication failed"));
                String ready = managementReadyz(gateway);
                assertTrue(ready.startsWith("{\"status\":\"DOWN\""), ready);
                assertTrue(ready.contains("authentication failed: etcd refused ETCD_USERNAME/ETCD_PASSWORD"), ready);
                assertEquals(503, EtcdIT.chat(gateway, key, "m"));
                // over several retries (backoff up to 5 s), still one warning per kind of failure
                await().during(Duration.ofSeconds(5)).atMost(Duration.ofSeconds(7))
                        .until(() -> etcdWarnings(gateway.output()) <= 3);
                String output = gateway.output();
                assertFalse(output.contains(WRONG_PASSWORD) || output.contains(PASSWORD), output);
                assertFalse(ready.contains(WRONG_PASSWORD) || ready.contains(PASSWORD), ready);
                long warnings = etcdWarnings(output);
                assertTrue(warnings >= 1 && warnings <= 3, "one warning per kind of failure, not one per retry:\n"
                        + output);
            }
        }
    }

    @Test
    void mutualTlsWithAClientCertificate() throws Exception {
        try (VllmSimulator sim = VllmSimulator.start(new VllmSimulator.Options().port(0));
             EtcdProcess etcd = EtcdProcess.start(EtcdProcess.Security.TLS.withClientCertAuth())) {
            Map<String, String> env = env(etcd, dir.resolve("data"));
            Map<String, String> noCert = new HashMap<>(env);
            noCert.remove("ETCD_CERT");
            noCert.remove("ETCD_KEY");
            EtcdIT.Result refused = cli(noCert, "keys", "list");
            assertEquals(3, refused.exit(), refused.err());
            assertTrue(refused.err().contains("TLS handshake failed"), refused.err());

            String key = storeModelAndCreateKey(env, sim);
            try (GatewayProcess gateway = GatewayProcess.start(env)) {
                gateway.awaitReady(Duration.ofSeconds(90));
                assertEquals(200, EtcdIT.chat(gateway, key, "m"));
                assertTrue(gateway.output().contains("TLS with a client certificate"), gateway.output());
            }
        }
    }

    @Test
    void aClientCertificateWithoutItsKeyIsAConfigurationError() throws Exception {
        Path cert = Files.writeString(dir.resolve("client.pem"), "not read: the settings fail before\n");
        Map<String, String> env = GatewayProcess.env("ETCD_ENDPOINTS", "https://127.0.0.1:2379",
                "ETCD_CERT", cert.toString(), "ETCD_KEY", "", "ROUTER_DATA_DIR", dir.resolve("data").toString());
        try (GatewayProcess gateway = GatewayProcess.start(env)) {
            assertTrue(gateway.waitFor(Duration.ofSeconds(60)), "the gateway did not exit");
            assertEquals(2, gateway.exitValue(), gateway.output());
            assertTrue(gateway.output().contains("ETCD_CERT is set without ETCD_KEY"), gateway.output());
        }
        EtcdIT.Result cli = cli(env, "keys", "list");
        assertEquals(1, cli.exit(), cli.err());
        assertTrue(cli.err().contains("ETCD_CERT is set without ETCD_KEY"), cli.err());
    }

    /** Runs an operator command of the jar with {@code env} added to this process's environment. */
    static EtcdIT.Result cli(Map<String, String> env, String... args) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-jar", GatewayProcess.jar().toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().putAll(env);
        Path err = Files.createTempFile("cli-err", ".txt");
        pb.redirectError(err.toFile());
        try {
            Process p = pb.start();
            byte[] out = p.getInputStream().readAllBytes();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            return new EtcdIT.Result(p.exitValue(), new String(out, StandardCharsets.UTF_8), Files.readString(err));
        } finally {
            Files.deleteIfExists(err);
        }
    }

    /** The full readyz (the etcd check's last error is there, not on the public port). */
    static String managementReadyz(GatewayProcess gateway) throws Exception {
        return java.net.http.HttpClient.newHttpClient().send(java.net.http.HttpRequest.newBuilder(
                gateway.managementUri("/v1/status/readyz")).build(), java.net.http.HttpResponse.BodyHandlers.ofString()).body();
    }

    static long etcdWarnings(String output) {
        return output.lines().filter(l -> l.contains("WARN") && l.contains("etcd")).count();
    }
}
