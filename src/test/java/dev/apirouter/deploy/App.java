package dev.apirouter.deploy;

import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import dev.apirouter.config.Setting;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/** What the app reads and serves, as the deployment checks compare it with the manifests. */
final class App {

    /** The contract's status endpoints (CONTRACT.md, "Status endpoints"). */
    static final String HEALTHZ = "/v1/status/healthz";
    static final String READYZ = "/v1/status/readyz";
    static final String METRICS = "/metrics";

    /** The container's ports: the public API and health; metrics, full readiness and the admin endpoints. */
    static final String HTTP_PORT_NAME = "http";
    static final String MANAGEMENT_PORT_NAME = "management";

    /**
     * Environment variables that the manifests may set although the app does not read them: standard variables read
     * by the JVM itself. JAVA_TOOL_OPTIONS carries -XX:MaxRAMPercentage (the heap sized from the container limit).
     * Anything else must be a {@link Setting}.
     */
    static final Set<String> JVM_STANDARD_VARIABLES = Set.of("JAVA_TOOL_OPTIONS");

    /** The start-up that was measured (HTTP server listening 1-3 s after the JVM starts, on 2 cores). */
    static final int MEASURED_STARTUP_SECONDS = 3;

    private static Properties defaults;

    private App() {
    }

    /** Every env var the app reads: {@code Setting.values()}. */
    static Set<String> settingVariables() {
        return Arrays.stream(Setting.values()).map(Setting::envVar).collect(Collectors.toCollection(TreeSet::new));
    }

    static synchronized Properties defaults() {
        if (defaults == null) {
            Properties p = new Properties();
            try (InputStream in = App.class.getResourceAsStream("/application.properties")) {
                if (in == null) {
                    fail("application.properties is not on the test classpath");
                }
                p.load(in);
            } catch (IOException e) {
                fail("cannot read application.properties: " + e);
            }
            defaults = p;
        }
        return defaults;
    }

    /** The value the app uses: the env var when set and non-empty (the contract: empty = unset), else the default. */
    static Optional<String> effective(Map<String, EnvValue> env, Setting setting) {
        EnvValue v = env.get(setting.envVar());
        if (v != null && v.literal() != null && !v.literal().isEmpty()) {
            return Optional.of(v.literal());
        }
        if (v != null && v.literal() == null) {
            return Optional.of(v.describe());
        }
        String d = defaults().getProperty(setting.propertyKey());
        return d == null || d.isBlank() ? Optional.empty() : Optional.of(d.trim());
    }

    /**
     * A stand-in for a value only the cluster resolves (a Secret, a field ref), in the form the app checks at start-up,
     * so that {@code Settings.from} judges the rest of the environment.
     */
    static String placeholder(String envVar) {
        return Setting.REDIS_URL.envVar().equals(envVar) ? "rediss://:placeholder@redis.invalid:6380/0" : "x";
    }

    /** An env var of a container: a literal value, or a reference resolved only in the cluster. */
    record EnvValue(String literal, String source) {
        String describe() {
            return literal != null ? literal : "<" + source + ">";
        }
    }

    /**
     * The environment a container gets: envFrom (ConfigMaps and Secrets of the render, with prefixes), then env
     * (which wins). A ConfigMap referenced by envFrom must be in the render, or its variables could not be checked.
     */
    static Map<String, EnvValue> environment(Rendered r, JsonNode container) {
        Map<String, EnvValue> env = new LinkedHashMap<>();
        for (JsonNode from : container.path("envFrom")) {
            String prefix = from.path("prefix").asText("");
            if (from.has("configMapRef")) {
                String name = from.path("configMapRef").path("name").asText();
                JsonNode cm = r.find("ConfigMap", name).orElseGet(() -> fail(r.dir + ": container "
                        + container.path("name").asText() + " takes env from ConfigMap " + name
                        + ", which the render does not contain"));
                cm.path("data").fields().forEachRemaining(e ->
                        env.put(prefix + e.getKey(), new EnvValue(e.getValue().asText(), null)));
            } else if (from.has("secretRef")) {
                String name = from.path("secretRef").path("name").asText();
                JsonNode secret = r.find("Secret", name).orElseGet(() -> fail(r.dir + ": container "
                        + container.path("name").asText() + " takes env from Secret " + name
                        + ", which the render does not contain (use env[].valueFrom.secretKeyRef for single keys)"));
                for (String field : new String[] {"data", "stringData"}) {
                    secret.path(field).fieldNames().forEachRemaining(k ->
                            env.put(prefix + k, new EnvValue(null, "secret " + name)));
                }
            }
        }
        for (JsonNode e : container.path("env")) {
            String name = e.path("name").asText();
            if (e.has("valueFrom")) {
                env.put(name, new EnvValue(null, e.path("valueFrom").fieldNames().next()));
            } else {
                env.put(name, new EnvValue(e.path("value").asText(""), null));
            }
        }
        return env;
    }
}
