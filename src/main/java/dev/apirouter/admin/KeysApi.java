package dev.apirouter.admin;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.UnaryOperator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.auth.ApiKeys;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.etcd.EtcdKeyValues.Change;
import dev.apirouter.metrics.KeyUsage;
import dev.apirouter.policy.InvalidDocumentException;
import dev.apirouter.policy.KeyRecord;
import dev.apirouter.policy.PolicyDocuments;

/**
 * The key calls of the admin API. Keys are addressed by name (all records of that name, or the one whose hash starts
 * with a given prefix); a key is shown once, when made, and only its SHA-256 is stored. Every change is one
 * transaction comparing the records it read, retried on a conflict.
 */
final class KeysApi {
    static final String FOLDER = "keys/";
    static final long MAX_GRACE_SECONDS = Duration.ofDays(30).toSeconds();
    static final int ATTEMPTS = 5;
    private static final Set<String> PATCH_FIELDS = new TreeSet<>(List.of("models", "limits", "expiresAt", "disabled"));
    private static final Duration USAGE_WINDOW = Duration.ofHours(24);

    private final AdminStore store;
    private final KeyUsage usage;
    private final Clock clock;

    KeysApi(AdminStore store, KeyUsage usage, Clock clock) {
        this.store = store;
        this.usage = usage;
        this.clock = clock;
    }

    /** Which records a call is about: a name, and optionally a prefix of the hash. */
    record Target(String name, Optional<String> hashPrefix) {
        Target {
            if (hashPrefix.isPresent() && !hashPrefix.get().matches("[0-9a-f]{6,64}")) {
                throw invalid("'hash' takes at least 6 lower-case hex digits of the key's SHA-256 (see the list)");
            }
        }

        boolean matches(AdminStore.Doc doc) {
            return doc.json() != null && name.equals(doc.json().path("name").asText(null))
                    && hashPrefix.map(p -> hash(doc).startsWith(p)).orElse(true);
        }

        String describe() {
            return "'" + name + "'" + hashPrefix.map(p -> " with hash " + p + "…").orElse("");
        }
    }

    ObjectNode list() {
        return listOf(store.list(FOLDER), 0);
    }

    ObjectNode get(Target target) {
        return listOf(named(target), 0);
    }

    Outcome create(JsonNode body) {
        ObjectNode doc = AdminJson.object(body, "key record");
        String name = name(doc.get("name"));
        if (!doc.has("disabled")) {
            doc.put("disabled", false);
        }
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            String key = ApiKeys.generate();
            String hash = ApiKeys.sha256Hex(key);
            validate(hash, doc);
            long revision = store.commit(List.of(Change.put(FOLDER + hash, bytes(doc), 0)));
            if (revision != 0) { // else: a record of that hash exists (astronomically unlikely): a new key
                ObjectNode answer = AdminJson.JSON.createObjectNode().put("key", key);
                answer.setAll(view(new AdminStore.Doc(FOLDER + hash, doc, revision)));
                return new Outcome(201, answer, revision, "key.create", name, 1);
            }
        }
        throw new GatewayException(ErrorCode.CONFLICT, "Could not store a new key; try again.");
    }

    Outcome update(Target target, JsonNode body) {
        ObjectNode fields = AdminJson.object(body, "update");
        if (fields.has("name")) {
            throw invalid("A key's name cannot be changed: create a key with the new name, then revoke this one.");
        }
        AdminJson.onlyFields(fields, PATCH_FIELDS, "update");
        if (fields.isEmpty()) {
            throw invalid("The update changes nothing: give at least one of " + String.join(", ", PATCH_FIELDS) + ".");
        }
        for (String required : List.of("models", "disabled")) {
            if (fields.has(required) && fields.get(required).isNull()) {
                throw invalid("'" + required + "' cannot be removed, only changed.");
            }
        }
        return change(target, "key.update", doc -> {
            fields.fields().forEachRemaining(f -> {
                if (f.getValue().isNull()) {
                    doc.remove(f.getKey());
                } else {
                    doc.set(f.getKey(), f.getValue());
                }
            });
            return doc;
        });
    }

    Outcome setDisabled(Target target, boolean disabled) {
        return change(target, disabled ? "key.disable" : "key.enable", doc -> doc.put("disabled", disabled));
    }

    Outcome revoke(Target target) {
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            List<AdminStore.Doc> docs = named(target);
            long revision = store.commit(docs.stream().map(d -> Change.delete(d.key(), d.revision())).toList());
            if (revision != 0) {
                ObjectNode answer = AdminJson.JSON.createObjectNode().put("deleted", docs.size())
                        .put("revision", revision);
                return new Outcome(200, answer, revision, "key.revoke", target.name(), docs.size());
            }
        }
        throw conflict(target);
    }

    /**
     * A new key with the name, models, limits and (future) expiry of the newest enabled record of the target, and
     * every enabled record of the target expiring at the end of the grace period: one transaction.
     */
    Outcome rotate(Target target, JsonNode body) {
        ObjectNode request = AdminJson.object(body, "rotation");
        AdminJson.onlyFields(request, Set.of("gracePeriodSeconds"), "rotation");
        JsonNode grace = request.get("gracePeriodSeconds");
        if (grace == null || !grace.canConvertToLong() || !grace.isIntegralNumber() || grace.asLong() < 0
                || grace.asLong() > MAX_GRACE_SECONDS) {
            throw invalid("'gracePeriodSeconds' must be a whole number of seconds from 0 to " + MAX_GRACE_SECONDS
                    + " (30 days): how long the old key keeps working.");
        }
        Instant now = clock.instant();
        Instant oldEnds = now.plusSeconds(grace.asLong());
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            List<AdminStore.Doc> enabled = named(target).stream().filter(this::enabledAndValid).toList();
            AdminStore.Doc newest = enabled.stream().max(Comparator.comparingLong(AdminStore.Doc::revision))
                    .orElseThrow(() -> invalid("No enabled key " + target.describe() + " to rotate."));
            ObjectNode fresh = ((ObjectNode) newest.json()).deepCopy();
            fresh.put("disabled", false);
            if (expiry(fresh).map(at -> !at.isAfter(now)).orElse(false)) {
                fresh.remove("expiresAt");
            }
            List<Change> changes = new ArrayList<>();
            List<AdminStore.Doc> previous = new ArrayList<>();
            for (AdminStore.Doc old : enabled) {
                ObjectNode ending = ((ObjectNode) old.json()).deepCopy();
                Instant ends = expiry(ending).filter(at -> at.isBefore(oldEnds)).orElse(oldEnds);
                ending.put("expiresAt", ends.toString());
                changes.add(Change.put(old.key(), bytes(ending), old.revision()));
                previous.add(new AdminStore.Doc(old.key(), ending, 0));
            }
            String key = ApiKeys.generate();
            String hash = ApiKeys.sha256Hex(key);
            validate(hash, fresh);
            changes.add(Change.put(FOLDER + hash, bytes(fresh), 0));
            long revision = store.commit(changes);
            if (revision != 0) {
                ObjectNode answer = AdminJson.JSON.createObjectNode().put("key", key);
                answer.setAll(view(new AdminStore.Doc(FOLDER + hash, fresh, revision)));
                ArrayNode before = answer.putArray("previous");
                previous.forEach(d -> before.add(view(new AdminStore.Doc(d.key(), d.json(), revision))));
                return new Outcome(201, answer, revision, "key.rotate", target.name(), changes.size());
            }
        }
        throw conflict(target);
    }

    /** Applies {@code edit} to a copy of every record of the target, validates each, and writes them at once. */
    private Outcome change(Target target, String action, UnaryOperator<ObjectNode> edit) {
        for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            List<AdminStore.Doc> docs = named(target);
            List<Change> changes = new ArrayList<>();
            List<AdminStore.Doc> changed = new ArrayList<>();
            for (AdminStore.Doc doc : docs) {
                ObjectNode updated = edit.apply(((ObjectNode) doc.json()).deepCopy());
                validate(hash(doc), updated);
                changes.add(Change.put(doc.key(), bytes(updated), doc.revision()));
                changed.add(new AdminStore.Doc(doc.key(), updated, 0));
            }
            long revision = store.commit(changes);
            if (revision != 0) {
                List<AdminStore.Doc> written = changed.stream()
                        .map(d -> new AdminStore.Doc(d.key(), d.json(), revision)).toList();
                return new Outcome(200, listOf(written, revision), revision, action, target.name(), docs.size());
            }
        }
        throw conflict(target);
    }

    private List<AdminStore.Doc> named(Target target) {
        List<AdminStore.Doc> docs = store.list(FOLDER).stream().filter(target::matches)
                .filter(d -> d.json().isObject()).toList();
        if (docs.isEmpty()) {
            throw new GatewayException(ErrorCode.KEY_NOT_FOUND, "No key named " + target.describe() + ".");
        }
        return docs;
    }

    private boolean enabledAndValid(AdminStore.Doc doc) {
        try {
            KeyRecord key = PolicyDocuments.parseKey(hash(doc), doc.json());
            return !key.disabled();
        } catch (InvalidDocumentException e) {
            return false;
        }
    }

    private ObjectNode listOf(List<AdminStore.Doc> docs, long revision) {
        ObjectNode list = AdminJson.JSON.createObjectNode().put("object", "list");
        ArrayNode data = list.putArray("data");
        docs.forEach(d -> data.add(view(d)));
        if (revision != 0) {
            list.put("revision", revision);
        }
        return list;
    }

    /** A record as the API shows it: name, hash, the stored fields, revision, usage; never key material. */
    ObjectNode view(AdminStore.Doc doc) {
        ObjectNode view = AdminJson.JSON.createObjectNode();
        JsonNode json = doc.json();
        String name = json != null && json.path("name").isTextual() ? json.get("name").asText() : null;
        view.put("name", name);
        view.put("hash", hash(doc));
        if (json != null && json.isObject()) {
            for (Iterator<String> it = json.fieldNames(); it.hasNext(); ) {
                String field = it.next();
                if (!field.equals("name")) {
                    view.set(field, json.get(field));
                }
            }
        }
        view.put("revision", doc.revision());
        if (json == null) {
            view.put("invalid", "the stored record is not JSON");
        } else {
            try {
                PolicyDocuments.parseKey(hash(doc), json);
            } catch (InvalidDocumentException e) {
                view.put("invalid", e.getMessage());
            }
        }
        if (name != null) {
            view.set("usage", usage.ofName(name, USAGE_WINDOW));
        }
        return view;
    }

    private static String name(JsonNode name) {
        if (name == null || !name.isTextual() || name.asText().isBlank()) {
            throw invalid("'name' is required: who the key is for (a string).");
        }
        String n = name.asText();
        if (!PolicyDocuments.isValidModelName(n) || n.indexOf('/') >= 0) {
            throw invalid("'name' must be 1-256 printable characters without spaces or '/' (it is part of URLs).");
        }
        return n;
    }

    private static Optional<Instant> expiry(ObjectNode doc) {
        try {
            return doc.path("expiresAt").isTextual() ? Optional.of(Instant.parse(doc.get("expiresAt").asText()))
                    : Optional.empty();
        } catch (java.time.format.DateTimeParseException e) {
            return Optional.empty();
        }
    }

    private static void validate(String hash, JsonNode doc) {
        try {
            PolicyDocuments.parseKey(hash, doc);
        } catch (InvalidDocumentException e) {
            throw invalid("Invalid key record: " + e.getMessage());
        }
    }

    private static String hash(AdminStore.Doc doc) {
        return doc.key().substring(FOLDER.length());
    }

    private static byte[] bytes(JsonNode doc) {
        return doc.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static GatewayException conflict(Target target) {
        return new GatewayException(ErrorCode.CONFLICT, "The keys named " + target.describe() + " kept changing while"
                + " this call ran (" + ATTEMPTS + " attempts); read them again and retry.");
    }

    static GatewayException invalid(String message) {
        return new GatewayException(ErrorCode.INVALID_REQUEST, message);
    }
}
