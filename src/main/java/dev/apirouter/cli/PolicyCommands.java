package dev.apirouter.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.apirouter.etcd.EtcdKeyValues;
import dev.apirouter.config.Config;
import dev.apirouter.config.Settings;
import dev.apirouter.policy.InvalidDocumentException;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.PolicyDocuments;
import dev.apirouter.policy.PolicyFile;
import dev.apirouter.policy.PolicySource;
import dev.apirouter.policy.PolicyView;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code policy put | get | delete | validate}. */
@Command(name = "policy", subcommands = HelpCommand.class,
        description = "Model policies: put, get, delete, validate.")
final class PolicyCommands implements Callable<Integer> {
    /** Made on first use: only {@code put} and {@code validate} read files (it costs a command's start ~80 ms). */
    private static final class Yaml {
        static final ObjectMapper MAPPER = new YAMLMapper();
    }

    private static final String MODELS = "/v1/admin/models/";

    private final Config config;
    private final PrintStream out;
    private final PrintStream err;
    @Spec
    CommandSpec spec;

    PolicyCommands(Config config, PrintStream out, PrintStream err) {
        this.config = config;
        this.out = out;
        this.err = err;
    }

    @Override
    public Integer call() {
        throw Cli.commandNeeded(spec);
    }

    @Command(name = "put", description = {
            "Validates the model policy in FILE (JSON or YAML), then stores it (etcd) or prints",
            "the policy-file form. An invalid policy is refused (exit 2) and nothing is stored."})
    void put(@Option(names = "--model", required = true, paramLabel = "MODEL", description = "The model's name.")
             String rawModel,
             @Option(names = "--file", required = true, paramLabel = "FILE",
                     description = "One model's policy: upstreamModel, backends, timeouts, ...")
             String rawFile,
             @Mixin WaitOptions wait) throws CliException {
        String model = modelName(KeyCommands.required("model", rawModel));
        Path file = Path.of(KeyCommands.required("file", rawFile));
        JsonNode doc = readDocument(file);
        if (doc.isObject() && (doc.has("models") || doc.has("keys"))) {
            throw CliException.invalid(file + " is a whole policy file; 'policy put' takes one model's policy"
                    + " (upstreamModel, backends, timeouts)");
        }
        ModelPolicy policy = parseModel(model, doc, file.toString());
        Optional<AdminRemote> remote = AdminRemote.of(config);
        if (remote.isPresent()) {
            Optional<Duration> waitFor = WaitOptions.requested(wait);
            AdminRemote.Change stored = remote.get().change("PUT", MODELS + AdminRemote.segment(model), doc, waitFor);
            out.println("stored models/" + model + " (" + policy.backends().size() + " backend(s)) at revision "
                    + stored.body().path("revision").asLong() + " through the " + remote.get().where());
            if (waitFor.isPresent()) {
                out.flush();
                stored.reportWait(err);
            }
            return;
        }
        Settings.Store store = Cli.store(config);
        Optional<Duration> waitFor = KeyCommands.waitTimeout(wait, store);
        if (store.usesEtcd()) {
            try (EtcdAdmin etcd = new EtcdAdmin(store)) {
                long revision = etcd.put("models/" + model, KeyCommands.bytes(doc));
                long writtenAt = System.nanoTime();
                out.println("stored models/" + model + " (" + policy.backends().size() + " backend(s)) at revision "
                        + revision + " in " + etcd.where());
                if (waitFor.isPresent()) {
                    out.flush();
                    new ReplicaWait(etcd, err).await(revision, writtenAt, waitFor.get());
                }
            }
        } else {
            err.println("# ETCD_ENDPOINTS is not set: put this under 'models:' in the policy file ("
                    + PolicyFiles.path(store) + "):");
            out.println("models:");
            out.println("  " + KeyCommands.quoted(model) + ": " + KeyCommands.compact(doc));
        }
    }

    @Command(name = "get", description = {
            "Prints one model policy, or the whole store in policy-file form (usable as ROUTER_POLICY_FILE)."})
    void get(@Option(names = "--model", paramLabel = "MODEL", description = "Only this model's policy.")
             String rawModel) throws CliException {
        String model = rawModel == null ? null : rawModel.trim();
        Optional<AdminRemote> remote = AdminRemote.of(config);
        if (remote.isPresent()) {
            getThrough(remote.get(), model);
            return;
        }
        Settings.Store store = Cli.store(config);
        if (store.usesEtcd()) {
            try (EtcdAdmin etcd = new EtcdAdmin(store)) {
                if (model != null) {
                    EtcdKeyValues.Entry entry = etcd.get("models/" + model).orElseThrow(() ->
                            CliException.invalid("no policy for model '" + model + "' in " + etcd.where()));
                    printDocument(entry.value(), "models/" + model);
                    return;
                }
                ObjectNode root = PolicyDocuments.JSON.createObjectNode();
                ObjectNode models = root.putObject("models");
                ObjectNode keys = root.putObject("keys");
                for (EtcdKeyValues.Entry e : etcd.list("")) {
                    boolean isModel = e.key().startsWith("models/");
                    if (!isModel && !e.key().startsWith("keys/")) {
                        continue;
                    }
                    String name = e.key().substring(isModel ? "models/".length() : "keys/".length());
                    try {
                        (isModel ? models : keys).set(name, PolicyDocuments.readJson(e.value()));
                    } catch (InvalidDocumentException ex) {
                        err.println("warning: " + (isModel ? PolicyView.modelDocument(name) : PolicyView.keyDocument(name))
                                + " is left out: " + ex.getMessage());
                    }
                }
                out.println(PolicyFiles.pretty(root));
            }
        } else {
            JsonNode root = PolicyFiles.read(store);
            if (model != null) {
                JsonNode doc = root.path("models").get(model);
                if (doc == null) {
                    throw CliException.invalid("no policy for model '" + model + "' in " + PolicyFiles.path(store));
                }
                out.println(PolicyFiles.pretty(doc));
            } else {
                out.println(PolicyFiles.pretty(root));
            }
        }
    }

    @Command(name = "delete", description = "Removes a model policy (etcd).")
    void delete(@Option(names = "--model", required = true, paramLabel = "MODEL", description = "The model's name.")
                String rawModel,
                @Mixin WaitOptions wait) throws CliException {
        String model = KeyCommands.required("model", rawModel);
        Optional<AdminRemote> remote = AdminRemote.of(config);
        if (remote.isPresent()) {
            Optional<Duration> waitFor = WaitOptions.requested(wait);
            AdminRemote.Change deleted = remote.get().change("DELETE", MODELS + AdminRemote.segment(model), null,
                    waitFor);
            out.println("deleted models/" + model + " at revision " + deleted.body().path("revision").asLong()
                    + " through the " + remote.get().where());
            if (waitFor.isPresent()) {
                out.flush();
                deleted.reportWait(err);
            }
            return;
        }
        Settings.Store store = Cli.store(config);
        Optional<Duration> waitFor = KeyCommands.waitTimeout(wait, store);
        if (store.usesEtcd()) {
            try (EtcdAdmin etcd = new EtcdAdmin(store)) {
                long revision = etcd.delete("models/" + model);
                long writtenAt = System.nanoTime();
                if (revision == 0) {
                    throw CliException.invalid("no policy for model '" + model + "' in " + etcd.where());
                }
                out.println("deleted models/" + model + " at revision " + revision + " in " + etcd.where());
                if (waitFor.isPresent()) {
                    out.flush();
                    new ReplicaWait(etcd, err).await(revision, writtenAt, waitFor.get());
                }
            }
        } else {
            err.println("# ETCD_ENDPOINTS is not set: remove this entry from 'models:' in " + PolicyFiles.path(store)
                    + ":");
            out.println("  " + KeyCommands.quoted(model));
        }
    }

    @Command(name = "validate", description = {
            "Checks a model policy file or a whole policy file; needs no etcd."})
    void validate(@Parameters(paramLabel = "FILE", description = "A model policy, or a whole policy file.")
                  String rawFile,
                  @Option(names = "--model", paramLabel = "MODEL",
                          description = "The model a model policy is for (default: FILE's name without extension).")
                  String rawModel) throws CliException {
        Path file = Path.of(rawFile);
        byte[] content = PolicyFiles.readBytes(file);
        JsonNode doc = readDocument(file, content);
        if (doc.isObject() && (doc.has("models") || doc.has("keys"))) {
            JsonNode root;
            try {
                root = PolicyFile.parse(content);
            } catch (InvalidDocumentException e) {
                throw CliException.invalid("policy file " + file + ": " + e.getMessage());
            }
            // backend secrets are the gateway's: their env vars and files are not checked from here
            PolicyView.Builder builder = PolicyFile.apply(root,
                    PolicyView.empty(PolicySource.FILE).toBuilder().withoutSecrets());
            PolicyView view = builder.build(PolicySource.FILE, 0, java.time.Instant.EPOCH);
            if (!builder.newRejections().isEmpty()) {
                builder.newRejections().forEach(r -> err.println("invalid: " + r));
                throw CliException.invalid("policy file " + file + ": " + builder.newRejections().size()
                        + " invalid document(s)");
            }
            out.println("ok: policy file " + file + ": " + view.models().size() + " model(s), " + view.keys().size()
                    + " key(s)");
            return;
        }
        String model = modelName(rawModel != null ? rawModel : baseName(file));
        ModelPolicy policy = parseModel(model, doc, file.toString());
        out.println("ok: model policy " + file + " (model '" + model + "'): " + policy.backends().size()
                + " backend(s)");
    }

    // ------------------------------------------------------------------

    /**
     * {@code policy get} through the admin API: one model's policy, or the whole store in policy-file form (each key
     * record rebuilt from the API's view of it: the record's fields without what the API adds).
     */
    private void getThrough(AdminRemote remote, String model) throws CliException {
        if (model != null) {
            out.println(PolicyFiles.pretty(remote.get(MODELS + AdminRemote.segment(model)).path("policy")));
            return;
        }
        ObjectNode root = PolicyDocuments.JSON.createObjectNode();
        ObjectNode models = root.putObject("models");
        ObjectNode keys = root.putObject("keys");
        for (JsonNode m : remote.get("/v1/admin/models").path("data")) {
            if (m.path("invalid").isTextual()) {
                err.println("warning: " + PolicyView.modelDocument(m.path("name").asText()) + " is left out: "
                        + m.get("invalid").asText());
            } else {
                models.set(m.path("name").asText(), m.path("policy"));
            }
        }
        for (JsonNode k : remote.get("/v1/admin/keys").path("data")) {
            String hash = k.path("hash").asText();
            if (k.path("invalid").isTextual()) {
                err.println("warning: " + PolicyView.keyDocument(hash) + " is left out: " + k.get("invalid").asText());
                continue;
            }
            keys.set(hash, AdminRemote.keyRecord(k));
        }
        out.println(PolicyFiles.pretty(root));
    }

    private void printDocument(byte[] value, String id) {
        try {
            out.println(PolicyFiles.pretty(PolicyDocuments.readJson(value)));
        } catch (InvalidDocumentException e) {
            err.println("warning: " + id + " is not valid JSON (" + e.getMessage() + "); printed as stored");
            out.println(new String(value, java.nio.charset.StandardCharsets.UTF_8));
        }
    }

    private static String modelName(String raw) throws CliException {
        String model = raw.trim();
        if (!PolicyDocuments.isValidModelName(model)) {
            throw CliException.invalid("'" + model + "' is not a model name (1-256 printable characters, no spaces)");
        }
        return model;
    }

    private static ModelPolicy parseModel(String model, JsonNode doc, String where) throws CliException {
        try {
            return PolicyDocuments.parseModel(model, doc);
        } catch (InvalidDocumentException e) {
            throw CliException.invalid("invalid model policy in " + where + ": " + e.getMessage()
                    + " (nothing was stored)");
        }
    }

    private static JsonNode readDocument(Path file) throws CliException {
        return readDocument(file, PolicyFiles.readBytes(file));
    }

    /** A JSON or YAML document. */
    private static JsonNode readDocument(Path file, byte[] content) throws CliException {
        try {
            JsonNode node = Yaml.MAPPER.readTree(content);
            if (node == null || node.isMissingNode() || node.isNull()) {
                throw CliException.invalid(file + " is empty");
            }
            // store JSON: YAML scalars become their JSON equivalents
            return PolicyDocuments.JSON.readTree(PolicyDocuments.JSON.writeValueAsBytes(node));
        } catch (IOException e) {
            String m = e.getMessage() == null ? "unreadable" : e.getMessage().lines().findFirst().orElse("");
            throw CliException.invalid(file + " is not JSON or YAML: " + m);
        }
    }

    private static String baseName(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }
}
