package dev.apirouter.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.config.Config;
import dev.apirouter.config.ConfigException;
import dev.apirouter.config.Setting;
import dev.apirouter.config.Settings;
import dev.apirouter.http.GatewayHttpServer;
import dev.apirouter.http.ManagementHttpServer;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;
import org.opentest4j.AssertionFailedError;

/**
 * Cross-checks between the rendered manifests and the app: what the pods are told (env, probes, ports, files) is what
 * the binary reads and serves.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class AppContractTest {

    static final List<String> ALL = Rendered.ALL;
    static final List<String> OVERLAYS = Rendered.OVERLAYS;

    // ---- env ------------------------------------------------------------------------------------------------------

    /** Every env var set on a container running the api-router image is one the app reads (or the JVM's own). */
    @ParameterizedTest
    @FieldSource("ALL")
    void everyEnvVarSetIsOneTheAppReads(String dir) {
        Rendered r = Rendered.of(dir);
        Set<String> known = App.settingVariables();
        assertTrue(known.size() > 10 && known.contains("ROUTER_HTTP_PORT"), "Setting.values() looks wrong: " + known);
        List<Map.Entry<JsonNode, JsonNode>> containers = r.appContainers().toList();
        assertFalse(containers.isEmpty(), dir + " runs no api-router container");
        for (Map.Entry<JsonNode, JsonNode> wc : containers) {
            Set<String> unknown = new TreeSet<>(App.environment(r, wc.getValue()).keySet());
            unknown.removeAll(known);
            unknown.removeAll(App.JVM_STANDARD_VARIABLES);
            assertTrue(unknown.isEmpty(), dir + ": " + wc.getKey().path("kind").asText() + "/"
                    + Rendered.name(wc.getKey()) + " sets env vars the app does not read: " + unknown
                    + " (it reads " + known + "; JVM standard variables allowed: " + App.JVM_STANDARD_VARIABLES + ")");
        }
    }

    /**
     * The app's own binding ({@code Settings.from}) accepts every app container's environment, and what it binds is
     * what the rest of the pod assumes: the port, the routes and data directories, JSON logs.
     */
    @ParameterizedTest
    @FieldSource("ALL")
    void theAppAcceptsTheEnvironmentItIsGiven(String dir) {
        Rendered r = Rendered.of(dir);
        for (Map.Entry<JsonNode, JsonNode> wc : r.appContainers().toList()) {
            String where = dir + " " + Rendered.name(wc.getKey());
            Map<String, String> env = new TreeMap<>();
            // values that only the cluster resolves (Secrets, field refs) become a placeholder
            App.environment(r, wc.getValue()).forEach((k, v) ->
                    env.put(k, v.literal() != null ? v.literal() : App.placeholder(k)));
            Settings settings;
            try {
                settings = Settings.from(new Config(env, Config.bundledDefaults()));
            } catch (ConfigException e) {
                settings = fail(where + ": the app would refuse to start: " + e.getMessage());
            }
            assertEquals("json", env.get(Setting.LOG_FORMAT.envVar()), where + ": LOG_FORMAT=json in Kubernetes");
            assertFalse(settings.store().demo(), where + ": " + Setting.DEMO.envVar()
                    + " is set: the demo policy (a key allowed every model) is for ./run-demo.sh only");
            Path dataDir = Path.of(App.effective(App.environment(r, wc.getValue()), Setting.DATA_DIR).orElseThrow());
            assertTrue(settings.store().lastKnownGoodFile().startsWith(dataDir),
                    where + ": the last-known-good copy is written outside ROUTER_DATA_DIR: "
                            + settings.store().lastKnownGoodFile());
            if (Rendered.name(wc.getKey()).equals("api-router")) {
                assertEquals(appPort(r, wc.getValue()), settings.http().port());
                assertEquals(managementPort(r, wc.getValue()), settings.management().port());
                assertTrue(mountAt(wc.getValue(), settings.routesDir().toString()).isPresent(),
                        where + ": the app reads routes from " + settings.routesDir() + ", where nothing is mounted");
                assertTrue(settings.adminToken().isPresent(),
                        where + ": no admin token: the admin endpoints are closed");
            }
        }
    }

    /** The admin token comes from a Secret, never from a literal or a ConfigMap. */
    @ParameterizedTest
    @FieldSource("ALL")
    void adminTokenComesFromASecret(String dir) {
        Rendered r = Rendered.of(dir);
        JsonNode container = Rendered.gatewayContainer(r.gateway());
        JsonNode ref = null;
        for (JsonNode e : container.path("env")) {
            if (Setting.ADMIN_TOKEN.envVar().equals(e.path("name").asText())) {
                ref = e.path("valueFrom").path("secretKeyRef");
            }
        }
        assertTrue(ref != null && !ref.isMissingNode() && ref.hasNonNull("name") && ref.hasNonNull("key"),
                dir + ": ROUTER_ADMIN_TOKEN must be set from a secretKeyRef");
        for (JsonNode cm : r.ofKind("ConfigMap").toList()) {
            assertFalse(cm.path("data").has(Setting.ADMIN_TOKEN.envVar()),
                    dir + ": ConfigMap " + Rendered.name(cm) + " holds the admin token");
        }
        if (dir.equals(Rendered.DEVELOPMENT)) {
            JsonNode secret = r.get("Secret", ref.path("name").asText());
            String key = ref.path("key").asText();
            assertTrue(secret.path("data").has(key) || secret.path("stringData").has(key),
                    "the development Secret has no key " + key);
        }
    }

    // ---- probes, ports, metrics -----------------------------------------------------------------------------------

    @Test
    void statusPathsAreTheContractsAndTheAppsOwn() {
        assertEquals("/v1/status/healthz", App.HEALTHZ);
        assertEquals("/v1/status/readyz", App.READYZ);
        assertEquals(App.HEALTHZ, GatewayHttpServer.HEALTHZ_PATH, "the app serves liveness elsewhere");
        assertEquals(App.READYZ, GatewayHttpServer.READYZ_PATH, "the app serves readiness elsewhere");
        assertEquals(App.METRICS, ManagementHttpServer.METRICS_PATH, "the app serves metrics elsewhere");
    }

    /** The port the app listens on, as configured for this container (env, else application.properties). */
    private static int appPort(Rendered r, JsonNode container) {
        return configuredPort(r, container, Setting.HTTP_PORT);
    }

    /** The management port, as configured for this container. */
    private static int managementPort(Rendered r, JsonNode container) {
        return configuredPort(r, container, Setting.MANAGEMENT_PORT);
    }

    private static int configuredPort(Rendered r, JsonNode container, Setting setting) {
        String port = App.effective(App.environment(r, container), setting)
                .orElseGet(() -> fail("no " + setting.envVar() + " and no " + setting.propertyKey() + " default"));
        try {
            return Integer.parseInt(port);
        } catch (NumberFormatException e) {
            return fail(r.dir + ": " + setting.envVar() + " is not a number: " + port);
        }
    }

    /** The containerPort of the port named {@code name}. */
    private static int namedPort(JsonNode container, String name, String dir) {
        for (JsonNode p : container.path("ports")) {
            if (name.equals(p.path("name").asText())) {
                return p.path("containerPort").asInt();
            }
        }
        return fail(dir + ": the container has no port named " + name);
    }

    /** A port given by number or by the name of a container port. */
    private static int resolvePort(JsonNode port, JsonNode container, String what) {
        if (port.isInt()) {
            return port.asInt();
        }
        for (JsonNode p : container.path("ports")) {
            if (port.asText().equals(p.path("name").asText())) {
                return p.path("containerPort").asInt();
            }
        }
        return fail(what + ": port " + port + " is not a port of container " + container.path("name").asText());
    }

    @ParameterizedTest
    @FieldSource("ALL")
    void probesUseTheStatusEndpointsOnTheAppsPort(String dir) {
        Rendered r = Rendered.of(dir);
        JsonNode container = Rendered.gatewayContainer(r.gateway());
        int port = appPort(r, container);
        assertEquals(port, namedPort(container, App.HTTP_PORT_NAME, dir), dir + ": port http is not the app's "
                + "ROUTER_HTTP_PORT");
        assertEquals(managementPort(r, container), namedPort(container, App.MANAGEMENT_PORT_NAME, dir),
                dir + ": port management is not the app's ROUTER_MANAGEMENT_PORT");

        Map<String, String> expected = Map.of("startupProbe", App.HEALTHZ, "livenessProbe", App.HEALTHZ,
                "readinessProbe", App.READYZ);
        for (Map.Entry<String, String> e : expected.entrySet()) {
            JsonNode probe = container.path(e.getKey());
            assertFalse(probe.isMissingNode(), dir + ": no " + e.getKey());
            JsonNode get = probe.path("httpGet");
            assertFalse(get.isMissingNode(), dir + ": " + e.getKey() + " must be an httpGet on the status endpoint");
            assertEquals(e.getValue(), get.path("path").asText(), dir + ": " + e.getKey() + " path");
            assertEquals(port, resolvePort(get.path("port"), container, dir + " " + e.getKey()),
                    dir + ": " + e.getKey() + " port");
            assertEquals("HTTP", get.path("scheme").asText("HTTP"), dir + ": " + e.getKey() + " scheme");
        }
    }

    /**
     * Timings from the measured start-up (1-3 s on 2 cores): the startup probe polls often enough to pass within a
     * couple of seconds of the server listening, and allows at least 10x the measured start-up before giving up;
     * liveness and readiness need no initial delay of their own (the startup probe gates them).
     */
    @ParameterizedTest
    @FieldSource("ALL")
    void probeTimingsFitTheMeasuredStartup(String dir) {
        JsonNode container = Rendered.gatewayContainer(Rendered.of(dir).gateway());
        JsonNode startup = container.path("startupProbe");
        int period = startup.path("periodSeconds").asInt(10);
        int budget = startup.path("initialDelaySeconds").asInt(0) + period * startup.path("failureThreshold").asInt(3);
        assertTrue(period <= 2, dir + ": startupProbe period " + period + " s delays readiness after start-up");
        assertTrue(budget >= 10 * App.MEASURED_STARTUP_SECONDS, dir + ": startupProbe gives up after " + budget
                + " s, under 10x the measured start-up of " + App.MEASURED_STARTUP_SECONDS + " s");
        for (String name : List.of("livenessProbe", "readinessProbe")) {
            JsonNode probe = container.path(name);
            assertEquals(0, probe.path("initialDelaySeconds").asInt(0), dir + ": " + name
                    + " needs no initial delay behind the startupProbe");
            assertTrue(probe.path("timeoutSeconds").asInt(1) < probe.path("periodSeconds").asInt(10),
                    dir + ": " + name + " timeout must be shorter than its period");
        }
        JsonNode liveness = container.path("livenessProbe");
        int toRestart = liveness.path("periodSeconds").asInt(10) * liveness.path("failureThreshold").asInt(3);
        assertTrue(toRestart >= 20, dir + ": liveness restarts the pod after " + toRestart
                + " s without an answer; a GC pause or a busy node should not do that");
    }

    /**
     * The Service and the NetworkPolicy's open rule carry the http port only; Prometheus scrapes the management port,
     * which the NetworkPolicy opens to selected (monitoring) peers only.
     */
    @ParameterizedTest
    @FieldSource("ALL")
    void serviceAndNetworkPolicyOpenHttpAndScrapingTargetsTheManagementPort(String dir) {
        Rendered r = Rendered.of(dir);
        JsonNode deployment = r.gateway();
        JsonNode container = Rendered.gatewayContainer(deployment);
        int port = appPort(r, container);
        JsonNode podLabels = deployment.path("spec").path("template").path("metadata").path("labels");

        JsonNode service = r.get("Service", "api-router");
        assertTrue(selects(service.path("spec").path("selector"), podLabels), dir + ": Service does not select the pods");
        JsonNode svcPort = service.path("spec").path("ports").get(0);
        assertEquals(port, resolvePort(svcPort.path("targetPort"), container, dir + " Service"),
                dir + ": the Service targets another port");
        int management = managementPort(r, container);
        for (JsonNode p : service.path("spec").path("ports")) {
            assertNotEquals(management, resolvePort(p.path("targetPort"), container, dir + " Service"),
                    dir + ": the Service exposes the management port");
        }
        for (JsonNode w : r.workloads().toList()) {
            if (w != deployment) {
                assertFalse(selects(service.path("spec").path("selector"),
                        w.path("spec").path("template").path("metadata").path("labels")),
                        dir + ": the Service would also send traffic to " + Rendered.name(w));
            }
        }

        JsonNode annotations = deployment.path("spec").path("template").path("metadata").path("annotations");
        assertEquals("true", annotations.path("prometheus.io/scrape").asText(), dir + ": prometheus.io/scrape");
        assertEquals(String.valueOf(management), annotations.path("prometheus.io/port").asText(),
                dir + ": prometheus.io/port is not the management port");
        assertEquals(App.METRICS, annotations.path("prometheus.io/path").asText(), dir + ": prometheus.io/path");

        JsonNode policy = r.get("NetworkPolicy", "api-router");
        assertTrue(selects(policy.path("spec").path("podSelector").path("matchLabels"), podLabels),
                dir + ": the NetworkPolicy does not select the pods");
        checkIngress(dir, policy, container, port, management);

        JsonNode pdb = r.get("PodDisruptionBudget", "api-router");
        assertTrue(selects(pdb.path("spec").path("selector").path("matchLabels"), podLabels),
                dir + ": the PodDisruptionBudget does not select the pods");
        JsonNode hpaTarget = r.get("HorizontalPodAutoscaler", "api-router").path("spec").path("scaleTargetRef");
        assertEquals("Deployment", hpaTarget.path("kind").asText());
        assertEquals(Rendered.name(deployment), hpaTarget.path("name").asText(), dir + ": HPA targets another name");
        assertFalse(deployment.path("spec").has("replicas"),
                dir + ": the HPA owns the replica count; spec.replicas would be reset on every apply");
    }

    /**
     * The NetworkPolicy's ingress rules: the http port open to everyone; the management port reachable, but only from
     * peers chosen by label (a rule without ports covers every port).
     */
    private static void checkIngress(String dir, JsonNode policy, JsonNode container, int http, int management) {
        boolean httpOpen = false;
        boolean managementReachable = false;
        for (JsonNode rule : policy.path("spec").path("ingress")) {
            boolean fromAnywhere = rule.path("from").isEmpty();
            List<Integer> ports = new ArrayList<>();
            rule.path("ports").forEach(p -> ports.add(resolvePort(p.path("port"), container, dir + " NetworkPolicy")));
            httpOpen |= fromAnywhere && ports.contains(http);
            if (ports.isEmpty() || ports.contains(management)) {
                managementReachable = true;
                assertFalse(fromAnywhere, dir + ": the NetworkPolicy opens the management port to everyone");
                for (JsonNode peer : rule.path("from")) {
                    assertTrue(selective(peer), dir + ": the NetworkPolicy lets a peer reach the management port "
                            + "that is not selected by label: " + peer);
                }
            }
        }
        assertTrue(httpOpen, dir + ": the NetworkPolicy does not let traffic reach port " + http);
        assertTrue(managementReachable, dir + ": the NetworkPolicy keeps Prometheus off the management port");
    }

    /** The ingress check is not a rubber stamp: management open to all, or to any namespace, fails it. */
    @Test
    void ingressCheckRejectsAManagementPortOpenToAll() {
        Rendered r = Rendered.of(Rendered.BASE);
        JsonNode container = Rendered.gatewayContainer(r.gateway());
        int http = appPort(r, container);
        int management = managementPort(r, container);
        JsonNode policy = r.get("NetworkPolicy", "api-router");
        checkIngress("base", policy, container, http, management);

        ObjectNode open = policy.deepCopy();
        ((ObjectNode) open.path("spec").path("ingress").get(1)).remove("from");
        assertThrows(AssertionFailedError.class, () -> checkIngress("base", open, container, http, management));

        ObjectNode anyNamespace = policy.deepCopy();
        ((ArrayNode) anyNamespace.path("spec").path("ingress").get(1).path("from"))
                .addObject().putObject("namespaceSelector");
        assertThrows(AssertionFailedError.class, () -> checkIngress("base", anyNamespace, container, http, management));

        ObjectNode allPorts = policy.deepCopy();
        ((ObjectNode) allPorts.path("spec").path("ingress").get(0)).remove("ports");
        assertThrows(AssertionFailedError.class, () -> checkIngress("base", allPorts, container, http, management));
    }

    /** A NetworkPolicy peer chosen by labels: no ipBlock, and a pod or namespace selector that is not empty. */
    private static boolean selective(JsonNode peer) {
        return !peer.has("ipBlock") && (hasLabels(peer.path("podSelector")) || hasLabels(peer.path("namespaceSelector")));
    }

    private static boolean hasLabels(JsonNode selector) {
        return !selector.path("matchLabels").isEmpty() || !selector.path("matchExpressions").isEmpty();
    }

    private static boolean selects(JsonNode selector, JsonNode labels) {
        if (selector.isMissingNode() || selector.isEmpty()) {
            return false;
        }
        for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) selector::fields) {
            if (!e.getValue().asText().equals(labels.path(e.getKey()).asText(null))) {
                return false;
            }
        }
        return true;
    }

    // ---- routes ---------------------------------------------------------------------------------------------------

    /**
     * The routes ConfigMap holds exactly the repository's routes/*.yaml (the files the app loads), byte for byte, is
     * mounted as a whole directory at ROUTER_ROUTES_DIR, and keeps a stable name so edits hot-reload.
     */
    @ParameterizedTest
    @FieldSource("ALL")
    void routesConfigMapHoldsTheRepositorysRoutes(String dir) throws IOException {
        Rendered r = Rendered.of(dir);
        Map<String, String> expected = new TreeMap<>();
        Path routes = Tools.repo().resolve("routes");
        if (Files.isDirectory(routes)) {
            try (Stream<Path> files = Files.list(routes)) {
                for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".yaml")
                        && Files.isRegularFile(p)).toList()) {
                    expected.put(f.getFileName().toString(), Files.readString(f, StandardCharsets.UTF_8));
                }
            }
        }
        JsonNode cm = r.get("ConfigMap", "api-router-routes");
        Map<String, String> actual = new TreeMap<>();
        cm.path("data").fields().forEachRemaining(e -> actual.put(e.getKey(), e.getValue().asText()));
        assertFalse(cm.has("binaryData"), "routes are text");
        assertEquals(expected.keySet(), actual.keySet(), dir + ": the routes ConfigMap and routes/*.yaml list different "
                + "files; run kubernetes/sync-routes");
        for (String name : expected.keySet()) {
            assertEquals(expected.get(name), actual.get(name), dir + ": routes/" + name + " differs from its copy in "
                    + "the ConfigMap; run kubernetes/sync-routes");
        }
        if (expected.isEmpty()) {
            System.err.println("WARNING: no routes/*.yaml in the repository: the routes ConfigMap is empty");
        }

        JsonNode container = Rendered.gatewayContainer(r.gateway());
        String routesDir = App.effective(App.environment(r, container), Setting.ROUTES_DIR).orElseThrow();
        assertTrue(routesDir.startsWith("/"), dir + ": ROUTER_ROUTES_DIR should be absolute: " + routesDir);
        JsonNode mount = mountAt(container, routesDir)
                .orElseGet(() -> fail(dir + ": nothing is mounted at ROUTER_ROUTES_DIR " + routesDir));
        assertFalse(mount.has("subPath") || mount.has("subPathExpr"),
                dir + ": a subPath mount never sees ConfigMap updates, so routes would not hot-reload");
        JsonNode volume = volume(r.gateway(), mount.path("name").asText());
        assertEquals("api-router-routes", volume.path("configMap").path("name").asText(),
                dir + ": ROUTER_ROUTES_DIR is not the routes ConfigMap (a hashed name would roll pods on each edit)");
    }

    private static Optional<JsonNode> mountAt(JsonNode container, String path) {
        String normalized = path.replaceAll("/+$", "");
        for (JsonNode m : container.path("volumeMounts")) {
            if (m.path("mountPath").asText().replaceAll("/+$", "").equals(normalized)) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }

    private static JsonNode volume(JsonNode workload, String name) {
        for (JsonNode v : Rendered.podSpec(workload).path("volumes")) {
            if (name.equals(v.path("name").asText())) {
                return v;
            }
        }
        return fail(Rendered.name(workload) + " has no volume " + name);
    }

    // ---- telemetry and stores -------------------------------------------------------------------------------------

    private static URI endpointUri(String raw) {
        return URI.create(raw.contains("://") ? raw : "http://" + raw);
    }

    private static boolean isLocal(String host) {
        String h = host.toLowerCase(Locale.ROOT).replaceAll("^\\[|]$", "");
        return h.equals("localhost") || h.endsWith(".localhost") || h.startsWith("127.") || h.equals("::1")
                || h.equals("0:0:0:0:0:0:0:1") || h.equals("0.0.0.0") || h.equals("::");
    }

    /** The OTLP endpoint is set, is not this pod, and its port speaks the configured protocol. */
    @ParameterizedTest
    @FieldSource("OVERLAYS")
    void otlpEndpointIsARemoteCollector(String dir) {
        Rendered r = Rendered.of(dir);
        for (Map.Entry<JsonNode, JsonNode> wc : r.appContainers().toList()) {
            Map<String, App.EnvValue> env = App.environment(r, wc.getValue());
            String where = dir + " " + Rendered.name(wc.getKey());
            String raw = App.effective(env, Setting.OTEL_ENDPOINT)
                    .orElseGet(() -> fail(where + ": OTEL_EXPORTER_OTLP_ENDPOINT is not set: no traces"));
            URI uri = endpointUri(raw);
            assertTrue(uri.getHost() != null, where + ": OTLP endpoint has no host: " + raw);
            assertFalse(isLocal(uri.getHost()), where + ": OTLP endpoint " + raw + " is the pod itself; there is no "
                    + "collector in the gateway's pod");
            String protocol = App.effective(env, Setting.OTEL_PROTOCOL).orElseThrow();
            assertTrue(Set.of("http/protobuf", "grpc").contains(protocol), where + ": OTLP protocol " + protocol);
            int port = uri.getPort();
            assertFalse(port == 4317 && !protocol.equals("grpc"), where + ": port 4317 is OTLP/gRPC, protocol is "
                    + protocol);
            assertFalse(port == 4318 && !protocol.equals("http/protobuf"), where + ": port 4318 is OTLP/HTTP, protocol "
                    + "is " + protocol);
            if (dir.equals(Rendered.DEVELOPMENT)) {
                JsonNode svc = r.serviceForHost(uri.getHost()).orElseGet(() -> fail(where + ": OTLP endpoint host "
                        + uri.getHost() + " is not a Service of the overlay"));
                assertTrue(Rendered.servicePortMatches(svc, port), where + ": Service " + Rendered.name(svc)
                        + " has no port " + port);
                checkCollectorListens(r, protocol, port);
            }
        }
    }

    /** The development collector's config has an OTLP receiver for the protocol on the port the gateway uses. */
    private static void checkCollectorListens(Rendered r, String protocol, int port) {
        JsonNode cm = r.ofKind("ConfigMap").filter(c -> Rendered.name(c).startsWith("otel-collector-config"))
                .findFirst().orElseGet(() -> fail("no otel-collector-config ConfigMap"));
        JsonNode config;
        try {
            config = Rendered.YAML.readTree(cm.path("data").path("collector.yaml").asText());
        } catch (IOException e) {
            config = fail("collector.yaml does not parse: " + e);
        }
        String receiver = protocol.equals("grpc") ? "grpc" : "http";
        String endpoint = config.path("receivers").path("otlp").path("protocols").path(receiver).path("endpoint")
                .asText("");
        assertTrue(endpoint.endsWith(":" + port), "the collector's OTLP " + receiver + " receiver listens on "
                + endpoint + ", the gateway sends to port " + port);
        assertFalse(endpoint.startsWith("localhost") || endpoint.startsWith("127."),
                "the collector's receiver must listen beyond its own pod: " + endpoint);
    }

    /** etcd endpoints name the overlay's etcd members, on their client port. */
    @ParameterizedTest
    @FieldSource("OVERLAYS")
    void etcdEndpointsNameTheOverlaysEtcd(String dir) {
        Rendered r = Rendered.of(dir);
        for (Map.Entry<JsonNode, JsonNode> wc : r.appContainers().toList()) {
            String where = dir + " " + Rendered.name(wc.getKey());
            String raw = App.effective(App.environment(r, wc.getValue()), Setting.ETCD_ENDPOINTS)
                    .orElseGet(() -> fail(where + ": ETCD_ENDPOINTS is not set: the gateway would serve 503 no_policy"));
            Optional<JsonNode> etcd = r.find("StatefulSet", "etcd");
            for (String e : raw.split(",")) {
                URI uri = endpointUri(e.trim());
                assertEquals("http", uri.getScheme(), where + ": " + e);
                assertFalse(isLocal(uri.getHost()), where + ": etcd endpoint " + e + " is the pod itself");
                if (etcd.isPresent()) {
                    JsonNode svc = r.serviceForHost(uri.getHost()).orElseGet(() -> fail(where + ": etcd endpoint "
                            + e + " is not a Service or member of the overlay's etcd"));
                    assertTrue(Rendered.servicePortMatches(svc, uri.getPort()), where + ": " + e
                            + " is not a port of Service " + Rendered.name(svc));
                }
            }
        }
    }

    /**
     * Development: every app container counts limits in the overlay's Redis, by its Service on the port that reaches
     * the Redis container.
     */
    @Test
    void developmentRedisUrlNamesTheOverlaysRedis() {
        Rendered r = Rendered.of(Rendered.DEVELOPMENT);
        JsonNode redis = r.get("Deployment", "redis");
        for (Map.Entry<JsonNode, JsonNode> wc : r.appContainers().toList()) {
            String where = Rendered.DEVELOPMENT + " " + Rendered.name(wc.getKey());
            App.EnvValue url = App.environment(r, wc.getValue()).get(Setting.REDIS_URL.envVar());
            assertTrue(url != null && url.literal() != null && !url.literal().isEmpty(),
                    where + ": ROUTER_REDIS_URL is not set: limits would be counted per replica");
            URI uri = URI.create(url.literal());
            assertEquals("redis", uri.getScheme(), where + ": " + uri);
            assertFalse(isLocal(uri.getHost()), where + ": Redis " + uri + " is the pod itself");
            JsonNode svc = r.serviceForHost(uri.getHost()).orElseGet(() -> fail(where + ": Redis host "
                    + uri.getHost() + " is not a Service of the overlay"));
            int port = uri.getPort() > 0 ? uri.getPort() : 6379;
            JsonNode servicePort = null;
            for (JsonNode p : svc.path("spec").path("ports")) {
                if (p.path("port").asInt() == port) {
                    servicePort = p;
                }
            }
            assertTrue(servicePort != null, where + ": Service " + Rendered.name(svc) + " has no port " + port);
            assertTrue(selects(svc.path("spec").path("selector"), redis.path("spec").path("template").path("metadata")
                    .path("labels")), "Service " + Rendered.name(svc) + " does not select the Redis pods");
            JsonNode container = Rendered.podSpec(redis).path("containers").get(0);
            assertEquals(6379, resolvePort(servicePort.path("targetPort"), container, "Service "
                    + Rendered.name(svc)), "Service " + Rendered.name(svc) + " does not reach Redis's port 6379");
        }
    }

    /**
     * Production: no Redis of its own; the gateway's ROUTER_REDIS_URL comes from the operator's Secret (required: a
     * missing one would silently turn the limits per-replica), no URL is in the manifests, and what happens while that
     * Redis cannot answer is stated, not left to the default.
     */
    @Test
    void productionRedisUrlComesFromTheOperatorsSecret() {
        Rendered r = Rendered.of(Rendered.PRODUCTION);
        checkRedisUrlFromSecret(r.dir, Rendered.gatewayContainer(r.gateway()), r);
        for (Map.Entry<JsonNode, JsonNode> wc : r.appContainers().toList()) {
            String where = r.dir + " " + Rendered.name(wc.getKey());
            App.EnvValue onFailure = App.environment(r, wc.getValue()).get(Setting.LIMITS_ON_STORE_FAILURE.envVar());
            assertTrue(onFailure != null && Set.of("open", "closed").contains(onFailure.literal()), where
                    + ": ROUTER_LIMITS_ON_STORE_FAILURE should be stated as open or closed: " + onFailure);
        }
    }

    private static void checkRedisUrlFromSecret(String dir, JsonNode container, Rendered r) {
        JsonNode ref = null;
        for (JsonNode e : container.path("env")) {
            if (Setting.REDIS_URL.envVar().equals(e.path("name").asText())) {
                assertFalse(e.has("value"), dir + ": ROUTER_REDIS_URL is a literal; it may hold a password");
                ref = e.path("valueFrom").path("secretKeyRef");
            }
        }
        assertTrue(ref != null && !ref.isMissingNode() && ref.hasNonNull("name") && ref.hasNonNull("key"),
                dir + ": ROUTER_REDIS_URL must be set from a secretKeyRef");
        assertFalse(ref.path("optional").asBoolean(false), dir + ": the Redis Secret is optional: without it each "
                + "replica would count alone, and nothing would fail");
        String secret = ref.path("name").asText();
        assertTrue(r.find("Secret", secret).isEmpty(), dir + ": Secret " + secret
                + " is in the manifests; the operator creates it from the managed Redis");
        for (JsonNode cm : r.ofKind("ConfigMap").toList()) {
            assertFalse(cm.path("data").has(Setting.REDIS_URL.envVar()),
                    dir + ": ConfigMap " + Rendered.name(cm) + " sets ROUTER_REDIS_URL, which envFrom would pass");
        }
        assertFalse(r.yaml.contains("redis://") || r.yaml.contains("rediss://"),
                dir + ": the manifests embed a Redis URL");
        assertTrue(r.find("Deployment", "redis").isEmpty() && r.find("StatefulSet", "redis").isEmpty()
                && r.find("Service", "redis").isEmpty(), dir + ": runs a Redis of its own");
    }

    /** The Secret check is not a rubber stamp: a literal URL or an optional Secret fails it. */
    @Test
    void redisSecretCheckRejectsALiteralOrOptionalUrl() {
        Rendered r = Rendered.of(Rendered.PRODUCTION);
        JsonNode container = Rendered.gatewayContainer(r.gateway());
        checkRedisUrlFromSecret(r.dir, container, r);

        ObjectNode literal = container.deepCopy();
        for (JsonNode e : literal.path("env")) {
            if (Setting.REDIS_URL.envVar().equals(e.path("name").asText())) {
                ((ObjectNode) e).remove("valueFrom");
                ((ObjectNode) e).put("value", "redis://redis.example:6379");
            }
        }
        assertThrows(AssertionFailedError.class, () -> checkRedisUrlFromSecret(r.dir, literal, r));

        ObjectNode optional = container.deepCopy();
        for (JsonNode e : optional.path("env")) {
            if (Setting.REDIS_URL.envVar().equals(e.path("name").asText())) {
                ((ObjectNode) e.path("valueFrom").path("secretKeyRef")).put("optional", true);
            }
        }
        assertThrows(AssertionFailedError.class, () -> checkRedisUrlFromSecret(r.dir, optional, r));

        ObjectNode missing = container.deepCopy();
        ((ArrayNode) missing.path("env")).removeAll();
        assertThrows(AssertionFailedError.class, () -> checkRedisUrlFromSecret(r.dir, missing, r));
    }

    /** Development: the policy the bootstrap Job stores sends the model to the overlay's vllm Service. */
    @Test
    void developmentPolicyPointsAtTheVllmService() throws IOException {
        Rendered r = Rendered.of(Rendered.DEVELOPMENT);
        JsonNode job = r.get("Job", "api-router-bootstrap-policy");
        JsonNode container = Rendered.podSpec(job).path("containers").get(0);
        assertTrue(Rendered.isAppImage(container.path("image").asText()), "the Job runs the api-router image");
        List<String> args = new ArrayList<>();
        container.path("args").forEach(a -> args.add(a.asText()));
        assertEquals(List.of("policy", "put"), args.subList(0, 2), "the Job runs `policy put`");
        String file = args.get(args.indexOf("--file") + 1);
        assertTrue(args.indexOf("--model") >= 0, "policy put needs --model");
        Path filePath = Path.of(file);
        JsonNode mount = mountAt(container, filePath.getParent().toString())
                .orElseGet(() -> fail("nothing is mounted at " + filePath.getParent()));
        JsonNode cm = r.get("ConfigMap", volume(job, mount.path("name").asText()).path("configMap").path("name")
                .asText());
        String json = cm.path("data").path(filePath.getFileName().toString()).asText(null);
        assertTrue(json != null, "ConfigMap " + Rendered.name(cm) + " has no " + filePath.getFileName());
        JsonNode policy = new ObjectMapper().readTree(json);
        assertTrue(policy.path("backends").isArray() && !policy.path("backends").isEmpty(), "policy without backends");
        for (JsonNode b : policy.path("backends")) {
            URI uri = URI.create(b.path("url").asText());
            JsonNode svc = r.serviceForHost(uri.getHost()).orElseGet(() -> fail("backend " + uri
                    + " is not a Service of the overlay"));
            assertTrue(Rendered.servicePortMatches(svc, uri.getPort()), "backend " + uri + ": Service "
                    + Rendered.name(svc) + " has no such port");
        }
    }

    // ---- shutdown -------------------------------------------------------------------------------------------------

    /**
     * The kubelet's grace period covers the preStop sleep, the app's drain (ROUTER_SHUTDOWN_GRACE_MS) and a margin
     * for the JVM to exit; the preStop is the kubelet's sleep action, which needs nothing in the image.
     */
    @ParameterizedTest
    @FieldSource("ALL")
    void terminationGraceCoversPreStopAndDrain(String dir) {
        Rendered r = Rendered.of(dir);
        JsonNode deployment = r.gateway();
        JsonNode container = Rendered.gatewayContainer(deployment);
        JsonNode preStop = container.path("lifecycle").path("preStop");
        assertTrue(preStop.has("sleep"), dir + ": preStop should be the kubelet's sleep action (the runtime image "
                + "need not have a shell or sleep binary): " + preStop);
        int sleep = preStop.path("sleep").path("seconds").asInt();
        assertTrue(sleep >= 1 && sleep <= 15, dir + ": preStop sleep of " + sleep + " s");
        long drainMs = Long.parseLong(App.effective(App.environment(r, container), Setting.SHUTDOWN_GRACE_MS)
                .orElseThrow());
        int grace = Rendered.podSpec(deployment).path("terminationGracePeriodSeconds").asInt(30);
        long needed = sleep + (drainMs + 999) / 1000 + 2;
        assertTrue(grace >= needed, dir + ": terminationGracePeriodSeconds " + grace + " < preStop " + sleep
                + " s + drain " + drainMs + " ms + 2 s to exit: in-flight requests would be killed");
        assertTrue(grace <= needed + 30, dir + ": terminationGracePeriodSeconds " + grace
                + " is far beyond the drain; a stuck pod would linger");
    }

    // ---- security, resources, JVM ---------------------------------------------------------------------------------

    private static final Pattern DOCKERFILE_USER = Pattern.compile("(?m)^USER\\s+(\\d+)(?::\\d+)?\\s*$");

    /** Non-root (the image's user), read-only root, no capabilities, no token; writable emptyDirs for data and tmp. */
    @ParameterizedTest
    @FieldSource("ALL")
    void appContainersAreLockedDown(String dir) throws IOException {
        Rendered r = Rendered.of(dir);
        Matcher user = DOCKERFILE_USER.matcher(Files.readString(Tools.repo().resolve("Dockerfile")));
        String imageUser = null;
        while (user.find()) {
            imageUser = user.group(1);
        }
        assertTrue(imageUser != null, "the Dockerfile has no numeric USER");
        for (Map.Entry<JsonNode, JsonNode> wc : r.appContainers().toList()) {
            JsonNode w = wc.getKey();
            JsonNode c = wc.getValue();
            String where = dir + " " + w.path("kind").asText() + "/" + Rendered.name(w);
            JsonNode pod = Rendered.podSpec(w);
            JsonNode psc = pod.path("securityContext");
            JsonNode csc = c.path("securityContext");
            assertTrue(csc.path("runAsNonRoot").asBoolean(psc.path("runAsNonRoot").asBoolean(false)),
                    where + ": runAsNonRoot");
            String uid = csc.path("runAsUser").asText(psc.path("runAsUser").asText(""));
            assertEquals(imageUser, uid, where + ": runAsUser should be the image's USER");
            assertNotEquals("0", uid, where + ": root");
            assertTrue(csc.path("readOnlyRootFilesystem").asBoolean(false), where + ": readOnlyRootFilesystem");
            assertFalse(csc.path("allowPrivilegeEscalation").asBoolean(true), where + ": allowPrivilegeEscalation");
            assertFalse(csc.path("privileged").asBoolean(false), where + ": privileged");
            List<String> drop = new ArrayList<>();
            csc.path("capabilities").path("drop").forEach(d -> drop.add(d.asText()));
            assertTrue(drop.contains("ALL"), where + ": capabilities.drop must hold ALL");
            assertTrue(csc.path("capabilities").path("add").isEmpty(), where + ": adds capabilities");

            String saName = pod.path("serviceAccountName").asText("default");
            boolean saAutomount = r.find("ServiceAccount", saName)
                    .map(sa -> sa.path("automountServiceAccountToken").asBoolean(true)).orElse(true);
            assertFalse(pod.path("automountServiceAccountToken").asBoolean(saAutomount),
                    where + ": mounts a service-account token it never uses");

            Map<String, App.EnvValue> env = App.environment(r, c);
            String dataDir = App.effective(env, Setting.DATA_DIR).orElseThrow();
            for (String path : List.of(dataDir, "/tmp")) {
                JsonNode mount = mountAt(c, path).orElseGet(() -> fail(where + ": " + path
                        + " is not a mounted volume, and the root filesystem is read-only"));
                assertFalse(mount.path("readOnly").asBoolean(false), where + ": " + path + " is read-only");
                assertTrue(volume(w, mount.path("name").asText()).has("emptyDir"), where + ": " + path
                        + " should be an emptyDir");
            }
        }
    }

    private static final Pattern MAX_RAM = Pattern.compile("-XX:MaxRAMPercentage=(\\d+(?:\\.\\d+)?)");

    /** Requests and limits on every app container, and a JVM heap sized from the container's limit. */
    @ParameterizedTest
    @FieldSource("ALL")
    void resourcesAndJvmSizing(String dir) {
        Rendered r = Rendered.of(dir);
        for (Map.Entry<JsonNode, JsonNode> wc : r.appContainers().toList()) {
            String where = dir + " " + Rendered.name(wc.getKey());
            JsonNode res = wc.getValue().path("resources");
            for (String kind : List.of("requests", "limits")) {
                for (String resource : List.of("cpu", "memory")) {
                    assertTrue(res.path(kind).hasNonNull(resource), where + ": no " + kind + "." + resource);
                }
            }
            assertEquals(Quantity.bytes(res.path("requests").path("memory").asText()),
                    Quantity.bytes(res.path("limits").path("memory").asText()),
                    where + ": memory request = limit (no overcommit for a JVM)");
            assertTrue(Quantity.bytes(res.path("limits").path("memory").asText()) >= 256L << 20,
                    where + ": memory limit under 256Mi");
            App.EnvValue opts = App.environment(r, wc.getValue()).get("JAVA_TOOL_OPTIONS");
            assertTrue(opts != null && opts.literal() != null, where + ": JAVA_TOOL_OPTIONS is not set");
            Matcher m = MAX_RAM.matcher(opts.literal());
            assertTrue(m.find(), where + ": JAVA_TOOL_OPTIONS has no -XX:MaxRAMPercentage: " + opts.literal());
            double pct = Double.parseDouble(m.group(1));
            assertTrue(pct >= 40 && pct <= 80, where + ": MaxRAMPercentage " + pct + " leaves too little heap or too "
                    + "little room for metaspace, threads and direct buffers");
            assertFalse(opts.literal().matches(".*-Xmx\\S+.*"), where + ": -Xmx ignores the container's limit");
        }
    }

    @Test
    void productionRunsMoreLargerSpreadPods() {
        Rendered prod = Rendered.of(Rendered.PRODUCTION);
        Rendered dev = Rendered.of(Rendered.DEVELOPMENT);
        assertTrue(prod.get("HorizontalPodAutoscaler", "api-router").path("spec").path("minReplicas").asInt() >= 3,
                "production runs at least 3 replicas");
        JsonNode anti = Rendered.podSpec(prod.gateway()).path("affinity").path("podAntiAffinity");
        assertFalse(anti.isMissingNode() || anti.isEmpty(), "production spreads pods with podAntiAffinity");
        JsonNode pr = Rendered.gatewayContainer(prod.gateway()).path("resources");
        JsonNode dr = Rendered.gatewayContainer(dev.gateway()).path("resources");
        assertTrue(Quantity.bytes(pr.path("limits").path("memory").asText())
                > Quantity.bytes(dr.path("limits").path("memory").asText()), "production pods get more memory");
        assertTrue(Quantity.millicores(pr.path("requests").path("cpu").asText())
                > Quantity.millicores(dr.path("requests").path("cpu").asText()), "production pods get more CPU");
    }

    /** Kubernetes quantities, as far as these manifests use them. */
    static final class Quantity {
        private static final Pattern Q = Pattern.compile("^(\\d+(?:\\.\\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$");

        static long bytes(String q) {
            Matcher m = Q.matcher(q);
            assertTrue(m.matches(), "quantity " + q);
            double v = Double.parseDouble(m.group(1));
            String unit = m.group(2) == null ? "" : m.group(2);
            double mult = switch (unit) {
                case "" -> 1;
                case "k" -> 1e3;
                case "M" -> 1e6;
                case "G" -> 1e9;
                case "T" -> 1e12;
                case "Ki" -> 1L << 10;
                case "Mi" -> 1L << 20;
                case "Gi" -> 1L << 30;
                case "Ti" -> 1L << 40;
                default -> fail("memory in " + unit);
            };
            return (long) (v * mult);
        }

        static long millicores(String q) {
            return q.endsWith("m") ? Long.parseLong(q.substring(0, q.length() - 1))
                    : (long) (Double.parseDouble(q) * 1000);
        }
    }
}
