package dev.apirouter.cli;

import java.io.PrintStream;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.etcd.EtcdKeyValues;
import dev.apirouter.auth.ApiKeys;
import dev.apirouter.config.Config;
import dev.apirouter.config.Settings;
import dev.apirouter.policy.InvalidDocumentException;
import dev.apirouter.policy.KeyRecord;
import dev.apirouter.policy.PolicyDocuments;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code keys create | list | revoke}. */
@Command(name = "keys", subcommands = HelpCommand.class,
        description = "API keys (only the SHA-256 of a key is ever stored): create, list, revoke.")
final class KeyCommands implements Callable<Integer> {
    static final int HASH_SHOWN = 12;

    private final Config config;
    private final PrintStream out;
    private final PrintStream err;
    @Spec
    CommandSpec spec;

    KeyCommands(Config config, PrintStream out, PrintStream err) {
        this.config = config;
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() {
        throw Cli.commandNeeded(spec);
    }

    // ------------------------------------------------------------------ create

    @Command(name = "create", description = {
            "Generates a key and prints it once, alone on standard output. Stores its record",
            "(etcd) or prints the record to paste under 'keys:' in the policy file.",
            "--models '*' allows every model."})
    void create(@Option(names = "--name", required = true, paramLabel = "NAME",
                        description = "Who the key is for (shown by 'keys list', used by 'keys revoke --name').")
                String rawName,
                @Option(names = "--models", required = true, paramLabel = "M1,M2",
                        description = "Comma-separated models the key may use; '*' for every model.")
                String rawModels,
                @Option(names = "--expires-at", paramLabel = "INSTANT",
                        description = "ISO-8601 instant (2027-01-01T00:00:00Z) or date (midnight UTC).")
                String rawExpiresAt,
                @Mixin WaitOptions wait) throws CliException {
        String name = required("name", rawName);
        List<String> models = models(required("models", rawModels));
        Optional<Instant> expiresAt = Optional.empty();
        if (rawExpiresAt != null) {
            expiresAt = Optional.of(instant(rawExpiresAt.trim()));
            if (!expiresAt.get().isAfter(Instant.now())) {
                throw CliException.invalid("--expires-at " + expiresAt.get() + " is in the past");
            }
        }
        // written by hand so that the models keep the operator's order
        ObjectNode doc = PolicyDocuments.JSON.createObjectNode();
        doc.put("name", name);
        models.forEach(doc.putArray("models")::add);
        doc.put("disabled", false);
        expiresAt.ifPresent(at -> doc.put("expiresAt", at.toString()));
        Optional<AdminRemote> remote = AdminRemote.of(config);
        if (remote.isPresent()) {
            Optional<java.time.Duration> waitFor = WaitOptions.requested(wait);
            AdminRemote.Change created = remote.get().change("POST", "/v1/admin/keys", doc, waitFor);
            out.println(created.body().path("key").asText());
            out.flush();
            err.println("Created API key '" + name + "' (record keys/" + shortHash(created.body().path("hash").asText())
                    + ") for " + String.join(", ", models) + expiresAt.map(at -> ", expires " + at).orElse("")
                    + " through the " + remote.get().where() + ".");
            err.println("Store the key now: it is shown only once and cannot be recovered.");
            if (waitFor.isPresent()) {
                created.reportWait(err);
            }
            return;
        }
        Settings.Store store = Cli.store(config);
        Optional<java.time.Duration> waitFor = waitTimeout(wait, store);

        String key;
        String hash;
        if (store.usesEtcd()) {
            try (EtcdAdmin etcd = new EtcdAdmin(store)) {
                List<String> sameName = namedKeys(etcd.list("keys/"), name);
                long revision;
                do {
                    key = ApiKeys.generate();
                    hash = ApiKeys.sha256Hex(key);
                    validate(hash, doc);
                    // create only: never overwrite a record (a collision is astronomically unlikely)
                } while ((revision = etcd.putIfUnchanged("keys/" + hash, bytes(doc), 0)) == 0);
                long writtenAt = System.nanoTime();
                out.println(key);
                out.flush();
                err.println("Created API key '" + name + "' (record keys/" + shortHash(hash) + ") for "
                        + String.join(", ", models) + expiresAt.map(at -> ", expires " + at).orElse("")
                        + " in " + etcd.where() + ".");
                if (!sameName.isEmpty()) {
                    err.println("Note: " + sameName.size() + " other key(s) already named '" + name + "' ("
                            + String.join(", ", sameName) + "); 'keys revoke --name " + name + "' acts on all.");
                }
                if (waitFor.isPresent()) {
                    err.println("Store the key now: it is shown only once and cannot be recovered.");
                    new ReplicaWait(etcd, err).await(revision, writtenAt, waitFor.get());
                    return;
                }
            }
        } else {
            key = ApiKeys.generate();
            hash = ApiKeys.sha256Hex(key);
            validate(hash, doc);
            out.println(key);
            out.flush();
            err.println("# ETCD_ENDPOINTS is not set: add this record under 'keys:' in the policy file"
                    + store.policyFile().map(p -> " (" + p + ")").orElse(" (ROUTER_POLICY_FILE)") + ".");
            err.println("# The key itself is printed once, above; only its SHA-256 goes into the file.");
            err.println("  " + quoted(hash) + ": " + compact(doc));
        }
        err.println("Store the key now: it is shown only once and cannot be recovered.");
    }

    /**
     * The {@code --wait} timeout when the command is to wait; a usage error without etcd (the policy file has no
     * replica registry). Checked before anything is written.
     */
    static Optional<java.time.Duration> waitTimeout(WaitOptions wait, Settings.Store store) throws CliException {
        Optional<java.time.Duration> timeout = WaitOptions.requested(wait);
        if (timeout.isPresent() && !store.usesEtcd()) {
            throw CliException.usage("--wait needs the etcd store (ETCD_ENDPOINTS): with the policy file there is no"
                    + " replica registry to wait for");
        }
        return timeout;
    }

    /** A required option's value, trimmed; blank counts as missing. */
    static String required(String option, String value) throws CliException {
        if (value == null || value.isBlank()) {
            throw CliException.usage("--" + option + " is required");
        }
        return value.trim();
    }

    private static List<String> models(String raw) throws CliException {
        Set<String> models = new LinkedHashSet<>();
        for (String m : raw.split(",")) {
            String model = m.trim();
            if (model.isEmpty()) {
                continue;
            }
            if (!model.equals(KeyRecord.ALL_MODELS) && !PolicyDocuments.isValidModelName(model)) {
                throw CliException.invalid("'" + model + "' is not a model name (1-256 printable characters, no"
                        + " spaces), nor '*'");
            }
            models.add(model);
        }
        if (models.isEmpty()) {
            throw CliException.invalid("--models needs at least one model name, or '*' for every model");
        }
        return List.copyOf(models);
    }

    private static Instant instant(String raw) throws CliException {
        try {
            return Instant.parse(raw);
        } catch (DateTimeParseException e) {
            try {
                return LocalDate.parse(raw).atStartOfDay(ZoneOffset.UTC).toInstant();
            } catch (DateTimeParseException e2) {
                throw CliException.invalid("--expires-at must be an ISO-8601 instant such as 2027-01-01T00:00:00Z"
                        + " (or a date, 2027-01-01, meaning midnight UTC)");
            }
        }
    }

    private static void validate(String hash, JsonNode doc) throws CliException {
        try {
            PolicyDocuments.parseKey(hash, doc);
        } catch (InvalidDocumentException e) {
            throw CliException.invalid("invalid key record: " + e.getMessage());
        }
    }

    private static List<String> namedKeys(List<EtcdKeyValues.Entry> entries, String name) {
        List<String> hashes = new ArrayList<>();
        for (EtcdKeyValues.Entry e : entries) {
            if (name.equals(readName(e.value()))) {
                hashes.add(shortHash(e.key().substring("keys/".length())));
            }
        }
        return hashes;
    }

    // ------------------------------------------------------------------ list

    /**
     * One key as listed, never the key itself; absent fields are null. The table shows a prefix of the hash, the
     * JSON form the whole of it (the name of the key's record, not key material).
     */
    private record Listed(String hash, String name, List<String> models, Boolean disabled, Instant expiresAt,
                          String problem) {
    }

    @Command(name = "list", description = {
            "Name, hash prefix, models, disabled and expiry of every key (never a key).",
            "--json: a JSON array with each key's whole hash, for scripts."})
    void list(@Option(names = "--json", description = "Print a JSON array instead of the table.") boolean json)
            throws CliException {
        Optional<AdminRemote> remote = AdminRemote.of(config);
        Settings.Store store = remote.isPresent() ? null : Cli.store(config);
        List<Listed> keys = new ArrayList<>();
        if (remote.isPresent()) {
            for (JsonNode k : remote.get().get("/v1/admin/keys").path("data")) {
                keys.add(listed(k));
            }
        } else if (store.usesEtcd()) {
            try (EtcdAdmin etcd = new EtcdAdmin(store)) {
                for (EtcdKeyValues.Entry e : etcd.list("keys/")) {
                    keys.add(listed(e.key().substring("keys/".length()), parse(e.value())));
                }
            }
        } else {
            JsonNode file = PolicyFiles.read(store);
            for (Map.Entry<String, JsonNode> e : iterable(file.path("keys"))) {
                keys.add(listed(e.getKey(), Optional.of(e.getValue())));
            }
        }
        if (json) {
            ArrayNode array = PolicyDocuments.JSON.createArrayNode();
            for (Listed k : keys) {
                ObjectNode o = array.addObject();
                o.put("name", k.name());
                o.put("hash", k.hash());
                if (k.models() == null) {
                    o.putNull("models");
                } else {
                    k.models().forEach(o.putArray("models")::add);
                }
                o.put("disabled", k.disabled());
                o.put("expiresAt", k.expiresAt() == null ? null : k.expiresAt().toString());
                o.put("invalid", k.problem());
            }
            out.println(PolicyFiles.pretty(array));
            return;
        }
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"NAME", "HASH", "MODELS", "DISABLED", "EXPIRES_AT"});
        for (Listed k : keys) {
            rows.add(new String[] {k.name() != null ? k.name() : k.problem() != null ? "?" : "-", shortHash(k.hash()),
                    k.problem() != null ? "(invalid record: " + k.problem() + ")" : String.join(",", k.models()),
                    k.disabled() == null ? "-" : k.disabled().toString(),
                    k.expiresAt() == null ? "-" : k.expiresAt().toString()});
        }
        Tables.print(out, rows);
        err.println(keys.size() + " key(s)" + (store == null ? " (" + remote.get().where() + ")"
                : store.usesEtcd() ? "" : " in " + PolicyFiles.path(store)));
    }

    /** A key as the admin API lists it: its record, read as a stored one is, unless the API found it invalid. */
    private static Listed listed(JsonNode view) {
        String hash = view.path("hash").asText();
        if (view.path("invalid").isTextual()) {
            String name = view.path("name").isTextual() ? view.get("name").asText() : null;
            return new Listed(hash, name, null, null, null, view.get("invalid").asText());
        }
        return listed(hash, Optional.of(AdminRemote.keyRecord(view)));
    }

    private static Listed listed(String hash, Optional<JsonNode> doc) {
        if (doc.isEmpty()) {
            return new Listed(hash, null, null, null, null, "not JSON");
        }
        try {
            KeyRecord r = PolicyDocuments.parseKey(hash, doc.get());
            List<String> models = new ArrayList<>(); // as written, not the record's set order
            doc.get().path("models").forEach(m -> models.add(m.asText()));
            return new Listed(hash, r.name().isEmpty() ? null : r.name(), List.copyOf(models), r.disabled(),
                    r.expiresAt().orElse(null), null);
        } catch (InvalidDocumentException e) {
            String name = doc.get().path("name").isTextual() ? doc.get().path("name").asText() : null;
            return new Listed(hash, name, null, null, null, e.getMessage());
        }
    }

    // ------------------------------------------------------------------ revoke

    /** Exactly one of {@code --name} and {@code --hash}. */
    static final class Target {
        @Option(names = "--name", required = true, paramLabel = "NAME", description = "Every key of this name.")
        String name;
        @Option(names = "--hash", required = true, paramLabel = "PREFIX",
                description = "The key whose SHA-256 starts with these hex digits (at least 6; see 'keys list').")
        String hash;
    }

    @Command(name = "revoke", description = {
            "Disables the matching key(s) (disabled: true); --delete removes the record instead."})
    void revoke(@ArgGroup(exclusive = true, multiplicity = "1") Target target,
                @Option(names = "--delete", description = "Delete the record instead of disabling it.") boolean delete,
                @Mixin WaitOptions wait)
            throws CliException {
        Optional<String> name = Optional.ofNullable(target.name).map(String::trim).filter(s -> !s.isEmpty());
        Optional<String> hashPrefix = Optional.ofNullable(target.hash).map(String::trim)
                .map(s -> s.toLowerCase(java.util.Locale.ROOT));
        if (name.isPresent() == hashPrefix.isPresent()) {
            throw CliException.usage("give exactly one of --name NAME or --hash PREFIX");
        }
        if (hashPrefix.isPresent() && !hashPrefix.get().matches("[0-9a-f]{6,64}")) {
            throw CliException.invalid("--hash takes at least 6 hex digits of the key's SHA-256 (see 'keys list')");
        }
        String what = name.map(n -> "named '" + n + "'").orElseGet(() -> "with hash " + hashPrefix.get() + "…");
        Optional<AdminRemote> remote = AdminRemote.of(config);
        if (remote.isPresent()) {
            revokeThrough(remote.get(), name, hashPrefix, delete, WaitOptions.requested(wait), what);
            return;
        }
        Settings.Store store = Cli.store(config);
        Optional<java.time.Duration> waitFor = waitTimeout(wait, store);

        if (!store.usesEtcd()) {
            revokeInFile(store, name, hashPrefix, delete, what);
            return;
        }
        try (EtcdAdmin etcd = new EtcdAdmin(store)) {
            long revision = 0; // the highest of the changes made
            for (int attempt = 0; ; attempt++) {
                List<EtcdKeyValues.Entry> matches = matches(etcd.list("keys/"), name, hashPrefix);
                if (matches.isEmpty()) {
                    throw CliException.invalid("no key " + what + " in " + etcd.where());
                }
                if (hashPrefix.isPresent() && matches.size() > 1) {
                    throw CliException.invalid(matches.size() + " keys match hash " + hashPrefix.get()
                            + "…; give more digits");
                }
                boolean raced = false;
                for (EtcdKeyValues.Entry e : matches) {
                    String hash = e.key().substring("keys/".length());
                    long done = delete ? etcd.deleteIfUnchanged(e.key(), e.modRevision())
                            : etcd.putIfUnchanged(e.key(), bytes(disabled(e.value())), e.modRevision());
                    if (done == 0) {
                        raced = true;
                        continue;
                    }
                    revision = Math.max(revision, done);
                    out.println((delete ? "deleted " : "disabled ") + displayName(e.value()) + " (keys/"
                            + shortHash(hash) + ")");
                }
                if (!raced) {
                    if (waitFor.isPresent()) {
                        new ReplicaWait(etcd, err).await(revision, System.nanoTime(), waitFor.get());
                    }
                    return;
                }
                if (attempt >= 2) {
                    throw CliException.unreachable("the key record kept changing while being revoked; try again");
                }
            }
        }
    }

    /**
     * Through the admin API: {@code POST /v1/admin/keys/{name}/disable} or {@code DELETE /v1/admin/keys/{name}}, for
     * one record with {@code ?hash=} (the API names keys by name, so a hash prefix is first looked up in the list).
     */
    private void revokeThrough(AdminRemote remote, Optional<String> name, Optional<String> hashPrefix, boolean delete,
                               Optional<java.time.Duration> waitFor, String what) throws CliException {
        String path;
        if (name.isPresent()) {
            path = "/v1/admin/keys/" + AdminRemote.segment(name.get());
        } else {
            List<JsonNode> found = new ArrayList<>();
            for (JsonNode k : remote.get("/v1/admin/keys").path("data")) {
                if (k.path("hash").asText().startsWith(hashPrefix.get())) {
                    found.add(k);
                }
            }
            if (found.isEmpty()) {
                throw CliException.invalid("no key " + what + " (" + remote.where() + ")");
            }
            if (found.size() > 1) {
                throw CliException.invalid(found.size() + " keys match hash " + hashPrefix.get()
                        + "…; give more digits");
            }
            if (!found.get(0).path("name").isTextual()) {
                throw CliException.invalid("the key " + what + " has no name: the admin API names keys by name;"
                        + " revoke it on etcd (ETCD_ENDPOINTS, without ROUTER_ADMIN_URL)");
            }
            path = "/v1/admin/keys/" + AdminRemote.segment(found.get(0).get("name").asText()) + "?hash="
                    + found.get(0).path("hash").asText();
        }
        AdminRemote.Change done = delete ? remote.change("DELETE", path, null, waitFor)
                : remote.change("POST", path.replaceFirst("(\\?|$)", "/disable$1"), null, waitFor);
        if (delete) {
            out.println("deleted " + done.body().path("deleted").asInt() + " key record(s) " + what + " at revision "
                    + done.body().path("revision").asLong());
        } else {
            for (JsonNode k : done.body().path("data")) {
                out.println("disabled " + (k.path("name").isTextual() ? "'" + k.get("name").asText() + "'" : "a key")
                        + " (keys/" + shortHash(k.path("hash").asText()) + ")");
            }
        }
        if (waitFor.isPresent()) {
            out.flush();
            done.reportWait(err);
        }
    }

    private void revokeInFile(Settings.Store store, Optional<String> name, Optional<String> hashPrefix,
                              boolean delete, String what) throws CliException {
        JsonNode file = PolicyFiles.read(store);
        List<Map.Entry<String, JsonNode>> found = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : iterable(file.path("keys"))) {
            boolean hit = name.map(n -> n.equals(e.getValue().path("name").asText(null)))
                    .orElseGet(() -> e.getKey().startsWith(hashPrefix.get()));
            if (hit) {
                found.add(e);
            }
        }
        if (found.isEmpty()) {
            throw CliException.invalid("no key " + what + " in " + PolicyFiles.path(store));
        }
        if (delete) {
            err.println("# ETCD_ENDPOINTS is not set: remove these entries from 'keys:' in " + PolicyFiles.path(store)
                    + ":");
            found.forEach(e -> out.println("  " + quoted(e.getKey())));
        } else {
            err.println("# ETCD_ENDPOINTS is not set: replace these entries under 'keys:' in "
                    + PolicyFiles.path(store) + ":");
            for (Map.Entry<String, JsonNode> e : found) {
                out.println("  " + quoted(e.getKey()) + ": " + compact(disabledNode(e.getValue())));
            }
        }
        err.println("# The gateway picks the change up without a restart.");
    }

    private static List<EtcdKeyValues.Entry> matches(List<EtcdKeyValues.Entry> entries, Optional<String> name,
                                                 Optional<String> hashPrefix) {
        List<EtcdKeyValues.Entry> matches = new ArrayList<>();
        for (EtcdKeyValues.Entry e : entries) {
            String hash = e.key().substring("keys/".length());
            boolean hit = name.map(n -> n.equals(readName(e.value())))
                    .orElseGet(() -> hash.startsWith(hashPrefix.get()));
            if (hit) {
                matches.add(e);
            }
        }
        return matches;
    }

    /** The record with {@code disabled: true}, other fields kept; a record that is not JSON becomes a bare one. */
    private static JsonNode disabled(byte[] value) {
        return disabledNode(parse(value).orElse(null));
    }

    private static JsonNode disabledNode(JsonNode doc) {
        ObjectNode o;
        if (doc != null && doc.isObject()) {
            o = ((ObjectNode) doc).deepCopy();
        } else {
            o = PolicyDocuments.JSON.createObjectNode();
        }
        if (!o.path("models").isArray()) {
            o.putArray("models");
        }
        o.put("disabled", true);
        return o;
    }

    private static String displayName(byte[] value) {
        String name = readName(value);
        return name == null ? "a key" : "'" + name + "'";
    }

    // ------------------------------------------------------------------ helpers

    private static String readName(byte[] value) {
        return parse(value).map(d -> d.path("name")).filter(JsonNode::isTextual).map(JsonNode::asText).orElse(null);
    }

    private static Optional<JsonNode> parse(byte[] value) {
        try {
            return Optional.of(PolicyDocuments.readJson(value));
        } catch (InvalidDocumentException e) {
            return Optional.empty();
        }
    }

    static String shortHash(String hash) {
        return hash.length() > HASH_SHOWN ? hash.substring(0, HASH_SHOWN) + "…" : hash;
    }

    private static Iterable<Map.Entry<String, JsonNode>> iterable(JsonNode map) {
        return map::fields;
    }

    static byte[] bytes(JsonNode doc) {
        try {
            return PolicyDocuments.JSON.writeValueAsBytes(doc);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static String compact(JsonNode doc) {
        return new String(bytes(doc), java.nio.charset.StandardCharsets.UTF_8);
    }

    static String quoted(String s) {
        return compact(PolicyDocuments.JSON.getNodeFactory().textNode(s));
    }
}
