package dev.apirouter.policy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PolicyDocumentsTest {
    static final String HASH = "a".repeat(64);

    static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void parsesTheContractExample() throws Exception {
        ModelPolicy p = PolicyDocuments.parseModel("llama-3.1-8b", PolicyDocuments.readJson(utf8("""
                {"upstreamModel": "meta-llama/Llama-3.1-8B-Instruct",
                 "backends": [{"url": "http://vllm-0.vllm:8000", "weight": 1}, {"url": "http://vllm-1.vllm:8000/"}],
                 "timeouts": {"connectMs": 1000, "firstByteMs": 60000, "idleMs": 30000}}""")));
        assertEquals("meta-llama/Llama-3.1-8B-Instruct", p.upstreamModel().orElseThrow());
        assertEquals(2, p.backends().size());
        assertEquals("http://vllm-1.vllm:8000", p.backends().get(1).url(), "trailing slash removed");
        assertEquals(1, p.backends().get(1).weight(), "weight defaults to 1");
        assertEquals(Duration.ofSeconds(60), p.timeouts().firstByte());
    }

    @Test
    void optionalFieldsDefault() throws Exception {
        ModelPolicy p = PolicyDocuments.parseModel("m", PolicyDocuments.readJson(utf8("{\"backends\":[{\"url\":\"http://h:1\"}]}")));
        assertTrue(p.upstreamModel().isEmpty());
        assertEquals(Timeouts.DEFAULTS, p.timeouts());
    }

    @Test
    void rejectsInvalidModelPolicies() {
        for (String bad : new String[] {"[]", "{}", "{\"backends\":[]}", "{\"backends\":[{\"url\":\"ftp://h\"}]}",
                "{\"backends\":[{\"url\":\"http://h\",\"weight\":-1}]}", "{\"backends\":[{\"url\":\"http://h\",\"weight\":0}]}",
                "{\"backends\":[{\"url\":\"http://h\"}],\"timeouts\":{\"connectMs\":0}}",
                "{\"backends\":[{\"url\":\"http://h\"}],\"timeouts\":{\"firstbyteMs\":5}}",
                "{\"backends\":[{\"url\":\"http://h\"}],\"upstreamModel\":3}",
                "{\"backend\":[{\"url\":\"http://h\"}]}"}) {
            assertThrows(InvalidDocumentException.class,
                    () -> PolicyDocuments.parseModel("m", PolicyDocuments.readJson(utf8(bad))), bad);
        }
    }

    @Test
    void aBackendMayNameWhereItsSecretIs() throws Exception {
        ModelPolicy p = PolicyDocuments.parseModel("m", PolicyDocuments.readJson(utf8("""
                {"backends": [{"url": "http://a:8000", "auth": {"secretEnv": "VLLM_KEY_A"}},
                              {"url": "http://b:8000", "auth": {"secretFile": "/var/run/secrets/vllm/key"}},
                              {"url": "http://c:8000", "auth": null}]}""")));
        BackendAuth env = p.backends().get(0).auth().orElseThrow();
        assertEquals(BackendAuth.Source.ENV, env.source());
        assertEquals("VLLM_KEY_A", env.name());
        assertEquals(null, env.authorization(), "parsing names the secret; the stores read it");
        assertEquals(new BackendAuth(BackendAuth.Source.FILE, "/var/run/secrets/vllm/key"),
                p.backends().get(1).auth().orElseThrow());
        assertTrue(p.backends().get(2).auth().isEmpty());
        assertEquals("Backend[url=http://a:8000, weight=1, auth=Optional[secretEnv=VLLM_KEY_A]]",
                p.backends().get(0).toString());
    }

    @Test
    void backendAuthIsValidatedWithPreciseMessagesThatNeverEchoTheValue() {
        String pasted = "sk-pasted-secret-123";
        String[][] cases = {
                {"\"auth\": \"VLLM_KEY_A\"", "backends[0].auth must be a JSON object"},
                {"\"auth\": {}", "backends[0].auth needs exactly one of secretEnv (an environment variable's name)"
                        + " or secretFile (a file's absolute path)"},
                {"\"auth\": {\"secretEnv\": \"A\", \"secretFile\": \"/k\"}", "backends[0].auth needs exactly one of"},
                {"\"auth\": {\"secret\": \"" + pasted + "\"}",
                        "backends[0].auth has an unknown field 'secret' (allowed: secretEnv, secretFile)"},
                {"\"auth\": {\"secretEnv\": 7}", "backends[0].auth.secretEnv must be a non-empty string"},
                {"\"auth\": {\"secretFile\": \"\"}", "backends[0].auth.secretFile must be a non-empty string"},
                {"\"auth\": {\"secretEnv\": \"" + pasted + "\"}", "backends[0].auth.secretEnv must be the name of an"
                        + " environment variable (letters, digits and _, not starting with a digit), not the secret itself"},
                {"\"auth\": {\"secretFile\": \"" + pasted + "\"}",
                        "backends[0].auth.secretFile must be the absolute path of the file holding the secret, not the secret itself"},
        };
        for (String[] c : cases) {
            String doc = "{\"backends\": [{\"url\": \"http://a:8000\", " + c[0] + "}]}";
            InvalidDocumentException e = assertThrows(InvalidDocumentException.class,
                    () -> PolicyDocuments.parseModel("m", PolicyDocuments.readJson(utf8(doc))), doc);
            assertTrue(e.getMessage().startsWith(c[1]), doc + " -> " + e.getMessage());
            assertFalse(e.getMessage().contains(pasted), e.getMessage());
        }
    }

    @Test
    void aModelWhoseSecretCannotBeReadIsRejectedAndItsPreviousVersionStays() {
        String unset = "APIROUTER_TEST_VARIABLE_THAT_IS_NEVER_SET";
        PolicyView v1 = PolicyView.empty(PolicySource.FILE).toBuilder()
                .putModel("m", utf8("{\"backends\":[{\"url\":\"http://one:1\"}]}"))
                .build(PolicySource.FILE, 1, Instant.EPOCH);
        String withAuth = "{\"backends\":[{\"url\":\"http://one:1\"},"
                + "{\"url\":\"http://two:1\",\"auth\":{\"secretEnv\":\"" + unset + "\"}}]}";
        PolicyView.Builder b = v1.toBuilder().putModel("m", utf8(withAuth));
        PolicyView v2 = b.build(PolicySource.FILE, 2, Instant.EPOCH);
        assertEquals(1, v2.model("m").orElseThrow().backends().size(), "the previous version stays in force");
        assertEquals("backends[1].auth: secretEnv " + unset + " is not set in the gateway's environment",
                v2.rejected().get("models/m"));
        assertEquals(List.of("models/m: backends[1].auth: secretEnv " + unset + " is not set in the gateway's environment"),
                b.newRejections());

        PolicyView checked = PolicyView.empty(PolicySource.FILE).toBuilder().withoutSecrets()
                .putModel("m", utf8(withAuth)).build(PolicySource.FILE, 1, Instant.EPOCH);
        assertTrue(checked.rejected().isEmpty(), "the CLI checks the document, not the gateway's environment");
    }

    @Test
    void parsesAndValidatesKeyRecords() throws Exception {
        KeyRecord k = PolicyDocuments.parseKey(HASH, PolicyDocuments.readJson(utf8(
                "{\"name\":\"team-a\",\"models\":[\"llama-3.1-8b\"],\"disabled\":false,\"expiresAt\":\"2027-01-01T00:00:00Z\"}")));
        assertEquals(Instant.parse("2027-01-01T00:00:00Z"), k.expiresAt().orElseThrow());
        assertTrue(k.allowsModel("llama-3.1-8b"));
        assertFalse(k.allowsModel("other"));
        assertThrows(InvalidDocumentException.class, () -> PolicyDocuments.parseKey("ABC", PolicyDocuments.readJson(utf8("{\"models\":[]}"))));
        assertThrows(InvalidDocumentException.class, () -> PolicyDocuments.parseKey(HASH, PolicyDocuments.readJson(utf8("{\"models\":\"*\"}"))));
        assertThrows(InvalidDocumentException.class, () -> PolicyDocuments.parseKey(HASH, PolicyDocuments.readJson(utf8("{\"models\":[],\"expiresAt\":\"soon\"}"))));
        assertThrows(InvalidDocumentException.class, () -> PolicyDocuments.parseKey(HASH, PolicyDocuments.readJson(utf8("{\"models\":[],\"disabled\":\"yes\"}"))));
    }

    @Test
    void aRejectedDocumentKeepsItsPreviousVersion() {
        PolicyView v1 = PolicyView.empty(PolicySource.ETCD).toBuilder()
                .putModel("m", utf8("{\"backends\":[{\"url\":\"http://one:1\"}]}"))
                .build(PolicySource.ETCD, 1, Instant.EPOCH);
        PolicyView.Builder b = v1.toBuilder()
                .putModel("m", utf8("{\"backends\":[]}"))
                .putModel("n", utf8("not json"));
        PolicyView v2 = b.build(PolicySource.ETCD, 2, Instant.EPOCH);
        assertEquals("http://one:1", v2.model("m").orElseThrow().backends().get(0).url());
        assertTrue(v2.model("n").isEmpty());
        assertEquals(2, v2.rejected().size());
        assertEquals(2, b.newRejections().size());
        PolicyView v3 = v2.toBuilder().putModel("m", utf8("{\"backends\":[{\"url\":\"http://two:1\"}]}"))
                .removeModel("n").build(PolicySource.ETCD, 3, Instant.EPOCH);
        assertEquals("http://two:1", v3.model("m").orElseThrow().backends().get(0).url());
        assertTrue(v3.rejected().isEmpty(), "a valid version clears the rejection");
    }

    @Test
    void writtenDocumentsParseBackToTheSameValues(@TempDir Path dir) throws Exception {
        Path secret = Files.writeString(dir.resolve("key"), "sk-written-never\n");
        PolicyView view = PolicyView.empty(PolicySource.FILE).toBuilder()
                .putModel("m", utf8("{\"upstreamModel\":\"u\",\"backends\":[{\"url\":\"http://h:1\",\"weight\":2}]}"))
                .putModel("s", utf8("{\"backends\":[{\"url\":\"http://h:1\",\"auth\":{\"secretFile\":\"" + secret + "\"}}]}"))
                .putKey(HASH, utf8("{\"name\":\"n\",\"models\":[\"*\"],\"expiresAt\":\"2027-01-01T00:00:00Z\"}"))
                .build(PolicySource.FILE, 1, Instant.EPOCH);
        byte[] file = utf8(PolicyDocuments.write(view).toString());
        PolicyView again = PolicyFile.apply(PolicyFile.parse(file), PolicyView.empty(PolicySource.FILE).toBuilder())
                .build(PolicySource.FILE, 1, Instant.EPOCH);
        assertEquals(view.models(), again.models());
        assertEquals(view.keys(), again.keys());
        assertEquals("Bearer sk-written-never", again.model("s").orElseThrow().backends().get(0).auth().orElseThrow()
                .authorization(), "read again from the file");
        assertFalse(new String(file, StandardCharsets.UTF_8).contains("sk-written-never"),
                "a written policy (the last-known-good copy) names the secret's file, never the secret");
    }
}
