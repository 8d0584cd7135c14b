package dev.apirouter.policy;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Parses and validates the contract's documents (model policy, API key record) and writes them back. Both stores
 * use it, so a document means the same thing in etcd and in the policy file.
 */
public final class PolicyDocuments {
    public static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern MODEL_NAME = Pattern.compile("[\\x21-\\x7e]{1,256}");
    private static final Set<String> MODEL_FIELDS = Set.of("upstreamModel", "backends", "timeouts");
    private static final Set<String> BACKEND_FIELDS = Set.of("url", "weight", "auth");
    private static final Set<String> AUTH_FIELDS = Set.of("secretEnv", "secretFile");
    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final Set<String> TIMEOUT_FIELDS = Set.of("connectMs", "firstByteMs", "idleMs");
    private static final Set<String> KEY_FIELDS = Set.of("name", "models", "disabled", "expiresAt");

    private PolicyDocuments() {
    }

    public static JsonNode readJson(byte[] bytes) throws InvalidDocumentException {
        try {
            JsonNode node = JSON.readTree(bytes);
            if (node == null || node.isMissingNode()) {
                throw new InvalidDocumentException("empty document");
            }
            return node;
        } catch (JsonProcessingException e) {
            throw new InvalidDocumentException("not JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw new InvalidDocumentException("unreadable: " + e.getMessage());
        }
    }

    public static boolean isValidModelName(String name) {
        return name != null && MODEL_NAME.matcher(name).matches();
    }

    public static boolean isKeyHash(String hash) {
        return hash != null && SHA256_HEX.matcher(hash).matches();
    }

    public static ModelPolicy parseModel(String name, JsonNode doc) throws InvalidDocumentException {
        if (!isValidModelName(name)) {
            throw new InvalidDocumentException("model name must be 1-256 printable characters without spaces");
        }
        requireObject(doc, "model policy");
        checkFields(doc, MODEL_FIELDS, "model policy");
        Optional<String> upstream = optionalText(doc, "upstreamModel");
        JsonNode backendsNode = doc.get("backends");
        if (backendsNode == null || !backendsNode.isArray() || backendsNode.isEmpty()) {
            throw new InvalidDocumentException("'backends' must be a non-empty array");
        }
        List<Backend> backends = new ArrayList<>();
        for (JsonNode b : backendsNode) {
            backends.add(parseBackend(b, backends.size()));
        }
        if (backends.stream().allMatch(b -> b.weight() == 0)) {
            throw new InvalidDocumentException("at least one backend needs a weight above 0");
        }
        return new ModelPolicy(name, upstream, backends, parseTimeouts(doc.get("timeouts")));
    }

    private static Backend parseBackend(JsonNode b, int index) throws InvalidDocumentException {
        String where = "backends[" + index + "]";
        requireObject(b, where);
        checkFields(b, BACKEND_FIELDS, where);
        String url = optionalText(b, "url").orElseThrow(() -> new InvalidDocumentException(where + ".url is required"));
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new InvalidDocumentException(where + ".url is not a URL: " + e.getReason());
        }
        if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
            throw new InvalidDocumentException(where + ".url must be http(s)://host[:port]");
        }
        if (uri.getQuery() != null || uri.getFragment() != null || uri.getUserInfo() != null) {
            throw new InvalidDocumentException(where + ".url must not carry user info, a query or a fragment");
        }
        int weight = 1;
        JsonNode w = b.get("weight");
        if (w != null && !w.isNull()) {
            if (!w.canConvertToInt() || !w.isIntegralNumber() || w.intValue() < 0) {
                throw new InvalidDocumentException(where + ".weight must be a whole number >= 0");
            }
            weight = w.intValue();
        }
        String normalized = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        return new Backend(normalized, weight, parseAuth(b.get("auth"), where + ".auth"));
    }

    /**
     * {@code {"secretEnv": "NAME"}} or {@code {"secretFile": "/path"}}: only where the secret is, not the secret (read
     * by the stores, {@link BackendAuth}). A wrong value is never echoed: it may be a secret pasted in the wrong place.
     */
    private static Optional<BackendAuth> parseAuth(JsonNode a, String where) throws InvalidDocumentException {
        if (a == null || a.isNull()) {
            return Optional.empty();
        }
        requireObject(a, where);
        checkFields(a, AUTH_FIELDS, where);
        if (a.size() != 1) {
            throw new InvalidDocumentException(where + " needs exactly one of secretEnv (an environment variable's name)"
                    + " or secretFile (a file's absolute path)");
        }
        BackendAuth.Source source = a.has("secretEnv") ? BackendAuth.Source.ENV : BackendAuth.Source.FILE;
        JsonNode v = a.get(source.field());
        String field = where + "." + source.field();
        if (!v.isTextual() || v.asText().isEmpty()) {
            throw new InvalidDocumentException(field + " must be a non-empty string");
        }
        String name = v.asText();
        if (source == BackendAuth.Source.ENV && !ENV_NAME.matcher(name).matches()) {
            throw new InvalidDocumentException(field + " must be the name of an environment variable (letters, digits"
                    + " and _, not starting with a digit), not the secret itself");
        }
        if (source == BackendAuth.Source.FILE && (!name.startsWith("/") || name.chars().anyMatch(c -> c < 0x20))) {
            throw new InvalidDocumentException(field + " must be the absolute path of the file holding the secret,"
                    + " not the secret itself");
        }
        return Optional.of(new BackendAuth(source, name));
    }

    private static Timeouts parseTimeouts(JsonNode t) throws InvalidDocumentException {
        if (t == null || t.isNull()) {
            return Timeouts.DEFAULTS;
        }
        requireObject(t, "timeouts");
        checkFields(t, TIMEOUT_FIELDS, "timeouts");
        return new Timeouts(millis(t, "connectMs", Timeouts.DEFAULT_CONNECT),
                millis(t, "firstByteMs", Timeouts.DEFAULT_FIRST_BYTE), millis(t, "idleMs", Timeouts.DEFAULT_IDLE));
    }

    private static Duration millis(JsonNode t, String field, Duration fallback) throws InvalidDocumentException {
        JsonNode v = t.get(field);
        if (v == null || v.isNull()) {
            return fallback;
        }
        if (!v.isIntegralNumber() || v.longValue() <= 0) {
            throw new InvalidDocumentException("timeouts." + field + " must be a whole number of milliseconds > 0");
        }
        return Duration.ofMillis(v.longValue());
    }

    public static KeyRecord parseKey(String hash, JsonNode doc) throws InvalidDocumentException {
        if (!isKeyHash(hash)) {
            throw new InvalidDocumentException("a key record is stored under the lower-case SHA-256 hex of the key");
        }
        requireObject(doc, "key record");
        checkFields(doc, KEY_FIELDS, "key record");
        String name = optionalText(doc, "name").orElse("");
        JsonNode modelsNode = doc.get("models");
        if (modelsNode == null || !modelsNode.isArray()) {
            throw new InvalidDocumentException("'models' must be an array of model names (or [\"*\"])");
        }
        Set<String> models = new LinkedHashSet<>();
        for (JsonNode m : modelsNode) {
            if (!m.isTextual() || m.asText().isBlank()) {
                throw new InvalidDocumentException("'models' must hold non-empty strings");
            }
            models.add(m.asText());
        }
        boolean disabled = false;
        JsonNode d = doc.get("disabled");
        if (d != null && !d.isNull()) {
            if (!d.isBoolean()) {
                throw new InvalidDocumentException("'disabled' must be true or false");
            }
            disabled = d.booleanValue();
        }
        Optional<Instant> expiresAt;
        try {
            expiresAt = optionalText(doc, "expiresAt").map(Instant::parse);
        } catch (DateTimeParseException e) {
            throw new InvalidDocumentException("'expiresAt' must be an ISO-8601 instant such as 2027-01-01T00:00:00Z");
        }
        return new KeyRecord(name, models, disabled, expiresAt);
    }

    public static ObjectNode write(ModelPolicy policy) {
        ObjectNode doc = JSON.createObjectNode();
        policy.upstreamModel().ifPresent(u -> doc.put("upstreamModel", u));
        ArrayNode backends = doc.putArray("backends");
        for (Backend b : policy.backends()) {
            ObjectNode backend = backends.addObject().put("url", b.url()).put("weight", b.weight());
            b.auth().ifPresent(a -> backend.putObject("auth").put(a.source().field(), a.name()));
        }
        doc.putObject("timeouts")
                .put("connectMs", policy.timeouts().connect().toMillis())
                .put("firstByteMs", policy.timeouts().firstByte().toMillis())
                .put("idleMs", policy.timeouts().idle().toMillis());
        return doc;
    }

    public static ObjectNode write(KeyRecord key) {
        ObjectNode doc = JSON.createObjectNode();
        doc.put("name", key.name());
        ArrayNode models = doc.putArray("models");
        key.models().forEach(models::add);
        doc.put("disabled", key.disabled());
        key.expiresAt().ifPresent(at -> doc.put("expiresAt", at.toString()));
        return doc;
    }

    /** The policy-file form ({@code models} and {@code keys} maps) of a whole view. */
    public static ObjectNode write(PolicyView view) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode models = root.putObject("models");
        view.models().values().stream().sorted(java.util.Comparator.comparing(ModelPolicy::name))
                .forEach(m -> models.set(m.name(), write(m)));
        ObjectNode keys = root.putObject("keys");
        view.keys().entrySet().stream().sorted(Map.Entry.comparingByKey())
                .forEach(e -> keys.set(e.getKey(), write(e.getValue())));
        return root;
    }

    private static void requireObject(JsonNode node, String what) throws InvalidDocumentException {
        if (node == null || !node.isObject()) {
            throw new InvalidDocumentException(what + " must be a JSON object");
        }
    }

    private static void checkFields(JsonNode node, Set<String> allowed, String what) throws InvalidDocumentException {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String field = it.next();
            if (!allowed.contains(field)) {
                throw new InvalidDocumentException(what + " has an unknown field '" + field + "' (allowed: "
                        + String.join(", ", allowed.stream().sorted().toList()) + ")");
            }
        }
    }

    private static Optional<String> optionalText(JsonNode node, String field) throws InvalidDocumentException {
        JsonNode v = node.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isTextual() || v.asText().isBlank()) {
            throw new InvalidDocumentException("'" + field + "' must be a non-empty string");
        }
        return Optional.of(v.asText());
    }
}
