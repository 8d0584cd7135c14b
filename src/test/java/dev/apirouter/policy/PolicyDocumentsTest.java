package dev.apirouter.policy;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;

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
    void writtenDocumentsParseBackToTheSameValues() throws Exception {
        PolicyView view = PolicyView.empty(PolicySource.FILE).toBuilder()
                .putModel("m", utf8("{\"upstreamModel\":\"u\",\"backends\":[{\"url\":\"http://h:1\",\"weight\":2}]}"))
                .putKey(HASH, utf8("{\"name\":\"n\",\"models\":[\"*\"],\"expiresAt\":\"2027-01-01T00:00:00Z\"}"))
                .build(PolicySource.FILE, 1, Instant.EPOCH);
        byte[] file = utf8(PolicyDocuments.write(view).toString());
        PolicyView again = PolicyFile.apply(PolicyFile.parse(file), PolicyView.empty(PolicySource.FILE).toBuilder())
                .build(PolicySource.FILE, 1, Instant.EPOCH);
        assertEquals(view.models(), again.models());
        assertEquals(view.keys(), again.keys());
    }
}
