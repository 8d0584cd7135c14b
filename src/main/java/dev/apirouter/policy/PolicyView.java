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

    /**
     * The model a client names: by its own name, else by one of its aliases. Aliases are looked up by a scan of the
     * (few) models, only when no model has that name.
     */
    public Optional<ModelPolicy> model(String name) {
        ModelPolicy policy = models.get(name);
        if (policy != null || name == null) {
            return Optional.ofNullable(policy);
        }
        for (ModelPolicy m : models.values()) {
            if (m.aliases().contains(name)) {
                return Optional.of(m);
            }
        }
        return Optional.empty();
    }

    /**
     * Whether {@code key} may call {@code policy} by the name {@code calledAs} (its own name or one of its aliases):
     * when the key's list has {@code "*"}, the name used, or the model's own name. A key listing only an alias may
     * use the model by that alias, not by its own name or its other aliases.
     */
    public static boolean allows(KeyRecord key, String calledAs, ModelPolicy policy) {
        return key.allowsModel(calledAs) || key.allowsModel(policy.name());
    }

    public Optional<KeyRecord> key(String sha256Hex) {
        return Optional.ofNullable(keys.get(sha256Hex));
    }

    /** The names {@code key} may call models by (their own names and aliases, {@link #allows}), sorted. */
    public List<String> modelsVisibleTo(KeyRecord key) {
        List<String> names = new ArrayList<>();
        for (ModelPolicy m : models.values()) {
            if (allows(key, m.name(), m)) {
                names.add(m.name());
            }
            for (String alias : m.aliases()) {
                if (allows(key, alias, m)) {
                    names.add(alias);
                }
            }
        }
        names.sort(null);
        return names;
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
                checkNames(policy);
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

        /**
         * A model's name and aliases are one namespace: an alias may not be another model's name or alias, and a
         * model's name may not be another model's alias. On a clash the document applied now (the later one) is
         * rejected; the model already holding the name keeps it.
         */
        private void checkNames(ModelPolicy policy) throws InvalidDocumentException {
            for (ModelPolicy other : models.values()) {
                if (other.name().equals(policy.name())) {
                    continue; // its own previous version
                }
                if (other.aliases().contains(policy.name())) {
                    throw new InvalidDocumentException("the model name '" + policy.name() + "' is already an alias of"
                            + " the model '" + other.name() + "'");
                }
                for (int i = 0; i < policy.aliases().size(); i++) {
                    String alias = policy.aliases().get(i);
                    if (alias.equals(other.name())) {
                        throw new InvalidDocumentException("aliases[" + i + "] '" + alias + "' is the name of another"
                                + " model");
                    }
                    if (other.aliases().contains(alias)) {
                        throw new InvalidDocumentException("aliases[" + i + "] '" + alias + "' is already an alias of"
                                + " the model '" + other.name() + "'");
                    }
                }
            }
        }

        private void reject(String id, String reason) {
            rejected.put(id, reason);
            newRejections.add(id + ": " + reason);
        }
    }
}
