package dev.apirouter.e2e;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * An OpenAPI document held against the server it describes: every answer a test gets is matched to its operation
 * (method and path template), its status must be one the document lists, and a 2xx JSON answer must have the
 * properties the response's schema requires (through {@code $ref} and {@code allOf}). At the end, every operation
 * must have been called.
 */
final class OpenApiContract {
    private final JsonNode doc;
    private final Map<String, Set<Integer>> seen = new TreeMap<>();

    OpenApiContract(Path file) throws IOException {
        this.doc = new ObjectMapper(new YAMLFactory()).readTree(file.toFile());
    }

    /** Checks one answer; returns its operation ({@code "GET /v1/admin/keys/{name}"}). */
    synchronized String check(String method, String path, int status, String body) throws IOException {
        String template = template(method.toLowerCase(), path);
        assertNotNull(template, method + " " + path + " is not in the OpenAPI document");
        String operation = method.toUpperCase() + " " + template;
        JsonNode response = resolve(doc.path("paths").path(template).path(method.toLowerCase()).path("responses")
                .path(Integer.toString(status)));
        assertTrue(!response.isMissingNode(), operation + " answered " + status + ", which the document does not list: "
                + body);
        seen.computeIfAbsent(operation, o -> new TreeSet<>()).add(status);
        JsonNode schema = response.path("content").path("application/json").path("schema");
        if (!schema.isMissingNode() && body != null && !body.isEmpty()) {
            JsonNode json = new ObjectMapper().readTree(body);
            for (String property : required(schema)) {
                assertTrue(json.has(property), operation + " " + status + " lacks '" + property + "': " + body);
            }
        }
        return operation;
    }

    /** Every operation of the document was called at least once. */
    synchronized void assertAllCalled() {
        List<String> missing = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> paths = doc.path("paths").fields(); paths.hasNext(); ) {
            Map.Entry<String, JsonNode> p = paths.next();
            for (String method : List.of("get", "post", "put", "patch", "delete")) {
                String operation = method.toUpperCase() + " " + p.getKey();
                if (p.getValue().has(method) && !seen.containsKey(operation)) {
                    missing.add(operation);
                }
            }
        }
        assertEquals(List.of(), missing, "operations never called; called: " + seen);
    }

    private String template(String method, String path) {
        String best = null;
        for (Iterator<String> it = doc.path("paths").fieldNames(); it.hasNext(); ) {
            String template = it.next();
            if (!doc.path("paths").path(template).has(method)) {
                continue;
            }
            String regex = Pattern.quote(template).replace("{model}", "\\E.+\\Q").replaceAll("\\{[a-z]+}", "\\\\E[^/]+\\\\Q");
            if (path.matches(regex) && (best == null || template.length() > best.length())) {
                best = template;
            }
        }
        return best;
    }

    private JsonNode resolve(JsonNode node) {
        while (node.has("$ref")) {
            JsonNode target = doc;
            for (String part : node.get("$ref").asText().substring(2).split("/")) {
                target = target.path(part);
            }
            node = target;
        }
        return node;
    }

    private Set<String> required(JsonNode schema) {
        JsonNode s = resolve(schema);
        Set<String> required = new LinkedHashSet<>();
        s.path("required").forEach(r -> required.add(r.asText()));
        s.path("allOf").forEach(part -> required.addAll(required(part)));
        return required;
    }
}
