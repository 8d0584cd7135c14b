package dev.apirouter.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import dev.apirouter.auth.ApiKeys;
import dev.apirouter.auth.KeyAuthorizer;
import dev.apirouter.config.Config;
import dev.apirouter.config.Settings;
import dev.apirouter.error.GatewayException;
import dev.apirouter.policy.EtcdPolicyStore;
import dev.apirouter.policy.KeyRecord;
import dev.apirouter.policy.PolicyDocuments;
import dev.apirouter.policy.PolicyFile;
import dev.apirouter.policy.PolicySource;
import dev.apirouter.policy.PolicyView;
import dev.apirouter.testing.EtcdProcess;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The operator commands against a real etcd, and in file-store mode. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class CliTest {
    private static final String MODEL = "{\"backends\":[{\"url\":\"http://vllm-0:8000\"}]}";
    private static EtcdProcess etcd;

    @TempDir
    Path tmp;

    record Result(int code, String out, String err) {
        List<String> outLines() {
            return out.lines().toList();
        }
    }

    @BeforeAll
    static void startEtcd() throws IOException {
        if (EtcdProcess.installed()) { // otherwise the tests that need it skip (or fail in CI), saying why
            etcd = EtcdProcess.start();
        }
    }

    @AfterAll
    static void stopEtcd() {
        if (etcd != null) {
            etcd.close();
        }
    }

    // ------------------------------------------------------------------ keys against etcd

    @Test
    void keysCreatePrintsTheKeyOnceAndStoresOnlyItsHashAndTheKeyAuthenticates(TestInfo info) throws Exception {
        Map<String, String> env = etcdEnv(info);
        String prefix = env.get("ROUTER_ETCD_PREFIX");
        Result created = run(env, "keys", "create", "--name", "team-a", "--models", "llama,mistral");
        assertEquals(0, created.code(), created.err());
        assertEquals(1, created.outLines().size(), "stdout is the key alone: " + created.out());
        String key = created.outLines().get(0);
        assertTrue(key.matches("sk-[A-Za-z0-9_-]{43}"), key);
        assertTrue(created.err().contains("Created API key 'team-a'"), created.err());
        assertFalse(created.err().contains(key), "the key is printed once");

        String hash = ApiKeys.sha256Hex(key);
        assertEquals(List.of(prefix + "keys/" + hash), etcd.keys(prefix));
        JsonNode record = PolicyDocuments.JSON.readTree(etcd.get(prefix + "keys/" + hash));
        assertEquals("team-a", record.path("name").asText());
        assertEquals("[\"llama\",\"mistral\"]", record.path("models").toString());
        assertFalse(record.path("disabled").asBoolean());
        assertFalse(etcd.get(prefix + "keys/" + hash).contains(key.substring(3)), "the key is not stored");

        // the gateway's store and authorizer accept the printed key
        Settings.Store settings = Settings.from(config(env)).store();
        KeyAuthorizer authorizer = new KeyAuthorizer(Clock.systemUTC());
        try (EtcdPolicyStore store = new EtcdPolicyStore(settings, Clock.systemUTC())) {
            store.start();
            PolicyView view = awaitView(store, v -> v.key(hash).isPresent());
            KeyRecord accepted = authorizer.authenticate(Optional.of(key), view);
            authorizer.authorizeModel(accepted, "llama");
            assertThrows(GatewayException.class, () -> authorizer.authorizeModel(accepted, "other"));

            // list: name, hash prefix, models; never the key or the whole hash
            Result listed = run(env, "keys", "list");
            assertEquals(0, listed.code(), listed.err());
            assertTrue(listed.out().startsWith("NAME"), listed.out());
            assertTrue(listed.out().contains("team-a"), listed.out());
            assertTrue(listed.out().contains(hash.substring(0, 12) + "…"), listed.out());
            assertTrue(listed.out().contains("llama,mistral"), listed.out());
            assertFalse(listed.out().contains(hash), listed.out());
            assertFalse(listed.out().contains(key), listed.out());
            Result json = run(env, "keys", "list", "--json");
            assertEquals(0, json.code(), json.err());
            JsonNode array = PolicyDocuments.JSON.readTree(json.out());
            assertEquals("team-a", array.get(0).path("name").asText());
            assertEquals(hash, array.get(0).path("hash").asText(), "the JSON form names the whole record");
            assertFalse(json.out().contains(key), json.out());

            // revoke by name: disabled in etcd, refused by the gateway
            Result revoked = run(env, "keys", "revoke", "--name", "team-a");
            assertEquals(0, revoked.code(), revoked.err());
            assertTrue(revoked.out().contains("disabled 'team-a'"), revoked.out());
            assertTrue(PolicyDocuments.JSON.readTree(etcd.get(prefix + "keys/" + hash)).path("disabled").asBoolean());
            assertEquals("team-a", PolicyDocuments.JSON.readTree(etcd.get(prefix + "keys/" + hash)).path("name")
                    .asText(), "other fields kept");
            PolicyView after = awaitView(store, v -> v.key(hash).map(KeyRecord::disabled).orElse(false));
            assertThrows(GatewayException.class, () -> authorizer.authenticate(Optional.of(key), after));

            // revoke --delete by hash prefix
            Result deleted = run(env, "keys", "revoke", "--hash", hash.substring(0, 10), "--delete");
            assertEquals(0, deleted.code(), deleted.err());
            assertNull(etcd.get(prefix + "keys/" + hash));
            awaitView(store, v -> v.key(hash).isEmpty());
        }
    }

    @Test
    void keysCreateWithExpiryAndAllModels(TestInfo info) throws Exception {
        Map<String, String> env = etcdEnv(info);
        Result created = run(env, "keys", "create", "--name", "ops", "--models", "*", "--expires-at", "2099-01-01");
        assertEquals(0, created.code(), created.err());
        String hash = ApiKeys.sha256Hex(created.outLines().get(0));
        JsonNode record = PolicyDocuments.JSON.readTree(etcd.get(env.get("ROUTER_ETCD_PREFIX") + "keys/" + hash));
        assertEquals("2099-01-01T00:00:00Z", record.path("expiresAt").asText());
        assertEquals("[\"*\"]", record.path("models").toString());

        // a second key of the same name: both are created, and the note says so
        Result second = run(env, "keys", "create", "--name", "ops", "--models", "llama");
        assertEquals(0, second.code(), second.err());
        assertTrue(second.err().contains("1 other key(s) already named 'ops'"), second.err());
        Result revoked = run(env, "keys", "revoke", "--name", "ops");
        assertEquals(0, revoked.code(), revoked.err());
        assertEquals(2, revoked.outLines().size(), revoked.out());
    }

    @Test
    void keysInvalidInputAndMisses(TestInfo info) {
        Map<String, String> env = etcdEnv(info);
        assertEquals(2, run(env, "keys", "create", "--name", "x", "--models", "llama", "--expires-at", "soon").code());
        assertEquals(2, run(env, "keys", "create", "--name", "x", "--models", "llama", "--expires-at",
                "2001-01-01T00:00:00Z").code());
        assertEquals(2, run(env, "keys", "create", "--name", "x", "--models", "has space").code());
        assertEquals(2, run(env, "keys", "create", "--name", "x", "--models", " , ").code());
        assertEquals(1, run(env, "keys", "create", "--models", "llama").code());
        assertEquals(1, run(env, "keys", "create", "--name", "x").code());
        assertEquals(1, run(env, "keys", "create", "--name", "x", "--models", "m", "--bogus", "1").code());
        assertEquals(1, run(env, "keys", "revoke").code());
        assertEquals(1, run(env, "keys", "revoke", "--name", "a", "--hash", "abcdef").code());
        assertEquals(2, run(env, "keys", "revoke", "--hash", "xyz").code());
        Result miss = run(env, "keys", "revoke", "--name", "nobody");
        assertEquals(2, miss.code());
        assertTrue(miss.err().contains("no key named 'nobody'"), miss.err());
        assertTrue(etcd.keys(env.get("ROUTER_ETCD_PREFIX")).isEmpty(), "nothing stored");
    }

    // ------------------------------------------------------------------ policy against etcd

    @Test
    void policyPutGetDeleteAgainstEtcd(TestInfo info) throws Exception {
        Map<String, String> env = etcdEnv(info);
        String prefix = env.get("ROUTER_ETCD_PREFIX");
        Path good = write("llama.json", "{\"upstreamModel\":\"meta/Llama\",\"backends\":[{\"url\":\"http://v:8000\"}]}");
        Path yaml = write("mistral.yaml", "backends:\n  - url: http://m:8000\n    weight: 2\n");
        Path bad = write("bad.json", "{\"backends\":[{\"url\":\"ftp://nope\"}]}");
        Path notJson = write("broken.json", "{\"backends\": [");

        Result put = run(env, "policy", "put", "--model", "llama", "--file", good.toString());
        assertEquals(0, put.code(), put.err());
        assertTrue(put.out().startsWith("stored models/llama"), put.out());
        assertEquals("meta/Llama", PolicyDocuments.JSON.readTree(etcd.get(prefix + "models/llama"))
                .path("upstreamModel").asText());
        assertEquals(0, run(env, "policy", "put", "--model", "mistral", "--file", yaml.toString()).code());
        assertEquals(2, PolicyDocuments.JSON.readTree(etcd.get(prefix + "models/mistral"))
                .path("backends").get(0).path("weight").asInt(), "YAML stored as JSON");

        // invalid: refused, nothing stored, the previous version untouched
        String before = etcd.get(prefix + "models/llama");
        Result refused = run(env, "policy", "put", "--model", "llama", "--file", bad.toString());
        assertEquals(2, refused.code());
        assertTrue(refused.err().contains("backends[0].url"), refused.err());
        assertEquals(before, etcd.get(prefix + "models/llama"));
        assertEquals(2, run(env, "policy", "put", "--model", "llama", "--file", notJson.toString()).code());
        assertEquals(2, run(env, "policy", "put", "--model", "new", "--file", tmp.resolve("missing").toString())
                .code());
        assertNull(etcd.get(prefix + "models/new"));
        assertEquals(1, run(env, "policy", "put", "--model", "llama").code());

        Result one = run(env, "policy", "get", "--model", "llama");
        assertEquals(0, one.code(), one.err());
        assertEquals("meta/Llama", PolicyDocuments.JSON.readTree(one.out()).path("upstreamModel").asText());
        assertEquals(2, run(env, "policy", "get", "--model", "nothing").code());

        etcd.put(prefix + "keys/" + ApiKeys.sha256Hex("k"), "{\"name\":\"k\",\"models\":[\"llama\"]}");
        Result all = run(env, "policy", "get");
        assertEquals(0, all.code(), all.err());
        JsonNode file = PolicyFile.parse(all.out().getBytes(StandardCharsets.UTF_8));
        PolicyView view = PolicyFile.apply(file, PolicyView.empty(PolicySource.FILE).toBuilder())
                .build(PolicySource.FILE, 1, java.time.Instant.now());
        assertEquals(java.util.Set.of("llama", "mistral"), view.models().keySet());
        assertTrue(view.key(ApiKeys.sha256Hex("k")).isPresent(), "policy get is a usable policy file");

        Result deleted = run(env, "policy", "delete", "--model", "mistral");
        assertEquals(0, deleted.code(), deleted.err());
        assertNull(etcd.get(prefix + "models/mistral"));
        assertEquals(2, run(env, "policy", "delete", "--model", "mistral").code());
    }

    // ------------------------------------------------------------------ validate, usage

    @Test
    void policyValidateNeedsNoEtcd() throws Exception {
        Map<String, String> env = new HashMap<>(); // no ETCD_ENDPOINTS
        Path model = write("llama-3.1-8b.json", MODEL);
        Path badModel = write("bad-model.json", "{\"backends\":[],\"extra\":1}");
        Path file = write("policy.yaml", "models:\n  llama: " + MODEL + "\nkeys:\n  \"" + ApiKeys.sha256Hex("k")
                + "\": {\"name\": \"k\", \"models\": [\"llama\"]}\n");
        Path badFile = write("bad-policy.yaml", "models:\n  llama: " + MODEL + "\n  broken: {\"backends\": 3}\n");
        Path wrongTop = write("wrong.yaml", "models: {}\nextra: 1\n");

        Result ok = run(env, "policy", "validate", model.toString());
        assertEquals(0, ok.code(), ok.err());
        assertTrue(ok.out().contains("model 'llama-3.1-8b'"), ok.out());
        assertEquals(2, run(env, "policy", "validate", badModel.toString()).code());
        Result okFile = run(env, "policy", "validate", file.toString());
        assertEquals(0, okFile.code(), okFile.err());
        assertTrue(okFile.out().contains("1 model(s), 1 key(s)"), okFile.out());
        Result badResult = run(env, "policy", "validate", badFile.toString());
        assertEquals(2, badResult.code());
        assertTrue(badResult.err().contains("models/broken"), badResult.err());
        assertEquals(2, run(env, "policy", "validate", wrongTop.toString()).code());
        assertEquals(2, run(env, "policy", "validate", tmp.resolve("none.json").toString()).code());
        assertEquals(1, run(env, "policy", "validate").code());
        assertEquals(2, run(env, "policy", "validate", model.toString(), "--model", "bad name").code());
    }

    @Test
    void policyValidateChecksBackendAuthButLeavesItsSecretToTheGateway() throws Exception {
        Map<String, String> env = new HashMap<>();
        String withAuth = "{\"backends\": [{\"url\": \"http://vllm:8000\", \"auth\": {\"secretEnv\": \"VLLM_KEY_NOT_SET_HERE\"}},"
                + " {\"url\": \"http://vllm-b:8000\", \"auth\": {\"secretFile\": \"/var/run/secrets/none/api-key\"}}]}";
        Result model = run(env, "policy", "validate", write("guarded.json", withAuth).toString());
        assertEquals(0, model.code(), model.err());
        Result file = run(env, "policy", "validate", write("guarded.yaml", "models:\n  guarded: " + withAuth + "\n").toString());
        assertEquals(0, file.code(), file.err());

        Result pasted = run(env, "policy", "validate", write("pasted.json",
                "{\"backends\": [{\"url\": \"http://vllm:8000\", \"auth\": {\"secretEnv\": \"sk-pasted-key-1\"}}]}").toString());
        assertEquals(2, pasted.code());
        assertTrue(pasted.err().contains("backends[0].auth.secretEnv must be the name of an environment variable"),
                pasted.err());
        assertFalse(pasted.err().contains("sk-pasted-key-1"), pasted.err());
    }

    @Test
    void usageAndHelp() {
        Map<String, String> env = new HashMap<>();
        Result none = run(env);
        assertEquals(1, none.code());
        assertTrue(none.err().contains("Usage:"));
        for (String[] help : List.of(new String[] {"--help"}, new String[] {"-h"}, new String[] {"help"})) {
            Result r = run(env, help);
            assertEquals(0, r.code(), String.join(" ", help) + ": " + r.err());
            assertTrue(r.out().contains("keys create --name NAME --models M1,M2"), r.out());
            assertTrue(r.out().contains("policy validate"), r.out());
            assertTrue(r.err().isEmpty(), r.err());
        }
        assertEquals(1, run(env, "keys").code());
        assertEquals(1, run(env, "keys", "rotate").code());
        assertEquals(1, run(env, "policy", "frobnicate").code());
        // refused before any connection: no etcd needed
        Map<String, String> badConfig = Map.of("ROUTER_ETCD_CALL_TIMEOUT_MS", "soon", "ETCD_ENDPOINTS",
                etcd != null ? etcd.endpoint() : "http://127.0.0.1:1");
        Result config = run(badConfig, "keys", "list");
        assertEquals(1, config.code());
        assertTrue(config.err().contains("ROUTER_ETCD_CALL_TIMEOUT_MS"), config.err());
        assertEquals(0, run(badConfig, "keys", "list", "--help").code(), "help never needs the configuration");
    }

    @Test
    void helpOnEveryCommandGoesToStandardOutput() {
        Map<String, String> env = new HashMap<>();
        for (String[] help : List.of(new String[] {"keys", "--help"}, new String[] {"keys", "help"},
                new String[] {"policy", "-h"}, new String[] {"help", "policy"},
                new String[] {"keys", "create", "--help"},
                new String[] {"keys", "create", "help"}, new String[] {"keys", "help", "create"},
                new String[] {"keys", "list", "-h"}, new String[] {"keys", "revoke", "--help"},
                new String[] {"policy", "put", "--help"}, new String[] {"policy", "get", "help"},
                new String[] {"policy", "delete", "-h"}, new String[] {"policy", "validate", "--help"})) {
            Result r = run(env, help);
            String command = String.join(" ", help);
            assertEquals(0, r.code(), command + ": " + r.err());
            assertTrue(r.out().startsWith("Usage: api-router "), command + ": " + r.out());
            assertTrue(r.err().isEmpty(), command + ": " + r.err());
        }
        Result create = run(env, "keys", "create", "--help");
        assertTrue(create.out().contains("Usage: api-router keys create --name NAME --models M1,M2 [--expires-at"),
                create.out());
        assertTrue(create.out().contains("--expires-at INSTANT"), create.out());
        Result revoke = run(env, "keys", "revoke", "--help");
        // the synopsis wraps at 100 columns now that --wait and --wait-timeout precede the group
        assertTrue(revoke.out().replaceAll("\\s+", " ").contains("(--name NAME | --hash PREFIX)"), revoke.out());
    }

    @Test
    void everyUnknownWordOrFlagIsAUsageErrorOnStandardError() {
        Map<String, String> env = new HashMap<>();
        for (String[] wrong : List.of(new String[] {"nonsense"}, new String[] {"--bogus"}, new String[] {"-x"},
                new String[] {"key", "create"},
                new String[] {"keys", "create", "--name", "x", "--models", "m", "--bogus"},
                new String[] {"keys", "list", "extra"}, new String[] {"keys", "list", "--json=yes"},
                new String[] {"policy", "get", "--model"}, new String[] {"policy", "validate", "a.json", "b.json"},
                new String[] {"keys", "create", "--name", "a", "--name", "b", "--models", "m"},
                new String[] {"keys", "--version", "extra"})) {
            Result r = run(env, wrong);
            String command = String.join(" ", wrong);
            assertEquals(1, r.code(), command + ": " + r.out() + r.err());
            assertTrue(r.out().isEmpty(), command + ": nothing on standard output: " + r.out());
            assertTrue(r.err().startsWith("api-router: "), command + ": " + r.err());
            assertTrue(r.err().contains("Usage: api-router"), command + ": " + r.err());
        }
        Result typo = run(env, "key", "create");
        assertTrue(typo.err().contains("'key'"), typo.err());
        assertTrue(typo.err().contains("Did you mean: api-router keys?"), typo.err());
        Result flag = run(env, "--bogus");
        assertTrue(flag.err().contains("Unknown option: '--bogus'"), flag.err());
        Result atFile = run(env, "keys", "create", "--name", "@/etc/hostname", "--models", "m");
        assertEquals(0, atFile.code(), "an @ value is a value, not a file of arguments: " + atFile.err());
        assertTrue(atFile.err().contains("\"name\":\"@/etc/hostname\""), atFile.err());
    }

    @Test
    void versionIsTheBuildsVersion() {
        for (String flag : List.of("--version", "-V")) {
            Result r = run(new HashMap<>(), flag);
            assertEquals(0, r.code(), r.err());
            assertEquals("api-router dev", r.out().strip(), "no jar manifest in tests: 'dev'");
            assertTrue(r.err().isEmpty(), r.err());
        }
    }

    // ------------------------------------------------------------------ etcd unreachable

    @Test
    void etcdDownOrHungGivesExitCodeThreeInBoundedTime() throws Exception {
        int deadPort = EtcdProcess.freePort();
        Map<String, String> down = env("http://127.0.0.1:" + deadPort, "/x/");
        for (String[] command : List.of(new String[] {"keys", "list"},
                new String[] {"keys", "create", "--name", "a", "--models", "m"},
                new String[] {"policy", "get"})) {
            long t0 = System.nanoTime();
            Result r = run(down, command);
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(3, r.code(), r.err());
            assertTrue(r.err().contains("did not answer"), r.err());
            assertTrue(r.out().isEmpty(), "no key printed when it could not be stored: " + r.out());
            assertTrue(ms < 6000, ms + " ms");
        }

        List<Socket> held = new ArrayList<>();
        try (ServerSocket hung = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
            Thread acceptor = new Thread(() -> {
                while (!hung.isClosed()) {
                    try {
                        held.add(hung.accept());
                    } catch (IOException e) {
                        return;
                    }
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            long t0 = System.nanoTime();
            Result r = run(env("http://127.0.0.1:" + hung.getLocalPort(), "/x/"), "keys", "list");
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(3, r.code(), r.err());
            assertTrue(r.err().contains("DEADLINE_EXCEEDED: no answer within 2500 ms"), r.err());
            // the call deadline (2.5 s), plus our own bounded wait at most
            assertTrue(ms < 6000, ms + " ms");
        } finally {
            for (Socket s : held) {
                s.close();
            }
        }
    }

    // ------------------------------------------------------------------ file-store form

    @Test
    void withoutEtcdTheCommandsPrintThePolicyFileForm() throws Exception {
        Map<String, String> env = new HashMap<>();
        Result created = run(env, "keys", "create", "--name", "team-a", "--models", "llama");
        assertEquals(0, created.code(), created.err());
        assertEquals(1, created.outLines().size(), created.out());
        String key = created.outLines().get(0);
        // stderr is comments plus the record: paste it under keys: and the key works
        String snippet = created.err().lines().filter(l -> l.startsWith("  ")).findFirst().orElseThrow();
        Path policy = write("policy.yaml", "models:\n  llama: " + MODEL + "\nkeys:\n" + snippet + "\n");
        PolicyView view = PolicyFile.apply(PolicyFile.parse(Files.readAllBytes(policy)),
                PolicyView.empty(PolicySource.FILE).toBuilder()).build(PolicySource.FILE, 1, java.time.Instant.now());
        KeyRecord record = new KeyAuthorizer(Clock.systemUTC()).authenticate(Optional.of(key), view);
        assertEquals("team-a", record.name());
        assertFalse(created.err().contains(key));

        Path model = write("m.json", MODEL);
        Result put = run(env, "policy", "put", "--model", "mistral", "--file", model.toString());
        assertEquals(0, put.code(), put.err());
        JsonNode parsed = PolicyFile.parse(put.out().getBytes(StandardCharsets.UTF_8));
        assertNotNull(parsed.path("models").get("mistral"));

        // reading commands read ROUTER_POLICY_FILE
        env.put("ROUTER_POLICY_FILE", policy.toString());
        Result list = run(env, "keys", "list");
        assertEquals(0, list.code(), list.err());
        assertTrue(list.out().contains("team-a"));
        assertFalse(list.out().contains(ApiKeys.sha256Hex(key)));
        Result get = run(env, "policy", "get", "--model", "llama");
        assertEquals(0, get.code(), get.err());
        Result revoke = run(env, "keys", "revoke", "--name", "team-a");
        assertEquals(0, revoke.code(), revoke.err());
        assertTrue(revoke.out().contains("\"disabled\":true"), revoke.out());
        assertEquals(1, run(new HashMap<>(), "keys", "list").code(), "no store to read");
    }

    @Test
    void keysListJsonIsJsonWithBooleansNullsAndArrays() throws Exception {
        String valid = ApiKeys.sha256Hex("k1");
        String bare = ApiKeys.sha256Hex("k2");
        String invalid = ApiKeys.sha256Hex("k3");
        Path policy = write("policy.yaml", "models:\n  llama: " + MODEL + "\nkeys:\n"
                + "  \"" + valid + "\": {name: team-a, models: [llama, mistral], expiresAt: \"2099-01-01T00:00:00Z\"}\n"
                + "  \"" + bare + "\": {models: [\"*\"], disabled: true}\n"
                + "  \"" + invalid + "\": {name: broken, models: 3}\n");
        Result r = run(new HashMap<>(Map.of("ROUTER_POLICY_FILE", policy.toString())), "keys", "list", "--json");
        assertEquals(0, r.code(), r.err());
        JsonNode array = PolicyDocuments.JSON.readTree(r.out());
        assertTrue(array.isArray() && array.size() == 3, r.out());
        Map<String, JsonNode> byHash = new HashMap<>();
        array.forEach(k -> byHash.put(k.path("hash").asText(), k));

        JsonNode a = byHash.get(valid);
        assertEquals("team-a", a.path("name").textValue());
        assertEquals("[\"llama\",\"mistral\"]", a.path("models").toString());
        assertTrue(a.path("disabled").isBoolean() && !a.path("disabled").booleanValue(), a.toString());
        assertEquals("2099-01-01T00:00:00Z", a.path("expiresAt").textValue());
        assertTrue(a.path("invalid").isNull(), a.toString());

        JsonNode b = byHash.get(bare);
        assertTrue(b.path("name").isNull(), b.toString());
        assertEquals("[\"*\"]", b.path("models").toString());
        assertTrue(b.path("disabled").booleanValue(), b.toString());
        assertTrue(b.path("expiresAt").isNull(), b.toString());

        JsonNode c = byHash.get(invalid);
        assertEquals("broken", c.path("name").textValue());
        assertTrue(c.path("models").isNull() && c.path("disabled").isNull(), c.toString());
        assertTrue(c.path("invalid").isTextual(), c.toString());
    }

    // ------------------------------------------------------------------ kit

    private Map<String, String> etcdEnv(TestInfo info) {
        EtcdProcess.assumeInstalled();
        return env(etcd.endpoint(), "/cli/" + info.getTestMethod().orElseThrow().getName() + "/");
    }

    private static Map<String, String> env(String endpoints, String prefix) {
        Map<String, String> env = new HashMap<>();
        env.put("ETCD_ENDPOINTS", endpoints);
        env.put("ROUTER_ETCD_PREFIX", prefix);
        // generous for a loaded 2-core machine; the unreachable cases are bounded by them
        env.put("ROUTER_ETCD_CONNECT_TIMEOUT_MS", "1000");
        env.put("ROUTER_ETCD_CALL_TIMEOUT_MS", "2500");
        return env;
    }

    private static Config config(Map<String, String> env) {
        return new Config(env, Config.bundledDefaults());
    }

    private static Result run(Map<String, String> env, String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = Cli.run(args, config(env), new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        return new Result(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    private Path write(String name, String content) throws IOException {
        Path file = tmp.resolve(name);
        Files.writeString(file, content);
        return file;
    }

    private static PolicyView awaitView(EtcdPolicyStore store, java.util.function.Predicate<PolicyView> condition) {
        try {
            return org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(10))
                    .until(store::current, v -> v.isPresent() && condition.test(v.get())).orElseThrow();
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            throw new AssertionError("view condition not met within 10 s; status: " + store.status(), e);
        }
    }
}
