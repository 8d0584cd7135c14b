package dev.apirouter.policy;

import java.util.Map;
import java.util.regex.Pattern;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Parses and validates the contract's documents (model policy, API key record) and writes them back. Both stores
 * use it, so a document means the same thing in etcd and in the policy file. Each document is bound to its record
 * ({@link ModelDocument}, {@link KeyDocument}) by {@link DocumentBinding}: a new optional field of the contract is a
 * component of that record and its check in the record's conversion.
 */
public final class PolicyDocuments {
    public static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern MODEL_NAME = Pattern.compile("[\\x21-\\x7e]{1,256}");

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

    /** Binds and validates a model policy document; {@code name} is its model name (the etcd key's last part). */
    public static ModelPolicy parseModel(String name, JsonNode doc) throws InvalidDocumentException {
        if (!isValidModelName(name)) {
            throw new InvalidDocumentException("model name must be 1-256 printable characters without spaces");
        }
        return DocumentBinding.bind(doc, ModelDocument.class, ModelDocument.LABEL).toPolicy(name);
    }

    /** Binds and validates a key record stored under {@code hash}. */
    public static KeyRecord parseKey(String hash, JsonNode doc) throws InvalidDocumentException {
        if (!isKeyHash(hash)) {
            throw new InvalidDocumentException("a key record is stored under the lower-case SHA-256 hex of the key");
        }
        return DocumentBinding.bind(doc, KeyDocument.class, KeyDocument.LABEL).toRecord();
    }

    public static ObjectNode write(ModelPolicy policy) {
        return JSON.valueToTree(ModelDocument.of(policy));
    }

    public static ObjectNode write(KeyRecord key) {
        return JSON.valueToTree(KeyDocument.of(key));
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
}
