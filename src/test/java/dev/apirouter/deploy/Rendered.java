package dev.apirouter.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;

/**
 * One kustomization rendered by {@code kubectl kustomize}, as the YAML kubectl printed and as parsed objects. Each
 * directory is rendered once per test JVM.
 */
final class Rendered {

    static final String BASE = "kubernetes/base";
    static final String DEVELOPMENT = "kubernetes/overlays/development";
    static final String PRODUCTION = "kubernetes/overlays/production";
    static final List<String> OVERLAYS = List.of(DEVELOPMENT, PRODUCTION);
    static final List<String> ALL = List.of(BASE, DEVELOPMENT, PRODUCTION);

    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Map<String, Rendered> CACHE = new ConcurrentHashMap<>();

    final String dir;
    final String yaml;
    final List<JsonNode> objects;

    private Rendered(String dir, String yaml, List<JsonNode> objects) {
        this.dir = dir;
        this.yaml = yaml;
        this.objects = objects;
    }

    static Rendered of(String dir) {
        return CACHE.computeIfAbsent(dir, Rendered::render);
    }

    private static Rendered render(String dir) {
        assertTrue(Files.isRegularFile(Tools.repo().resolve(dir).resolve("kustomization.yaml")),
                dir + "/kustomization.yaml is missing");
        String kubectl = Tools.require("kubectl", "renders the kustomizations").toString();
        Tools.Result result = Tools.run(List.of(kubectl, "kustomize", dir), null, Duration.ofSeconds(60),
                Map.of("KUBECONFIG", offlineKubeconfig()));
        if (result.exitCode() != 0) {
            fail("kubectl kustomize " + dir + " failed:\n" + result.describe());
        }
        List<JsonNode> objects = new ArrayList<>();
        try (MappingIterator<JsonNode> docs = YAML.readerFor(JsonNode.class).readValues(result.stdout())) {
            while (docs.hasNext()) {
                JsonNode doc = docs.next();
                if (doc != null && !doc.isNull() && !doc.isMissingNode()) {
                    objects.add(doc);
                }
            }
        } catch (IOException e) {
            fail("kubectl kustomize " + dir + " printed YAML that does not parse: " + e);
        }
        return new Rendered(dir, result.stdout(), List.copyOf(objects));
    }

    private static String kubeconfig;

    /**
     * A kubeconfig whose only cluster is a closed local port. Rendering needs no cluster, but some kubectl builds
     * (Google Cloud SDK's version dispatcher) ask the current cluster for its version first: this keeps them off the
     * developer's real cluster and off whatever listens on localhost:8080, kubectl's default.
     */
    private static synchronized String offlineKubeconfig() {
        if (kubeconfig == null) {
            try {
                java.nio.file.Path file = Files.createTempFile("offline", ".kubeconfig");
                file.toFile().deleteOnExit();
                Files.writeString(file, """
                        apiVersion: v1
                        kind: Config
                        clusters:
                          - name: offline
                            cluster:
                              server: http://127.0.0.1:9
                        contexts:
                          - name: offline
                            context:
                              cluster: offline
                        current-context: offline
                        """);
                kubeconfig = file.toString();
            } catch (IOException e) {
                fail("cannot write a kubeconfig: " + e);
            }
        }
        return kubeconfig;
    }

    Stream<JsonNode> ofKind(String kind) {
        return objects.stream().filter(o -> kind.equals(o.path("kind").asText()));
    }

    Optional<JsonNode> find(String kind, String name) {
        return ofKind(kind).filter(o -> name.equals(name(o))).findFirst();
    }

    JsonNode get(String kind, String name) {
        return find(kind, name).orElseGet(() -> fail(dir + " renders no " + kind + " named " + name));
    }

    /** The gateway: the Deployment named api-router. */
    JsonNode gateway() {
        return get("Deployment", "api-router");
    }

    static JsonNode gatewayContainer(JsonNode deployment) {
        JsonNode containers = podSpec(deployment).path("containers");
        for (JsonNode c : containers) {
            if ("api-router".equals(c.path("name").asText())) {
                return c;
            }
        }
        return fail("Deployment " + name(deployment) + " has no container named api-router");
    }

    static String name(JsonNode object) {
        return object.path("metadata").path("name").asText();
    }

    static JsonNode podSpec(JsonNode workload) {
        JsonNode spec = workload.path("spec");
        if ("CronJob".equals(workload.path("kind").asText())) {
            spec = spec.path("jobTemplate").path("spec");
        }
        return spec.path("template").path("spec");
    }

    /** Workloads (anything with a pod template). */
    Stream<JsonNode> workloads() {
        return objects.stream().filter(o -> List.of("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob",
                "ReplicaSet").contains(o.path("kind").asText()));
    }

    /** Containers running the api-router image (the gateway and the operator-command Jobs), with their workload. */
    Stream<Map.Entry<JsonNode, JsonNode>> appContainers() {
        return workloads().flatMap(w -> {
            List<Map.Entry<JsonNode, JsonNode>> found = new ArrayList<>();
            JsonNode spec = podSpec(w);
            for (String field : List.of("initContainers", "containers")) {
                for (JsonNode c : spec.path(field)) {
                    if (isAppImage(c.path("image").asText())) {
                        found.add(Map.entry(w, c));
                    }
                }
            }
            return found.stream();
        });
    }

    /** "api-router", "api-router:dev", "registry.example.com/team/api-router:1.2@sha256:..." */
    static boolean isAppImage(String image) {
        String last = image.substring(image.lastIndexOf('/') + 1);
        int cut = last.length();
        for (char c : new char[] {':', '@'}) {
            int i = last.indexOf(c);
            if (i >= 0) {
                cut = Math.min(cut, i);
            }
        }
        return "api-router".equals(last.substring(0, cut));
    }

    /** The Service named by a DNS host the way a pod in this render's namespace would resolve it, if any. */
    Optional<JsonNode> serviceForHost(String host) {
        String h = host.toLowerCase(java.util.Locale.ROOT).replaceAll("\\.$", "");
        for (JsonNode svc : ofKind("Service").toList()) {
            String name = name(svc);
            String ns = svc.path("metadata").path("namespace").asText("");
            List<String> forms = new ArrayList<>(List.of(name));
            if (!ns.isEmpty()) {
                forms.addAll(List.of(name + "." + ns, name + "." + ns + ".svc", name + "." + ns + ".svc.cluster.local"));
            }
            for (String form : forms) {
                if (h.equals(form)) {
                    return Optional.of(svc);
                }
                // <pod>.<headless service>: a StatefulSet member governed by this Service
                if (h.endsWith("." + form) && svc.path("spec").path("clusterIP").asText().equals("None")) {
                    String pod = h.substring(0, h.length() - form.length() - 1);
                    boolean member = ofKind("StatefulSet").anyMatch(sts ->
                            name.equals(sts.path("spec").path("serviceName").asText())
                                    && pod.matches(java.util.regex.Pattern.quote(name(sts)) + "-\\d+")
                                    && Integer.parseInt(pod.substring(name(sts).length() + 1))
                                    < sts.path("spec").path("replicas").asInt(1));
                    if (member) {
                        return Optional.of(svc);
                    }
                }
            }
        }
        return Optional.empty();
    }

    static boolean servicePortMatches(JsonNode service, int port) {
        for (JsonNode p : service.path("spec").path("ports")) {
            if (p.path("port").asInt() == port) {
                return true;
            }
        }
        return false;
    }

    void assertSingle(String kind, String name) {
        assertEquals(1, ofKind(kind).filter(o -> name.equals(name(o))).count(),
                dir + " should render exactly one " + kind + " " + name);
    }
}
