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
import dev.apirouter.fleet.BackendView;
import dev.apirouter.fleet.Fleet;
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
 *
 * <p>Two levels of detail, the same checks and verdict: {@link Detail#SUMMARY} for the public port names each check
 * and its state with counts and names only (backends by their index in the model's list, rejected documents by id),
 * never a URL, path, endpoint or error text; {@link Detail#FULL}, for the management port, adds all of those.
 */
public final class Readiness {
    private static final String ETCD = "etcd";
    private final PolicyStore store;
    private final BackendHealthMonitor backends;
    private final Fleet fleet;
    private final Supplier<CamelContext> camel;
    private final Supplier<Instant> clock;
    private final List<Supplier<Check>> extraChecks = new CopyOnWriteArrayList<>();

    public Readiness(PolicyStore store, BackendHealthMonitor backends, Fleet fleet, Supplier<CamelContext> camel,
                     Supplier<Instant> clock) {
        this.store = store;
        this.backends = backends;
        this.fleet = fleet;
        this.camel = camel;
        this.clock = clock;
    }

    /** How much a readiness answer tells: {@code SUMMARY} is safe to publish, {@code FULL} is for operators. */
    public enum Detail {
        SUMMARY, FULL
    }

    public record Answer(boolean ready, String json) {
    }

    /**
     * One more named check: {@code up} counts for readiness; {@code summary} is its data in a {@link Detail#SUMMARY}
     * answer (counts and names only), {@code details} in a {@link Detail#FULL} one.
     */
    public record Check(String name, boolean up, Map<String, Object> summary, Map<String, Object> details) {
    }

    /** Adds a check evaluated on every readiness request (e.g. {@code routes-reload}). */
    public void addCheck(Supplier<Check> check) {
        extraChecks.add(check);
    }

    public Answer evaluate(Detail detail) {
        boolean full = detail == Detail.FULL;
        ObjectNode root = PolicyDocuments.JSON.createObjectNode();
        ArrayNode checks = PolicyDocuments.JSON.createArrayNode();
        StoreStatus status = store.status();
        boolean ready = policyCheck(checks.addObject(), status, full);
        backendsCheck(checks.addObject(), full);
        etcdCheck(checks, status, full);
        ready &= camelChecks(checks, full);
        for (Supplier<Check> supplier : extraChecks) {
            Check check = supplier.get();
            ObjectNode node = checks.addObject().put("name", check.name()).put("status", check.up() ? "UP" : "DOWN");
            node.set("data", PolicyDocuments.JSON.valueToTree(full ? check.details() : check.summary()));
            ready &= check.up();
        }
        root.put("status", ready ? "UP" : "DOWN");
        root.set("checks", checks);
        return new Answer(ready, root.toString());
    }

    private boolean policyCheck(ObjectNode check, StoreStatus status, boolean full) {
        check.put("name", "policy-store");
        ObjectNode data = PolicyDocuments.JSON.createObjectNode();
        data.put("store", status.kind());
        data.put("connected", status.connected());
        if (full) {
            data.put("detail", status.detail());
            data.setAll(facts(status));
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
            if (full) {
                ObjectNode rejected = data.putObject("rejected");
                view.rejected().forEach(rejected::put);
            } else {
                ArrayNode rejected = data.putArray("rejected"); // document ids only: a reason may quote the document
                view.rejected().keySet().stream().sorted().forEach(rejected::add);
            }
            if (view.models().isEmpty()) {
                data.put("reason", "the policy has no models");
            }
        } else if (!data.has("reason")) { // a store may say itself why nothing is loaded
            // with no store at all, why is configuration advice (variable names), fit for the public answer too
            data.put("reason", status.facts() instanceof StoreStatus.UnconfiguredFacts none ? none.reason()
                    : "no policy loaded yet");
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
    private static void etcdCheck(ArrayNode checks, StoreStatus status, boolean full) {
        if (!ETCD.equals(status.kind())) {
            return;
        }
        ObjectNode data = checks.addObject().put("name", ETCD).put("status", "UP").putObject("data");
        data.put("connected", status.connected());
        if (full) {
            data.put("detail", status.detail());
            data.setAll(facts(status));
        }
    }

    /** The store's facts as fields, in their declared order; absent ones left out. */
    private static ObjectNode facts(StoreStatus status) {
        return PolicyDocuments.JSON.valueToTree(status.facts());
    }

    /** Per model: healthy and total backends, and the unhealthy ones, by URL or (summary) by index in the policy. */
    private void backendsCheck(ObjectNode check, boolean full) {
        check.put("name", "backends").put("status", "UP");
        ObjectNode data = check.putObject("data");
        store.current().ifPresent(view -> {
            Map<String, BackendView> loads = fleet.view();
            for (ModelPolicy policy : view.models().values()) {
                List<Backend> list = policy.backends();
                ObjectNode model = data.putObject(policy.name());
                model.put("healthy", list.stream().filter(backends::isHealthy).count()).put("total", list.size());
                ArrayNode unhealthy = model.putArray("unhealthy");
                ArrayNode ejected = model.putArray("ejected");
                ObjectNode load = full ? model.putObject("load") : null;
                for (int i = 0; i < list.size(); i++) {
                    Backend backend = list.get(i);
                    if (!backends.isHealthy(backend)) {
                        addBackend(unhealthy, backend, i, full);
                    }
                    BackendView state = loads.get(backend.url());
                    if (state != null && !"serving".equals(state.state())) {
                        addBackend(ejected, backend, i, full);
                    }
                    if (load != null && state != null) {
                        load.set(backend.url(), FleetJson.of(state));
                    }
                }
            }
        });
    }

    /** A backend named by URL in a full answer, by its index in the model's list in a summary. */
    private static void addBackend(ArrayNode list, Backend backend, int index, boolean full) {
        if (full) {
            list.add(backend.url());
        } else {
            list.add(index);
        }
    }

    /** Camel's context, routes and consumers; the summary gives each one's state only (messages name endpoints). */
    private boolean camelChecks(ArrayNode checks, boolean full) {
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
            ObjectNode data = checks.addObject().put("name", "camel-checks").put("status", "UP").putObject("data");
            data.put("note", full ? "not evaluated this time: " + e : "not evaluated this time");
            return true;
        }
        for (HealthCheck.Result result : results) {
            boolean checkUp = result.getState() != HealthCheck.State.DOWN;
            up &= checkUp;
            ObjectNode check = checks.addObject().put("name", result.getCheck().getId())
                    .put("status", checkUp ? "UP" : "DOWN");
            ObjectNode data = check.putObject("data");
            if (full) {
                result.getMessage().ifPresent(m -> data.put("message", m));
                result.getDetails().forEach((k, v) -> {
                    if (v instanceof Number || v instanceof Boolean || v instanceof CharSequence) {
                        data.putPOJO(k, v);
                    }
                });
            }
        }
        return up;
    }
}
