package dev.apirouter.registry;

import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * One replica's registry value, {@code <prefix>replicas/<id>}: exactly
 * {@code {"id","version","startedAt","managementAddress","appliedRevision","routesGeneration","state"}}.
 *
 * @param startedAt         ISO-8601 instant (UTC)
 * @param managementAddress {@code host:port} of the management server as other hosts reach it
 * @param appliedRevision   the etcd revision of the policy in force; 0 before any
 * @param routesGeneration  how many times the routes were (re)loaded
 * @param state             {@value #SERVING} or {@value #DRAINING}
 */
public record ReplicaRecord(String id, String version, String startedAt, String managementAddress,
                            long appliedRevision, long routesGeneration, String state) {
    public static final String SERVING = "serving";
    public static final String DRAINING = "draining";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** The value written to etcd, fields in the contract's order. */
    public String json() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("version", version);
        m.put("startedAt", startedAt);
        m.put("managementAddress", managementAddress);
        m.put("appliedRevision", appliedRevision);
        m.put("routesGeneration", routesGeneration);
        m.put("state", state);
        try {
            return JSON.writeValueAsString(m);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A value read from etcd; missing fields are empty or 0. Throws {@link IOException} when it is not JSON. */
    public static ReplicaRecord parse(String json) throws IOException {
        JsonNode n = JSON.readTree(json);
        if (n == null || !n.isObject()) {
            throw new IOException("not a JSON object");
        }
        return new ReplicaRecord(n.path("id").asText(""), n.path("version").asText(""), n.path("startedAt").asText(""),
                n.path("managementAddress").asText(""), n.path("appliedRevision").asLong(0),
                n.path("routesGeneration").asLong(0), n.path("state").asText(""));
    }
}
