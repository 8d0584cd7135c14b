package dev.apirouter.health;

import java.util.Comparator;
import java.util.Map;
import java.util.Optional;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.fleet.BackendView;
import dev.apirouter.fleet.Fleet;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.Limits;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.PolicyDocuments;
import dev.apirouter.policy.PolicyStore;
import dev.apirouter.policy.PolicyView;
import dev.apirouter.policy.Routing;
import dev.apirouter.policy.StoreStatus;

/**
 * {@code /v1/status/policy}: the active models with their backends and health, the store's source and revision,
 * and the number of keys (never their hashes). A backend with a credential shows where its secret comes from, never
 * the secret. An admin endpoint: served on the management port, behind the admin token.
 */
public final class PolicyStatus {
    private final PolicyStore store;
    private final BackendHealthMonitor health;
    private final Fleet fleet;

    public PolicyStatus(PolicyStore store, BackendHealthMonitor health, Fleet fleet) {
        this.store = store;
        this.health = health;
        this.fleet = fleet;
    }

    public String json() {
        ObjectNode root = PolicyDocuments.JSON.createObjectNode();
        StoreStatus status = store.status();
        root.put("store", status.kind()).put("connected", status.connected()).put("detail", status.detail());
        Optional<PolicyView> current = store.current();
        if (current.isEmpty()) {
            root.putNull("source");
            return root.toString();
        }
        PolicyView view = current.get();
        root.put("source", view.source().label()).put("revision", view.revision())
                .put("updatedAt", view.updatedAt().toString()).put("keys", view.keys().size());
        ObjectNode rejected = root.putObject("rejected");
        view.rejected().forEach(rejected::put);
        ObjectNode models = root.putObject("models");
        Map<String, BackendView> loads = fleet.view();
        view.models().values().stream().sorted(Comparator.comparing(ModelPolicy::name)).forEach(policy -> {
            ObjectNode model = models.putObject(policy.name());
            policy.upstreamModel().ifPresent(u -> model.put("upstreamModel", u));
            if (!policy.aliases().isEmpty()) {
                policy.aliases().forEach(model.putArray("aliases")::add);
            }
            Routing routing = policy.routing();
            ObjectNode r = model.putObject("routing").put("strategy", routing.strategy().label());
            r.putObject("affinity").put("header", routing.affinityHeader()).put("prefixBytes", routing.prefixBytes());
            r.put("loadFactor", routing.loadFactor());
            r.putObject("retries").put("attempts", routing.attempts()).put("backoffMs", routing.retryBackoff().toMillis());
            if (!policy.fallbacks().isEmpty()) {
                policy.fallbacks().forEach(model.putArray("fallbacks")::add);
            }
            Limits limits = policy.limits();
            if (limits.any()) {
                model.putObject("limits").put("rpm", limits.rpm()).put("tpm", limits.tpm())
                        .put("maxParallel", limits.maxParallel()).put("tokensPerDay", limits.tokensPerDay());
            }
            model.putObject("timeouts").put("connectMs", policy.timeouts().connect().toMillis())
                    .put("firstByteMs", policy.timeouts().firstByte().toMillis())
                    .put("idleMs", policy.timeouts().idle().toMillis());
            ArrayNode backends = model.putArray("backends");
            for (Backend backend : policy.backends()) {
                ObjectNode entry = backends.addObject().put("url", backend.url()).put("weight", backend.weight())
                        .put("healthy", health.isHealthy(backend));
                BackendView load = loads.get(backend.url());
                if (load != null) {
                    entry.set("load", FleetJson.of(load));
                }
                backend.auth().ifPresent(auth -> {
                    // where the secret comes from, never the secret
                    ObjectNode source = entry.putObject("auth").put(auth.source().field(), auth.name());
                    if (auth.problem() != null) {
                        source.put("problem", auth.problem());
                    }
                });
            }
        });
        return root.toString();
    }
}
