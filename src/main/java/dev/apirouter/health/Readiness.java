package dev.apirouter.health;

import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.PolicyDocuments;
import dev.apirouter.policy.PolicyStore;
import dev.apirouter.policy.PolicyView;
import dev.apirouter.policy.StoreStatus;
import org.apache.camel.CamelContext;
import org.apache.camel.ServiceStatus;
import org.apache.camel.health.HealthCheck;
import org.apache.camel.health.HealthCheckHelper;

/**
 * Readiness in the MicroProfile Health shape ({@code {"status":"UP","checks":[{"name","status","data"}]}}): the
 * gateway's own checks (policy store, backends, the etcd connection) and Camel's readiness checks (context, routes,
 * consumers).
 * Ready means a usable policy (at least one model) is loaded and Camel is up. Backend health is reported per model
 * but never makes the gateway unready: pulling every pod because vLLM is down would turn clear 502/503 answers into
 * refused connections.
 */
public final class Readiness {
    private static final String ETCD = "etcd";
    private final PolicyStore store;
    private final BackendHealthMonitor backends;
    private final Supplier<CamelContext> camel;
    private final Supplier<Instant> clock;
    private final List<Supplier<Check>> extraChecks = new CopyOnWriteArrayList<>();

    public Readiness(PolicyStore store, BackendHealthMonitor backends, Supplier<CamelContext> camel,
                     Supplier<Instant> clock) {
        this.store = store;
        this.backends = backends;
        this.camel = camel;
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
        StoreStatus status = store.status();
        boolean ready = policyCheck(checks.addObject(), status);
        backendsCheck(checks.addObject());
        etcdCheck(checks, status);
        ready &= camelChecks(checks);
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

    private boolean policyCheck(ObjectNode check, StoreStatus status) {
        check.put("name", "policy-store");
        ObjectNode data = PolicyDocuments.JSON.createObjectNode();
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
        } else if (!data.has("reason")) { // a store may say itself why nothing is loaded
            data.put("reason", "no policy loaded yet");
        }
        check.put("status", up ? "UP" : "DOWN");
        check.set("data", data);
        return up;
    }

    /**
     * The etcd connection, when etcd is the store. Informational, like the backends: while etcd is unreachable the
     * policy in memory (or the last-known-good copy) keeps serving, so the pod stays ready; {@code connected} says
     * whether changes are being received.
     */
    private static void etcdCheck(ArrayNode checks, StoreStatus status) {
        if (!ETCD.equals(status.kind())) {
            return;
        }
        ObjectNode data = checks.addObject().put("name", ETCD).put("status", "UP").putObject("data");
        data.put("connected", status.connected());
        data.put("detail", status.detail());
        status.extra().forEach(data::putPOJO);
    }

    private void backendsCheck(ObjectNode check) {
        check.put("name", "backends").put("status", "UP");
        ObjectNode data = check.putObject("data");
        store.current().ifPresent(view -> {
            for (ModelPolicy policy : view.models().values()) {
                long healthy = policy.backends().stream().filter(backends::isHealthy).count();
                ObjectNode model = data.putObject(policy.name());
                model.put("healthy", healthy).put("total", policy.backends().size());
                ArrayNode unhealthy = model.putArray("unhealthy");
                policy.backends().stream().filter(b -> !backends.isHealthy(b)).map(Backend::url).forEach(unhealthy::add);
            }
        });
    }

    private boolean camelChecks(ArrayNode checks) {
        CamelContext context = camel.get();
        if (context == null || context.getStatus() != ServiceStatus.Started) {
            checks.addObject().put("name", "context").put("status", "DOWN")
                    .putObject("data").put("reason", "Camel is " + (context == null ? "not created" : context.getStatus()));
            return false;
        }
        boolean up = true;
        Collection<HealthCheck.Result> results;
        try {
            results = HealthCheckHelper.invokeReadiness(context);
        } catch (RuntimeException e) {
            // a route being swapped by a reload at this very moment: Camel's checks are retried on the next probe
            checks.addObject().put("name", "camel-checks").put("status", "UP")
                    .putObject("data").put("note", "not evaluated this time: " + e);
            return true;
        }
        for (HealthCheck.Result result : results) {
            boolean checkUp = result.getState() != HealthCheck.State.DOWN;
            up &= checkUp;
            ObjectNode check = checks.addObject().put("name", result.getCheck().getId())
                    .put("status", checkUp ? "UP" : "DOWN");
            ObjectNode data = check.putObject("data");
            result.getMessage().ifPresent(m -> data.put("message", m));
            result.getDetails().forEach((k, v) -> {
                if (v instanceof Number || v instanceof Boolean || v instanceof CharSequence) {
                    data.putPOJO(k, v);
                }
            });
        }
        return up;
    }
}
