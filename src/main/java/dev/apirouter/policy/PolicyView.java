package dev.apirouter.policy;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * An immutable snapshot of every model policy and key record in force. Requests read it from memory only; stores
 * replace it as a whole.
 *
 * @param keys     key records by SHA-256 hex of the key
 * @param rejected documents that failed validation, by document id ({@code models/<name>}, {@code keys/<hash
 *                 prefix>}); their previous version, if any, stays in force
 * @param revision the store's revision of this view (etcd revision, or a counter of file loads)
 */
public record PolicyView(Map<String, ModelPolicy> models, Map<String, KeyRecord> keys, Map<String, String> rejected,
                         PolicySource source, long revision, Instant updatedAt) {

    public PolicyView {
        models = Map.copyOf(models);
        keys = Map.copyOf(keys);
        rejected = Map.copyOf(rejected);
    }

    public Optional<ModelPolicy> model(String name) {
        return Optional.ofNullable(models.get(name));
    }

    public Optional<KeyRecord> key(String sha256Hex) {
        return Optional.ofNullable(keys.get(sha256Hex));
    }

    /** The names of the models {@code key} may use, sorted. */
    public List<String> modelsVisibleTo(KeyRecord key) {
        return models.keySet().stream().filter(key::allowsModel).sorted().toList();
    }

    public static PolicyView empty(PolicySource source) {
        return new PolicyView(Map.of(), Map.of(), Map.of(), source, 0, Instant.EPOCH);
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Document id of a model policy, as used in {@link #rejected()} and in logs. */
    public static String modelDocument(String name) {
        return "models/" + name;
    }

    /** Document id of a key record: only a prefix of the hash, so that logs and status never carry it whole. */
    public static String keyDocument(String hash) {
        return "keys/" + (hash.length() > 8 ? hash.substring(0, 8) + "…" : hash);
    }

    /**
     * Applies document changes over a previous view. A document that fails validation is rejected alone: the
     * previous version of that document stays in force and the rejection is recorded. A model policy whose backend
     * secret cannot be read (see {@link BackendAuth}) fails validation.
     */
    public static final class Builder {
        private final Map<String, ModelPolicy> models;
        private final Map<String, KeyRecord> keys;
        private final Map<String, String> rejected;
        private final List<String> newRejections = new ArrayList<>();
        private boolean readSecrets = true;

        private Builder(PolicyView base) {
            this.models = new HashMap<>(base.models);
            this.keys = new HashMap<>(base.keys);
            this.rejected = new LinkedHashMap<>(base.rejected);
        }

        /**
         * Checks documents without reading backend secrets: for the operator's CLI, which runs away from the
         * gateway's environment and secret files. Such a view is never served.
         */
        public Builder withoutSecrets() {
            readSecrets = false;
            return this;
        }

        public Builder putModel(String name, JsonNode doc) {
            String id = modelDocument(name);
            try {
                ModelPolicy policy = PolicyDocuments.parseModel(name, doc);
                if (readSecrets) {
                    BackendAuth.readAll(policy, System::getenv);
                }
                models.put(name, policy);
                rejected.remove(id);
            } catch (InvalidDocumentException e) {
                reject(id, e.getMessage());
            }
            return this;
        }

        public Builder putModel(String name, byte[] json) {
            try {
                return putModel(name, PolicyDocuments.readJson(json));
            } catch (InvalidDocumentException e) {
                reject(modelDocument(name), e.getMessage());
                return this;
            }
        }

        public Builder removeModel(String name) {
            models.remove(name);
            rejected.remove(modelDocument(name));
            return this;
        }

        public Builder putKey(String hash, JsonNode doc) {
            String id = keyDocument(hash);
            try {
                keys.put(hash, PolicyDocuments.parseKey(hash, doc));
                rejected.remove(id);
            } catch (InvalidDocumentException e) {
                reject(id, e.getMessage());
            }
            return this;
        }

        public Builder putKey(String hash, byte[] json) {
            try {
                return putKey(hash, PolicyDocuments.readJson(json));
            } catch (InvalidDocumentException e) {
                reject(keyDocument(hash), e.getMessage());
                return this;
            }
        }

        public Builder removeKey(String hash) {
            keys.remove(hash);
            rejected.remove(keyDocument(hash));
            return this;
        }

        /** Drops every document not named here: a full reload where absence means deletion. */
        public Builder retainOnly(java.util.Set<String> modelNames, java.util.Set<String> keyHashes) {
            models.keySet().retainAll(modelNames);
            keys.keySet().retainAll(keyHashes);
            rejected.keySet().removeIf(id -> id.startsWith("models/") && !modelNames.contains(id.substring(7)));
            java.util.Set<String> keyIds = new java.util.HashSet<>();
            keyHashes.forEach(h -> keyIds.add(keyDocument(h)));
            rejected.keySet().removeIf(id -> id.startsWith("keys/") && !keyIds.contains(id));
            return this;
        }

        /** Rejections made by this builder, as {@code "<document>: <reason>"}, for the store to log. */
        public List<String> newRejections() {
            return List.copyOf(newRejections);
        }

        public PolicyView build(PolicySource source, long revision, Instant updatedAt) {
            return new PolicyView(models, keys, rejected, source, revision, updatedAt);
        }

        private void reject(String id, String reason) {
            rejected.put(id, reason);
            newRejections.add(id + ": " + reason);
        }
    }
}
