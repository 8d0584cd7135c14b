package dev.apirouter.policy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The {@code aliases} field of a model policy: its checks, the clash check across documents, the lookups. */
class ModelAliasesTest {
    private static byte[] doc(String aliases) {
        return ("{\"backends\":[{\"url\":\"http://b:1\"}],\"aliases\":" + aliases + "}").getBytes(StandardCharsets.UTF_8);
    }

    private static PolicyView.Builder builder() {
        return PolicyView.empty(PolicySource.FILE).toBuilder();
    }

    private static KeyRecord key(String... models) {
        return new KeyRecord("k", java.util.Set.of(models), false, Optional.empty());
    }

    @Test
    void aliasesAreParsedAndWrittenBack() throws Exception {
        ModelPolicy policy = PolicyDocuments.parseModel("m", PolicyDocuments.readJson(doc("[\"gpt-4o-mini\",\"small\"]")));
        assertEquals(List.of("gpt-4o-mini", "small"), policy.aliases());
        assertEquals(policy, PolicyDocuments.parseModel("m", PolicyDocuments.write(policy)));
        assertFalse(PolicyDocuments.write(new ModelPolicy("n", Optional.empty(), List.of(new Backend("http://b:1", 1)),
                Timeouts.DEFAULTS)).has("aliases"), "no aliases: no field");
    }

    @Test
    void badAliasesRejectTheDocument() {
        PolicyView.Builder b = builder();
        b.putModel("m1", doc("[\"has space\"]")).putModel("m2", doc("[\"m2\"]")).putModel("m3", doc("[\"a\",\"a\"]"))
                .putModel("m4", doc("[\"\"]")).putModel("m5", doc("\"a\"")).putModel("m6", doc("[1]"));
        PolicyView view = b.build(PolicySource.FILE, 1, Instant.EPOCH);
        assertTrue(view.models().isEmpty(), view.rejected().toString());
        assertTrue(view.rejected().get("models/m1").contains("aliases[0]"), view.rejected().get("models/m1"));
        assertTrue(view.rejected().get("models/m2").contains("own name"));
        assertTrue(view.rejected().get("models/m3").contains("repeats 'a'"));
        assertEquals(6, view.rejected().size());
    }

    @Test
    void aClashAcrossModelsRejectsTheLaterDocument() {
        PolicyView view = builder()
                .putModel("a", doc("[\"x\"]"))
                .putModel("b", doc("[\"x\"]"))         // another model's alias
                .putModel("c", doc("[\"a\"]"))         // another model's name
                .putModel("x", doc("[]"))              // a name that is another model's alias
                .putModel("a", doc("[\"x\",\"y\"]"))   // a new version of a keeps its own alias
                .build(PolicySource.FILE, 1, Instant.EPOCH);
        assertEquals(java.util.Set.of("a"), view.models().keySet());
        assertEquals(List.of("x", "y"), view.models().get("a").aliases());
        assertTrue(view.rejected().get("models/b").contains("already an alias of the model 'a'"));
        assertTrue(view.rejected().get("models/c").contains("name of another model"));
        assertTrue(view.rejected().get("models/x").contains("already an alias"));
    }

    @Test
    void aModelIsFoundByItsNameOrAnAliasAndKeysSeeWhatTheyMayCall() {
        PolicyView view = builder().putModel("m", doc("[\"gpt-4o-mini\",\"small\"]")).putModel("n", doc("[]"))
                .build(PolicySource.FILE, 1, Instant.EPOCH);
        assertEquals("m", view.model("gpt-4o-mini").orElseThrow().name());
        assertEquals("m", view.model("m").orElseThrow().name());
        assertTrue(view.model("absent").isEmpty());
        ModelPolicy m = view.models().get("m");
        assertTrue(PolicyView.allows(key("m"), "small", m), "the model's own name allows its aliases");
        assertTrue(PolicyView.allows(key("small"), "small", m), "the alias itself");
        assertFalse(PolicyView.allows(key("small"), "m", m), "an alias does not allow the model's own name");
        assertFalse(PolicyView.allows(key("small"), "gpt-4o-mini", m), "nor its other aliases");
        assertEquals(List.of("gpt-4o-mini", "m", "n", "small"), view.modelsVisibleTo(key("*")));
        assertEquals(List.of("gpt-4o-mini", "m", "small"), view.modelsVisibleTo(key("m")));
        assertEquals(List.of("small"), view.modelsVisibleTo(key("small")));
    }
}
