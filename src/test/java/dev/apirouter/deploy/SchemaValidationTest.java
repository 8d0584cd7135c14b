package dev.apirouter.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.testing.RequiredTools;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/**
 * The rendered objects validate against the Kubernetes API schemas, offline, with kubernetes/validator: the
 * kubernetes-models package (JSON Schemas generated from the Kubernetes OpenAPI spec) plus a strict check that
 * rejects fields the API does not define.
 */
@Timeout(value = 180, unit = TimeUnit.SECONDS)
class SchemaValidationTest {

    static final List<String> ALL = Rendered.ALL;

    private static Tools.Result validate(String yaml) {
        Path node = Tools.require("node", "runs the schema validator");
        Path validator = Tools.repo().resolve("kubernetes/validator");
        RequiredTools.assume(Files.isDirectory(validator.resolve("node_modules/kubernetes-models"))
                && Files.isDirectory(validator.resolve("node_modules/typescript")),
                "the schema validator is not installed in kubernetes/validator/node_modules: " + Tools.INSTALL_HINT);
        return Tools.run(List.of(node.toString(), "kubernetes/validator/validate.mjs"), yaml, Duration.ofSeconds(90));
    }

    @ParameterizedTest
    @FieldSource("ALL")
    void renderedObjectsMatchTheKubernetesApiSchemas(String dir) {
        Rendered r = Rendered.of(dir);
        Tools.Result result = validate(r.yaml);
        assertEquals(0, result.exitCode(), dir + " does not validate:\n" + result.describe());
        assertTrue(result.stdout().contains(r.objects.size() + " objects checked, 0 errors"),
                "the validator should have checked all " + r.objects.size() + " objects:\n" + result.describe());
    }

    /** The validator is not a rubber stamp: it rejects an unknown field, a wrong type and an unknown kind. */
    @Test
    void validatorRejectsWhatTheApiServerWouldReject() throws JsonProcessingException {
        ObjectNode deployment = Rendered.of(Rendered.DEVELOPMENT).gateway().deepCopy();
        ObjectNode container = (ObjectNode) Rendered.podSpec(deployment).path("containers").get(0);
        container.set("readinesProbe", container.get("readinessProbe")); // misspelt field
        ((ObjectNode) container.path("ports").get(0)).put("containerPort", "8080"); // string for an integer
        String widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\n";
        String yaml = Rendered.YAML.writeValueAsString(deployment) + "---\n" + widget;

        Tools.Result result = validate(yaml);

        assertEquals(1, result.exitCode(), "invalid objects must fail validation:\n" + result.describe());
        for (String expected : List.of("readinesProbe", "containerPort", "no schema for example.com/v1 Widget")) {
            assertTrue(result.stdout().contains(expected), "expected an error about " + expected + ":\n"
                    + result.describe());
        }
        JsonNode untouched = Rendered.of(Rendered.DEVELOPMENT).gateway();
        assertTrue(untouched.toString().contains("readinessProbe") && !untouched.toString().contains("readinesProbe"),
                "the cached render must not have been modified");
    }
}
