package dev.apirouter.policy;

import java.io.IOException;
import java.util.HashSet;
import java.util.Iterator;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;

/** The policy file format: one YAML or JSON document with a {@code models} map and a {@code keys} map. */
public final class PolicyFile {
    private static final ObjectMapper YAML = new YAMLMapper();

    private PolicyFile() {
    }

    /** Parses the whole file; a syntax error or a wrong top-level shape rejects the file as a whole. */
    public static JsonNode parse(byte[] content) throws InvalidDocumentException {
        JsonNode root;
        try {
            root = YAML.readTree(content);
        } catch (IOException e) {
            throw new InvalidDocumentException("not YAML or JSON: " + firstLine(e.getMessage()));
        }
        if (root == null || root.isMissingNode() || root.isNull()) {
            throw new InvalidDocumentException("the file is empty");
        }
        if (!root.isObject()) {
            throw new InvalidDocumentException("the file must be a map with 'models' and 'keys'");
        }
        for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
            String field = it.next();
            if (!field.equals("models") && !field.equals("keys")) {
                throw new InvalidDocumentException("unknown top-level field '" + field + "' (allowed: keys, models)");
            }
        }
        for (String section : new String[] {"models", "keys"}) {
            JsonNode node = root.get(section);
            if (node != null && !node.isNull() && !node.isObject()) {
                throw new InvalidDocumentException("'" + section + "' must be a map");
            }
        }
        return root;
    }

    /** Applies every document of a parsed file over {@code builder}; documents absent from the file are removed. */
    public static PolicyView.Builder apply(JsonNode root, PolicyView.Builder builder) {
        Set<String> modelNames = new HashSet<>();
        Set<String> keyHashes = new HashSet<>();
        JsonNode models = root.path("models");
        JsonNode keys = root.path("keys");
        models.fieldNames().forEachRemaining(modelNames::add);
        keys.fieldNames().forEachRemaining(keyHashes::add);
        builder.retainOnly(modelNames, keyHashes);
        for (Iterator<Map.Entry<String, JsonNode>> it = models.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            builder.putModel(e.getKey(), e.getValue());
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = keys.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            builder.putKey(e.getKey(), e.getValue());
        }
        return builder;
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unreadable";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
