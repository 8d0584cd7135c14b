package dev.apirouter.policy;

import java.util.List;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

class DocumentBindingTest {
    private static JsonNode json(String s) throws Exception {
        return PolicyDocuments.JSON.readTree(s);
    }

    private static String modelRejection(String doc) {
        InvalidDocumentException e = assertThrows(InvalidDocumentException.class,
                () -> DocumentBinding.bind(json(doc), ModelDocument.class, ModelDocument.LABEL).toPolicy("m"), doc);
        return e.getMessage();
    }

    private static String keyRejection(String doc) {
        InvalidDocumentException e = assertThrows(InvalidDocumentException.class,
                () -> DocumentBinding.bind(json(doc), KeyDocument.class, KeyDocument.LABEL).toRecord(), doc);
        return e.getMessage();
    }

    @Test
    void aWrongShapeGivesTheFieldsPathAndWhatItMustBe() {
        String[][] cases = {
                {"[]", "model policy must be a JSON object"},
                {"null", "model policy must be a JSON object"},
                {"\"text\"", "model policy must be a JSON object"},
                {"{\"backends\": {}}", "'backends' must be an array"},
                {"{\"backends\": [3]}", "backends[0] must be a JSON object"},
                {"{\"backends\": [null]}", "backends[0] must be a JSON object"},
                {"{\"backends\": [{\"url\": 3}]}", "backends[0].url must be a non-empty string"},
                {"{\"backends\": [{\"url\": \" \"}]}", "backends[0].url must be a non-empty string"},
                {"{\"backends\": [{}]}", "backends[0].url is required"},
                {"{\"backends\": [{\"url\": \"http://h\", \"weight\": \"2\"}]}", "backends[0].weight must be a whole number"},
                {"{\"backends\": [{\"url\": \"http://h\", \"weight\": 1.5}]}", "backends[0].weight must be a whole number"},
                {"{\"backends\": [{\"url\": \"http://h\", \"weight\": true}]}", "backends[0].weight must be a whole number"},
                {"{\"backends\": [{\"url\": \"http://h\", \"weight\": 99999999999}]}",
                        "backends[0].weight must be a whole number in range"},
                {"{\"backends\": [{\"url\": \"http://h\"}], \"upstreamModel\": 3}", "'upstreamModel' must be a non-empty string"},
                {"{\"backends\": [{\"url\": \"http://h\"}], \"upstreamModel\": \"\"}", "'upstreamModel' must be a non-empty string"},
                {"{\"backends\": [{\"url\": \"http://h\"}], \"timeouts\": 5}", "'timeouts' must be a JSON object"},
                {"{\"backends\": [{\"url\": \"http://h\"}], \"timeouts\": {\"idleMs\": \"5\"}}", "timeouts.idleMs must be a whole number"},
                {"{\"backends\": [{\"url\": \"http://h\"}], \"timeouts\": {\"idleMs\": 0}}",
                        "timeouts.idleMs must be a whole number of milliseconds > 0"},
                {"{\"backends\": [{\"url\": \"http://h\", \"auth\": {\"secretEnv\": true}}]}",
                        "backends[0].auth.secretEnv must be a non-empty string"},
        };
        for (String[] c : cases) {
            assertEquals(c[1], modelRejection(c[0]), c[0]);
        }
    }

    @Test
    void anUnknownFieldIsRefusedWithWhereItIsAndTheFieldsAllowedThere() {
        assertEquals("model policy has an unknown field 'backend' (allowed: aliases, backends, fallbacks, limits, routing, timeouts, upstreamModel)",
                modelRejection("{\"backend\": [{\"url\": \"http://h\"}]}"));
        assertEquals("backends[1] has an unknown field 'wieght' (allowed: auth, url, weight)",
                modelRejection("{\"backends\": [{\"url\": \"http://h\"}, {\"url\": \"http://h\", \"wieght\": 2}]}"));
        assertEquals("'timeouts' has an unknown field 'firstbyteMs' (allowed: connectMs, firstByteMs, idleMs)",
                modelRejection("{\"backends\": [{\"url\": \"http://h\"}], \"timeouts\": {\"firstbyteMs\": 5}}"));
        assertEquals("key record has an unknown field 'limit' (allowed: disabled, expiresAt, limits, models, name)",
                keyRejection("{\"models\": [], \"limit\": {}}"));
        assertEquals("'limits' has an unknown field 'rpd' (allowed: maxParallel, models, rpm, tokensPerDay, tpm)",
                keyRejection("{\"name\": \"a\", \"models\": [], \"limits\": {\"rpd\": 5}}"));
        assertEquals("limits.rpm must be a whole number from 1 to " + (1L << 50),
                keyRejection("{\"name\": \"a\", \"models\": [], \"limits\": {\"rpm\": 0}}"));
        assertEquals("limits.models.m cannot have 'models' of its own",
                keyRejection("{\"name\": \"a\", \"models\": [], \"limits\": {\"models\": {\"m\": {\"models\": {}}}}}"));
        assertEquals("a key with 'limits' needs a 'name': its counters are kept by name",
                keyRejection("{\"models\": [], \"limits\": {\"rpm\": 5}}"));
    }

    @Test
    void keyRecordFieldsAreCheckedOneByOne() {
        assertEquals("'models' must be an array of model names (or [\"*\"])", keyRejection("{\"name\": \"a\"}"));
        assertEquals("'models' must be an array", keyRejection("{\"models\": \"*\"}"));
        assertEquals("models[1] must be a non-empty string", keyRejection("{\"models\": [\"a\", 3]}"));
        assertEquals("'models' must hold non-empty strings", keyRejection("{\"models\": [\"a\", \"\"]}"));
        assertEquals("'disabled' must be true or false", keyRejection("{\"models\": [], \"disabled\": \"yes\"}"));
        assertEquals("'disabled' must be true or false", keyRejection("{\"models\": [], \"disabled\": 0}"));
        assertEquals("'expiresAt' must be an ISO-8601 instant such as 2027-01-01T00:00:00Z",
                keyRejection("{\"models\": [], \"expiresAt\": \"soon\"}"));
        assertEquals("'name' must be a non-empty string", keyRejection("{\"models\": [], \"name\": 7}"));
    }

    @Test
    void aValueIsNeverEchoed() {
        String pasted = "sk-pasted-secret-123";
        for (String doc : List.of("{\"backends\": [{\"url\": \"http://h\", \"auth\": \"" + pasted + "\"}]}",
                "{\"backends\": [{\"url\": \"http://h\", \"auth\": [\"" + pasted + "\"]}]}",
                "{\"backends\": [{\"url\": \"http://h\", \"weight\": \"" + pasted + "\"}]}")) {
            assertFalse(modelRejection(doc).contains(pasted), doc);
        }
        assertFalse(keyRejection("{\"models\": [], \"disabled\": \"" + pasted + "\"}").contains(pasted));
    }
}
