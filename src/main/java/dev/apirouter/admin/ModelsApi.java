package dev.apirouter.admin;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.etcd.EtcdKeyValues.Change;
import dev.apirouter.policy.InvalidDocumentException;
import dev.apirouter.policy.PolicyDocuments;
import dev.apirouter.policy.PolicySource;
import dev.apirouter.policy.PolicyView;

/**
 * The model calls of the admin API. A policy is validated by the code the store validates with ({@link
 * PolicyView.Builder#putModel}), after every other stored policy, so that what spans documents — an alias that is
 * another model's name or alias — is refused here rather than by every replica after the write.
 */
final class ModelsApi {
    static final String FOLDER = "models/";

    private final AdminStore store;

    ModelsApi(AdminStore store) {
        this.store = store;
    }

    ObjectNode list() {
        ObjectNode list = AdminJson.JSON.createObjectNode().put("object", "list");
        ArrayNode data = list.putArray("data");
        store.list(FOLDER).forEach(d -> data.add(view(d)));
        return list;
    }

    ObjectNode get(String name) {
        return view(existing(name));
    }

    Outcome put(String name, JsonNode body) {
        ObjectNode policy = AdminJson.object(body, "model policy");
        for (int attempt = 0; attempt < KeysApi.ATTEMPTS; attempt++) {
            List<AdminStore.Doc> all = store.list(FOLDER);
            problem(name, policy, all).ifPresent(p -> {
                throw new GatewayException(ErrorCode.INVALID_REQUEST, "Invalid model policy: " + p);
            });
            Optional<AdminStore.Doc> before = all.stream().filter(d -> d.key().equals(FOLDER + name)).findFirst();
            long revision = store.commit(List.of(Change.put(FOLDER + name,
                    policy.toString().getBytes(StandardCharsets.UTF_8), before.map(AdminStore.Doc::revision).orElse(0L))));
            if (revision != 0) {
                boolean created = before.isEmpty();
                return new Outcome(created ? 201 : 200, view(new AdminStore.Doc(FOLDER + name, policy, revision))
                        .put("created", created), revision, created ? "model.create" : "model.replace", name, 1);
            }
        }
        throw conflict(name);
    }

    Outcome delete(String name) {
        for (int attempt = 0; attempt < KeysApi.ATTEMPTS; attempt++) {
            AdminStore.Doc doc = existing(name);
            long revision = store.commit(List.of(Change.delete(doc.key(), doc.revision())));
            if (revision != 0) {
                ObjectNode answer = AdminJson.JSON.createObjectNode().put("deleted", 1).put("revision", revision);
                return new Outcome(200, answer, revision, "model.delete", name, 1);
            }
        }
        throw conflict(name);
    }

    /** A dry run of {@link #put}: {@code {"valid": true}} or {@code {"valid": false, "message"}}; nothing written. */
    ObjectNode validate(String name, JsonNode body) {
        ObjectNode policy = AdminJson.object(body, "model policy");
        Optional<String> problem = problem(name, policy, store.list(FOLDER));
        ObjectNode answer = AdminJson.JSON.createObjectNode().put("valid", problem.isEmpty());
        problem.ifPresent(p -> answer.put("message", p));
        return answer;
    }

    /** Why the store would reject {@code policy} as model {@code name} beside the other stored policies, if it would. */
    private static Optional<String> problem(String name, ObjectNode policy, List<AdminStore.Doc> all) {
        checkName(name);
        PolicyView.Builder view = PolicyView.empty(PolicySource.ETCD).toBuilder();
        for (AdminStore.Doc other : all) {
            if (!other.key().equals(FOLDER + name) && other.json() != null) {
                view.putModel(other.key().substring(FOLDER.length()), other.json());
            }
        }
        String id = PolicyView.modelDocument(name);
        view.putModel(name, policy);
        return view.newRejections().stream().filter(r -> r.startsWith(id + ": "))
                .map(r -> r.substring(id.length() + 2)).findFirst();
    }

    private AdminStore.Doc existing(String name) {
        checkName(name);
        return store.get(FOLDER + name).orElseThrow(() -> new GatewayException(ErrorCode.MODEL_NOT_FOUND,
                "No model policy named '" + name + "'."));
    }

    private static void checkName(String name) {
        if (!PolicyDocuments.isValidModelName(name)) {
            throw KeysApi.invalid("A model name is 1-256 printable characters without spaces.");
        }
    }

    private static ObjectNode view(AdminStore.Doc doc) {
        ObjectNode view = AdminJson.JSON.createObjectNode();
        String name = doc.key().substring(FOLDER.length());
        view.put("name", name);
        view.set("policy", doc.json());
        view.put("revision", doc.revision());
        if (doc.json() == null) {
            view.put("invalid", "the stored policy is not JSON");
        } else {
            try {
                PolicyDocuments.parseModel(name, doc.json());
            } catch (InvalidDocumentException e) {
                view.put("invalid", e.getMessage());
            }
        }
        return view;
    }

    private static GatewayException conflict(String name) {
        return new GatewayException(ErrorCode.CONFLICT, "The model policy '" + name + "' kept changing while this call"
                + " ran (" + KeysApi.ATTEMPTS + " attempts); read it again and retry.");
    }
}
