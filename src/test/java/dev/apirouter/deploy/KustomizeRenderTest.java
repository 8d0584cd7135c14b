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
    void developmentHasItsOwnNamespaceEtcdRedisCollectorAndVllmService() {
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
        r.assertSingle("Deployment", "redis");
        r.assertSingle("Service", "redis");
        r.assertSingle("Deployment", "otel-collector");
        r.assertSingle("Service", "otel-collector");
        r.assertSingle("Service", "vllm");
        r.assertSingle("Job", "api-router-bootstrap-policy");
    }

    /**
     * Development's Redis holds only the rate-limit counters: one pod, nothing persisted, an image pinned to a release,
     * locked down like the other pods, probed on its named port, reached by a Service port named redis.
     */
    @Test
    void developmentRedisIsOneLockedDownPodWithoutPersistence() {
        Rendered r = Rendered.of(Rendered.DEVELOPMENT);
        JsonNode redis = r.get("Deployment", "redis");
        assertEquals(1, redis.path("spec").path("replicas").asInt(), "development Redis is a single pod");
        JsonNode pod = Rendered.podSpec(redis);
        JsonNode c = pod.path("containers").get(0);
        assertTrue(c.path("image").asText().matches("redis:7\\.\\d+\\.\\d+(-[a-z0-9.]+)?"),
                "Redis 7 pinned to a release tag, like the overlay's other images: " + c.path("image").asText());
        List<String> args = strings(c.path("args"));
        int save = args.indexOf("--save");
        assertTrue(save >= 0 && save + 1 < args.size() && args.get(save + 1).isEmpty(),
                "no RDB snapshots (--save ''): " + args);
        int aof = args.indexOf("--appendonly");
        assertTrue(aof >= 0 && aof + 1 < args.size() && args.get(aof + 1).equals("no"), "no append-only file: " + args);

        JsonNode port = null;
        for (JsonNode p : c.path("ports")) {
            if ("redis".equals(p.path("name").asText())) {
                port = p;
            }
        }
        assertTrue(port != null && port.path("containerPort").asInt() == 6379, "container port redis: 6379");
        for (String probe : List.of("readinessProbe", "livenessProbe")) {
            JsonNode p = c.path(probe);
            boolean onPort = "redis".equals(p.path("tcpSocket").path("port").asText())
                    || String.join(" ", strings(p.path("exec").path("command"))).contains("redis-cli");
            assertTrue(onPort, "Redis " + probe + " should be tcpSocket on port redis or redis-cli ping: " + p);
        }

        JsonNode psc = pod.path("securityContext");
        JsonNode csc = c.path("securityContext");
        assertTrue(csc.path("runAsNonRoot").asBoolean(psc.path("runAsNonRoot").asBoolean(false)), "Redis runAsNonRoot");
        assertFalse("0".equals(csc.path("runAsUser").asText(psc.path("runAsUser").asText("0"))), "Redis runs as root");
        assertTrue(csc.path("readOnlyRootFilesystem").asBoolean(false), "Redis readOnlyRootFilesystem");
        assertFalse(csc.path("allowPrivilegeEscalation").asBoolean(true), "Redis allowPrivilegeEscalation");
        assertTrue(strings(csc.path("capabilities").path("drop")).contains("ALL"), "Redis drops ALL capabilities");
        assertFalse(pod.path("automountServiceAccountToken").asBoolean(true), "Redis mounts a service-account token");
        String dataVolume = null;
        for (JsonNode m : c.path("volumeMounts")) {
            if ("/data".equals(m.path("mountPath").asText())) {
                dataVolume = m.path("name").asText();
            }
        }
        assertTrue(dataVolume != null, "the image's working directory /data is not a volume (read-only root)");
        for (JsonNode v : pod.path("volumes")) {
            if (v.path("name").asText().equals(dataVolume)) {
                assertTrue(v.has("emptyDir"), "/data should be an emptyDir: nothing is persisted");
            }
        }
        for (String kind : List.of("requests", "limits")) {
            for (String resource : List.of("cpu", "memory")) {
                assertTrue(c.path("resources").path(kind).hasNonNull(resource), "Redis has no " + kind + "." + resource);
            }
        }

        JsonNode svc = r.get("Service", "redis");
        JsonNode sp = svc.path("spec").path("ports").get(0);
        assertEquals("redis", sp.path("name").asText(), "Service port name");
        assertEquals(6379, sp.path("port").asInt(), "Service port");
        assertEquals("redis", sp.path("targetPort").asText(), "Service targets the named container port");
        assertEquals(svc.path("spec").path("selector"), redis.path("spec").path("selector").path("matchLabels"),
                "the Service selects the Redis pods");
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new java.util.ArrayList<>();
        array.forEach(a -> out.add(a.asText()));
        return out;
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

    /** Production's Redis is the operator's managed one: nothing in the overlay runs a Redis image. */
    @Test
    void productionRunsNoRedisOfItsOwn() {
        Rendered r = Rendered.of(Rendered.PRODUCTION);
        r.workloads().forEach(w -> Rendered.podSpec(w).path("containers").forEach(c -> assertFalse(
                c.path("image").asText().matches("(.*/)?redis([:@].*)?"),
                "production runs Redis in " + w.path("kind").asText() + "/" + Rendered.name(w))));
        assertTrue(r.find("Service", "redis").isEmpty(), "production has a Service redis");
    }
}
