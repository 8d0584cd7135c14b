package dev.apirouter.health;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.policy.PolicyDocuments;
import dev.apirouter.policy.PolicyStore;
import dev.apirouter.policy.PolicyView;
import dev.apirouter.policy.StoreStatus;

/**
 * Readiness: ready when a usable policy is loaded (at least one model) and the routes are serving. The answer
 * names each check and its state, in the MicroProfile Health shape ({@code {"status":"UP","checks":[...]}}).
 */
public final class Readiness {
    private final PolicyStore store;
    private final BooleanSupplier routesStarted;
    private final Supplier<Instant> clock;
    private final List<Supplier<Check>> extraChecks = new CopyOnWriteArrayList<>();

    public Readiness(PolicyStore store, BooleanSupplier routesStarted, Supplier<Instant> clock) {
        this.store = store;
        this.routesStarted = routesStarted;
        this.clock = clock;
    }

    public record Answer(boolean ready, String json) {
    }

    /** One more named check: {@code up} counts for readiness, {@code data} is shown as its details. */
    public record Check(String name, boolean up, Map<String, Object> data) {
    }

    /** Adds a check evaluated on every readiness request (e.g. {@code routes-reload}). */
    public void addCheck(Supplier<Check> check) {
        extraChecks.add(check);
    }

    public Answer evaluate() {
        ObjectNode root = PolicyDocuments.JSON.createObjectNode();
        ArrayNode checks = PolicyDocuments.JSON.createArrayNode();
        boolean policyUp = policyCheck(checks.addObject());
        boolean routesUp = routesStarted.getAsBoolean();
        checks.addObject().put("name", "camel-routes").put("status", routesUp ? "UP" : "DOWN");
        boolean ready = policyUp && routesUp;
        for (Supplier<Check> supplier : extraChecks) {
            Check check = supplier.get();
            ObjectNode node = checks.addObject().put("name", check.name()).put("status", check.up() ? "UP" : "DOWN");
            node.set("data", PolicyDocuments.JSON.valueToTree(check.data()));
            ready &= check.up();
        }
        root.put("status", ready ? "UP" : "DOWN");
        root.set("checks", checks);
        return new Answer(ready, root.toString());
    }

    private boolean policyCheck(ObjectNode check) {
        StoreStatus status = store.status();
        check.put("name", "policy-store");
        ObjectNode data = check.putObject("data");
        data.put("store", status.kind());
        data.put("connected", status.connected());
        data.put("detail", status.detail());
        for (Map.Entry<String, Object> e : status.extra().entrySet()) {
            data.putPOJO(e.getKey(), e.getValue());
        }
        PolicyView view = store.current().orElse(null);
        boolean up = view != null && !view.models().isEmpty();
        if (view != null) {
            data.put("source", view.source().label());
            data.put("revision", view.revision());
            data.put("models", view.models().size());
            data.put("keys", view.keys().size());
            data.put("updatedAt", view.updatedAt().toString());
            data.put("ageSeconds", Duration.between(view.updatedAt(), clock.get()).toSeconds());
            ObjectNode rejected = data.putObject("rejected");
            view.rejected().forEach(rejected::put);
            if (view.models().isEmpty()) {
                data.put("reason", "the policy has no models");
            }
        } else {
            data.put("reason", "no policy loaded yet");
        }
        check.put("status", up ? "UP" : "DOWN");
        return up;
    }
}
