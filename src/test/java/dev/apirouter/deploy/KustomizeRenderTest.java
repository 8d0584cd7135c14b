package dev.apirouter.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

/** Each kustomization renders with {@code kubectl kustomize} into the objects the issue asks for. */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class KustomizeRenderTest {

    static final List<String> ALL = Rendered.ALL;

    @ParameterizedTest
    @FieldSource("ALL")
    void rendersUniquelyNamedObjects(String dir) {
        Rendered r = Rendered.of(dir);
        assertFalse(r.objects.isEmpty(), dir + " renders nothing");
        Set<String> seen = new HashSet<>();
        for (JsonNode o : r.objects) {
            String id = o.path("apiVersion").asText() + " " + o.path("kind").asText() + " "
                    + o.path("metadata").path("namespace").asText("") + "/" + Rendered.name(o);
            assertFalse(o.path("apiVersion").asText().isEmpty() || o.path("kind").asText().isEmpty()
                    || Rendered.name(o).isEmpty(), dir + ": object without apiVersion, kind or name: " + o);
            assertTrue(seen.add(id), dir + " renders " + id + " twice");
        }
    }

    @ParameterizedTest
    @FieldSource("ALL")
    void rendersTheGatewayObjects(String dir) {
        Rendered r = Rendered.of(dir);
        r.assertSingle("Deployment", "api-router");
        r.assertSingle("Service", "api-router");
        r.assertSingle("ServiceAccount", "api-router");
        r.assertSingle("PodDisruptionBudget", "api-router");
        r.assertSingle("HorizontalPodAutoscaler", "api-router");
        r.assertSingle("NetworkPolicy", "api-router");
        r.assertSingle("ConfigMap", "api-router-routes");
        assertEquals(1, r.ofKind("ConfigMap").filter(c -> Rendered.name(c).startsWith("api-router-env")).count(),
                dir + " should render one env ConfigMap api-router-env(-hash)");
    }

    @Test
    void developmentHasItsOwnNamespaceEtcdCollectorAndVllmService() {
        Rendered r = Rendered.of(Rendered.DEVELOPMENT);
        r.assertSingle("Namespace", "development");
        for (JsonNode o : r.objects) {
            if (!"Namespace".equals(o.path("kind").asText())) {
                assertEquals("development", o.path("metadata").path("namespace").asText(),
                        o.path("kind").asText() + "/" + Rendered.name(o) + " is not in namespace development");
            }
        }
        JsonNode etcd = r.get("StatefulSet", "etcd");
        assertEquals(1, etcd.path("spec").path("replicas").asInt(), "development etcd is a single node");
        assertEquals("etcd", etcd.path("spec").path("serviceName").asText());
        r.assertSingle("Service", "etcd");
        r.assertSingle("Deployment", "otel-collector");
        r.assertSingle("Service", "otel-collector");
        r.assertSingle("Service", "vllm");
        r.assertSingle("Job", "api-router-bootstrap-policy");
    }

    @Test
    void productionHasItsNamespaceAndA3MemberEtcd() {
        Rendered r = Rendered.of(Rendered.PRODUCTION);
        String ns = r.gateway().path("metadata").path("namespace").asText();
        assertFalse(ns.isEmpty() || "default".equals(ns), "production sets a namespace of its own");
        r.assertSingle("Namespace", ns);
        JsonNode etcd = r.get("StatefulSet", "etcd");
        assertTrue(etcd.path("spec").path("replicas").asInt() >= 3, "production etcd has 3+ members");
        assertEquals("Parallel", etcd.path("spec").path("podManagementPolicy").asText(),
                "etcd members must start together to form the initial cluster");
    }
}
