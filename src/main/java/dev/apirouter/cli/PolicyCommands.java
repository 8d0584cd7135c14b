package dev.apirouter.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.apirouter.config.Settings;
import dev.apirouter.policy.InvalidDocumentException;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.PolicyDocuments;
import dev.apirouter.policy.PolicyFile;
import dev.apirouter.policy.PolicySource;
import dev.apirouter.policy.PolicyView;

/** {@code policy put | get | delete | validate}. */
final class PolicyCommands {
    private static final ObjectMapper YAML = new YAMLMapper();

    private final Settings.Store store;
    private final PrintStream out;
    private final PrintStream err;

    PolicyCommands(Settings.Store store, PrintStream out, PrintStream err) {
        this.store = store;
        this.out = out;
        this.err = err;
    }

    void run(String command, List<String> args) throws CliException {
        switch (command) {
            case "put" -> put(CliArgs.parse(args, Set.of("model", "file"), Set.of()));
            case "get" -> get(CliArgs.parse(args, Set.of("model"), Set.of()));
            case "delete" -> delete(CliArgs.parse(args, Set.of("model"), Set.of()));
            case "validate" -> validate(CliArgs.parse(args, Set.of("model"), Set.of()));
            default -> throw CliException.usage("unknown command 'policy " + command
                    + "' (put, get, delete, validate)");
        }
    }

    private void put(CliArgs args) throws CliException {
        args.noPositionals();
        String model = modelName(args.required("model"));
        Path file = Path.of(args.required("file"));
        JsonNode doc = readDocument(file);
        if (doc.isObject() && (doc.has("models") || doc.has("keys"))) {
            throw CliException.invalid(file + " is a whole policy file; 'policy put' takes one model's policy"
                    + " (upstreamModel, backends, timeouts)");
        }
        ModelPolicy policy = parseModel(model, doc, file.toString());
        if (store.usesEtcd()) {
            try (EtcdAdmin etcd = new EtcdAdmin(store)) {
                long revision = etcd.put("models/" + model, KeyCommands.bytes(doc));
                out.println("stored models/" + model + " (" + policy.backends().size() + " backend(s)) at revision "
                        + revision + " in " + etcd.where());
            }
        } else {
            err.println("# ETCD_ENDPOINTS is not set: put this under 'models:' in the policy file ("
                    + PolicyFiles.path(store) + "):");
            out.println("models:");
            out.println("  " + KeyCommands.quoted(model) + ": " + KeyCommands.compact(doc));
        }
    }

    private void get(CliArgs args) throws CliException {
        args.noPositionals();
        String model = args.option("model").map(String::trim).orElse(null);
        if (store.usesEtcd()) {
            try (EtcdAdmin etcd = new EtcdAdmin(store)) {
                if (model != null) {
                    EtcdAdmin.Entry entry = etcd.get("models/" + model).orElseThrow(() ->
                            CliException.invalid("no policy for model '" + model + "' in " + etcd.where()));
                    printDocument(entry.value(), "models/" + model);
                    return;
                }
                ObjectNode root = PolicyDocuments.JSON.createObjectNode();
                ObjectNode models = root.putObject("models");
                ObjectNode keys = root.putObject("keys");
                for (EtcdAdmin.Entry e : etcd.list("")) {
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

    private void delete(CliArgs args) throws CliException {
        args.noPositionals();
        String model = args.required("model");
        if (store.usesEtcd()) {
            try (EtcdAdmin etcd = new EtcdAdmin(store)) {
                if (etcd.delete("models/" + model) == 0) {
                    throw CliException.invalid("no policy for model '" + model + "' in " + etcd.where());
                }
                out.println("deleted models/" + model + " in " + etcd.where());
            }
        } else {
            err.println("# ETCD_ENDPOINTS is not set: remove this entry from 'models:' in " + PolicyFiles.path(store)
                    + ":");
            out.println("  " + KeyCommands.quoted(model));
        }
    }

    private void validate(CliArgs args) throws CliException {
        if (args.positionals().size() != 1) {
            throw CliException.usage("policy validate takes one FILE");
        }
        Path file = Path.of(args.positionals().get(0));
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
        String model = modelName(args.option("model").orElseGet(() -> baseName(file)));
        ModelPolicy policy = parseModel(model, doc, file.toString());
        out.println("ok: model policy " + file + " (model '" + model + "'): " + policy.backends().size()
                + " backend(s)");
    }

    // ------------------------------------------------------------------

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
            JsonNode node = YAML.readTree(content);
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
