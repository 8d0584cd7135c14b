package dev.apirouter.admin;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.config.Settings;
import dev.apirouter.error.ErrorBody;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.http.ManagementHttpServer;
import dev.apirouter.metrics.KeyUsage;
import dev.apirouter.policy.PolicyStore;
import dev.apirouter.registry.ReplicaRegistry;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.RoutingContext;

/**
 * The operators' admin API on the management port ({@code docs/admin-api.md}): keys, models, usage and live figures,
 * behind the admin token. Calls run on worker threads (they wait on etcd, bounded by its deadlines); each change is
 * audited once it is made, and with {@code ?wait=true} answered when the fleet has applied it.
 */
public final class AdminApi implements AutoCloseable {
    public static final String BASE = "/v1/admin";
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h)");
    private static final String JSON = "application/json";

    private final AdminStore store;
    private final KeysApi keys;
    private final ModelsApi models;
    private final KeyUsage usage;
    private final Supplier<ObjectNode> stats;
    private final FleetConfirm fleet;
    private final Audit audit;
    private final String replicaId;

    /**
     * @param stats     the live figures ({@code GET /v1/admin/stats}), empty when metrics are off
     * @param registry  the replica registry once started (etcd store only), else null
     * @param replicaId this replica's id, named in usage answers
     */
    public AdminApi(PolicyStore policyStore, Settings settings, KeyUsage usage, Supplier<Optional<ObjectNode>> stats,
                    Supplier<ReplicaRegistry> registry, String replicaId, Clock clock) {
        this(settings.store().usesEtcd() ? new EtcdAdminStore(settings.store())
                : new ViewAdminStore(policyStore, settings.store()), usage, () -> stats.get().orElseThrow(() ->
                new GatewayException(ErrorCode.NOT_FOUND, "Metrics are off (ROUTER_METRICS_ENABLED=false): no live"
                        + " figures.")), new FleetConfirm(registry), new Audit(settings.adminTokenLabel()), replicaId,
                clock);
    }

    AdminApi(AdminStore store, KeyUsage usage, Supplier<ObjectNode> stats, FleetConfirm fleet, Audit audit,
             String replicaId, Clock clock) {
        this.store = store;
        this.keys = new KeysApi(store, usage, clock);
        this.models = new ModelsApi(store);
        this.usage = usage;
        this.stats = stats;
        this.fleet = fleet;
        this.audit = audit;
        this.replicaId = replicaId;
    }

    /** Adds every call to the management server. */
    public void register(ManagementHttpServer management) {
        String keysPath = BASE + "/keys";
        management.adminCall(HttpMethod.GET, keysPath, ctx -> json(ctx, 200, keys.list()));
        management.adminCall(HttpMethod.POST, keysPath, ctx -> changed(ctx, () -> keys.create(body(ctx))));
        management.adminCall(HttpMethod.GET, keysPath + "/:name", ctx -> json(ctx, 200, keys.get(target(ctx))));
        management.adminCall(HttpMethod.PATCH, keysPath + "/:name",
                ctx -> changed(ctx, () -> keys.update(target(ctx), body(ctx))));
        management.adminCall(HttpMethod.DELETE, keysPath + "/:name",
                ctx -> changed(ctx, () -> keys.revoke(target(ctx))));
        management.adminCall(HttpMethod.POST, keysPath + "/:name/disable",
                ctx -> changed(ctx, () -> keys.setDisabled(target(ctx), true)));
        management.adminCall(HttpMethod.POST, keysPath + "/:name/enable",
                ctx -> changed(ctx, () -> keys.setDisabled(target(ctx), false)));
        management.adminCall(HttpMethod.POST, keysPath + "/:name/rotate",
                ctx -> changed(ctx, () -> keys.rotate(target(ctx), body(ctx))));

        String modelsPath = BASE + "/models";
        management.adminCall(HttpMethod.GET, modelsPath, ctx -> json(ctx, 200, models.list()));
        // model names may hold '/' (meta-llama/Llama-3.1-8B): the rest of the path is the name
        management.adminCall(HttpMethod.GET, modelsPath + "/*", ctx -> json(ctx, 200, models.get(modelName(ctx))));
        management.adminCall(HttpMethod.PUT, modelsPath + "/*",
                ctx -> changed(ctx, () -> models.put(modelName(ctx), body(ctx))));
        management.adminCall(HttpMethod.DELETE, modelsPath + "/*",
                ctx -> changed(ctx, () -> models.delete(modelName(ctx))));
        management.adminCall(HttpMethod.POST, modelsPath + "/*", this::validate);

        management.adminCall(HttpMethod.GET, BASE + "/usage", this::usage);
        management.adminCall(HttpMethod.GET, BASE + "/stats", ctx -> json(ctx, 200, stats.get()));
    }

    private void validate(RoutingContext ctx) {
        String name = modelName(ctx);
        if (!name.endsWith("/validate")) {
            throw new GatewayException(ErrorCode.METHOD_NOT_ALLOWED, "Method POST is not allowed on "
                    + ctx.request().path() + ": POST " + BASE + "/models/{model}/validate checks a policy.");
        }
        json(ctx, 200, models.validate(name.substring(0, name.length() - "/validate".length()), body(ctx)));
    }

    private void usage(RoutingContext ctx) {
        String raw = ctx.request().getParam("window");
        Duration window = raw == null || raw.isBlank() ? Duration.ofHours(1) : duration(raw.trim(), "window");
        if (window.compareTo(Duration.ofMinutes(1)) < 0 || window.compareTo(Duration.ofHours(24)) > 0) {
            throw KeysApi.invalid("'window' must be from 1m to 24h (minutes up to 60m, then whole hours).");
        }
        ObjectNode answer = AdminJson.JSON.createObjectNode().put("window", raw == null ? "1h" : raw.trim())
                .put("replica", replicaId);
        answer.setAll(usage.window(window));
        json(ctx, 200, answer);
    }

    /**
     * Makes a change, audits it, waits for the fleet when asked, and answers. {@code wait} and {@code timeout} are
     * checked before anything is written. When the wait ends in an error (504 {@code fleet_timeout}), the change is
     * made all the same: the error carries the change's answer under {@code change} (a created or rotated key is
     * shown there, and only there).
     */
    private void changed(RoutingContext ctx, Supplier<Outcome> change) {
        Optional<Duration> wait = waitFor(ctx);
        Outcome outcome = change.get();
        audit.changed(outcome);
        if (wait.isPresent()) {
            try {
                fleet.await(outcome.revision(), System.nanoTime(), wait.get(), outcome.body());
            } catch (GatewayException e) {
                ObjectNode error = (ObjectNode) AdminJson.parse(
                        new String(ErrorBody.of(e.code(), e.getMessage()), StandardCharsets.UTF_8));
                error.set("change", outcome.body());
                json(ctx, e.code().status(), error);
                return;
            }
        }
        json(ctx, outcome.status(), outcome.body());
    }

    /** {@code ?wait=true[&timeout=30s]}: how long to wait for the fleet; empty without {@code wait=true}. */
    private Optional<Duration> waitFor(RoutingContext ctx) {
        String wait = ctx.request().getParam("wait");
        if (wait == null || wait.equals("false")) {
            return Optional.empty();
        }
        if (!wait.equals("true")) {
            throw KeysApi.invalid("'wait' is true or false.");
        }
        if (!store.confirmsChanges()) {
            throw KeysApi.invalid("'wait' needs the etcd store: there is no replica registry.");
        }
        return Optional.of(FleetConfirm.timeout(ctx.request().getParam("timeout")));
    }

    private static KeysApi.Target target(RoutingContext ctx) {
        String hash = ctx.request().getParam("hash");
        return new KeysApi.Target(ctx.pathParam("name"),
                Optional.ofNullable(hash).map(String::trim).filter(h -> !h.isEmpty()));
    }

    /** The rest of the path after {@code /v1/admin/models/}, percent-decoded ({@code %2F} for '/' works too). */
    private static String modelName(RoutingContext ctx) {
        String raw = ctx.request().path().substring((BASE + "/models/").length());
        try {
            return URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw KeysApi.invalid("The model name in the path is not valid percent-encoding.");
        }
    }

    private static JsonNode body(RoutingContext ctx) {
        return AdminJson.parse(ctx.body().asString());
    }

    private static void json(RoutingContext ctx, int status, ObjectNode body) {
        ctx.response().setStatusCode(status).putHeader(HttpHeaders.CONTENT_TYPE, JSON)
                .putHeader(HttpHeaders.CACHE_CONTROL, "no-store").end(body.toString());
    }

    /** {@code 500ms}, {@code 30s}, {@code 5m}, {@code 1h}. */
    static Duration duration(String raw, String what) {
        Matcher m = DURATION.matcher(raw);
        if (!m.matches()) {
            throw KeysApi.invalid("'" + what + "' must be a number with a unit: ms, s, m or h (e.g. 30s, 1h).");
        }
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
    }

    @Override
    public void close() {
        if (store instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                // best effort at shutdown
            }
        }
    }
}
