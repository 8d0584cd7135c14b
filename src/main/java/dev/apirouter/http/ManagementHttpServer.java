package dev.apirouter.http;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import dev.apirouter.call.HeaderNames;
import dev.apirouter.auth.AdminToken;
import dev.apirouter.config.Settings;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The management server, on a port of its own ({@code ROUTER_MANAGEMENT_PORT}), for operators and Prometheus, not
 * clients: metrics, the full readiness, and the admin endpoints. One Vert.x server with plain GET handlers; it
 * answers liveness too, and unknown paths and wrong methods in the contract's JSON error shape. Admin endpoints
 * need the admin token and are closed without one.
 */
public final class ManagementHttpServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ManagementHttpServer.class);
    public static final String METRICS_PATH = "/metrics";
    public static final String POLICY_STATUS_PATH = "/v1/status/policy";
    public static final String USAGE_STATUS_PATH = "/v1/status/usage";
    public static final String FLEET_STATUS_PATH = "/v1/status/fleet";
    static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(1);
    /** Largest body of an admin call: a model policy or a key record is a few KiB. */
    public static final int MAX_ADMIN_BODY = 1024 * 1024;

    private final Vertx vertx;
    private final Settings.Management settings;
    private final Settings.Clients clients;
    private final AdminToken adminToken;
    private final Router router;
    private volatile HttpServer server;
    private volatile ClientConnections connections;

    /**
     * @param clients the client deadlines and connection limit of the public port, applied here too (a silent or
     *                trickling client is answered 408 and closed, as there): this port answers the probes and the
     *                metrics scrapes, and must not be held open by anyone
     */
    public ManagementHttpServer(Vertx vertx, Settings.Management settings, Settings.Clients clients,
                                AdminToken adminToken) {
        this.vertx = vertx;
        this.settings = settings;
        this.clients = clients;
        this.adminToken = adminToken;
        this.router = Router.router(vertx);
        router.get(GatewayHttpServer.HEALTHZ_PATH).handler(ctx -> ctx.response()
                .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                .end("{\"status\":\"UP\"}"));
        router.errorHandler(404, ctx -> fail(ctx, ErrorCode.NOT_FOUND, "Unknown path: " + ctx.request().path()));
        router.errorHandler(405, ctx -> fail(ctx, ErrorCode.METHOD_NOT_ALLOWED,
                "Method " + ctx.request().method() + " is not allowed on " + ctx.request().path() + "."));
        router.errorHandler(413, ctx -> fail(ctx, ErrorCode.REQUEST_TOO_LARGE,
                "The body is over " + MAX_ADMIN_BODY + " bytes."));
        router.errorHandler(500, ctx -> {
            if (ctx.failure() instanceof GatewayException e) { // an admin call refused: its own status
                fail(ctx, e.code(), e.getMessage());
                return;
            }
            LOG.error("Handling {} {} on the management port failed", ctx.request().method(), ctx.request().path(),
                    ctx.failure());
            fail(ctx, ErrorCode.INTERNAL_ERROR, "The gateway failed to handle the request.");
        });
    }

    /** Adds an open GET endpoint (metrics, readiness). */
    public void endpoint(String path, Handler<RoutingContext> handler) {
        router.get(path).handler(handler);
    }

    /**
     * Adds a GET endpoint behind the admin token: {@code 403 admin_disabled} while none is configured,
     * {@code 401 unauthorized} without the right one.
     */
    public void adminEndpoint(String path, Handler<RoutingContext> handler) {
        router.get(path).handler(this::authorize).handler(handler);
    }

    /**
     * Adds an admin call of any method, behind the admin token, its body (at most {@link #MAX_ADMIN_BODY} bytes,
     * else {@code 413}) read before {@code handler} runs on a worker thread: admin calls may wait on the store.
     */
    public void adminCall(HttpMethod method, String path, Handler<RoutingContext> handler) {
        router.route(method, path).handler(BodyHandler.create(false).setBodyLimit(MAX_ADMIN_BODY))
                .handler(this::authorize).blockingHandler(handler, false);
    }

    private void authorize(RoutingContext ctx) {
        try {
            adminToken.authorize(ctx.request().getHeader(HttpHeaders.AUTHORIZATION));
        } catch (GatewayException e) {
            if (e.code() == ErrorCode.UNAUTHORIZED) {
                ctx.response().putHeader("WWW-Authenticate", "Bearer");
            }
            fail(ctx, e.code(), e.getMessage());
            return;
        }
        ctx.next();
    }

    /** Starts listening; returns the bound port. Bounded: fails after {@code timeout}. */
    public int start(Duration timeout) throws Exception {
        HttpServerOptions options = new HttpServerOptions()
                .setHost(settings.host())
                .setPort(settings.port())
                .setCompressionSupported(false)
                // HTTP/1.1 only: with h2c on, Vert.x makes no connection (so no guard) until the first bytes decide
                .setHttp2ClearTextEnabled(false);
        connections = new ClientConnections(clients, options);
        server = vertx.createHttpServer(options).connectionHandler(connections::accept).requestHandler(request -> {
            if (PercentEncoding.valid(request.uri())) {
                router.handle(request);
            } else {
                ErrorResponses.send(request, RequestIds.from(request.getHeader(HeaderNames.REQUEST_ID)),
                        ErrorCode.INVALID_REQUEST, PercentEncoding.MESSAGE);
            }
        }).listen()
                .toCompletionStage().toCompletableFuture().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        return server.actualPort();
    }

    /** Stops listening and closes open connections, within {@link #CLOSE_TIMEOUT}. */
    @Override
    public void close() {
        HttpServer s = server;
        if (s == null) {
            return;
        }
        connections.close();
        try {
            s.close().toCompletionStage().toCompletableFuture().get(CLOSE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            // closing is best effort: the process is going away
        }
    }

    private static void fail(RoutingContext ctx, ErrorCode code, String message) {
        ErrorResponses.send(ctx.request(), RequestIds.from(ctx.request().getHeader(HeaderNames.REQUEST_ID)),
                code, message);
    }
}
