package dev.apirouter.http;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.BooleanSupplier;

import dev.apirouter.call.HeaderNames;
import dev.apirouter.config.Settings;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.RepeatingLog;
import io.vertx.core.AbstractVerticle;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.ext.web.Route;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.component.platform.http.PlatformHttpConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpRouter;

/**
 * The gateway's HTTP server. It listens before the Camel context starts, so liveness answers at once; the status
 * endpoints are plain Vert.x handlers, and every other path goes to the router the {@code platform-http:} routes
 * register on. Errors found by Vert.x itself (unknown path, wrong method, body too large, malformed request) get
 * the contract's JSON error shape.
 */
public final class GatewayHttpServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(GatewayHttpServer.class);
    public static final String HEALTHZ_PATH = "/v1/status/healthz";
    public static final String READYZ_PATH = "/v1/status/readyz";
    static final String ROUTER_NAME = "platform-http-router-api-router";
    /** Longest request line (method, target, version); a longer one is answered 414. */
    static final int MAX_REQUEST_LINE_BYTES = 16 * 1024;
    /**
     * Largest piece of a request body handed over at once (Vert.x: 8 KiB): an upload streamed to a backend costs a
     * write per piece, so 64 KiB pieces send it with an eighth of the writes.
     */
    static final int MAX_CHUNK_BYTES = 64 * 1024;
    /** Failures of the gateway itself: logged with their cause, and summarised when they repeat. */
    private static final RepeatingLog FAILURES = new RepeatingLog(LOG, java.time.Duration.ofSeconds(10));

    private final Vertx vertx;
    private final Settings.Http settings;
    private final Router root;
    private final List<HttpServer> servers = new CopyOnWriteArrayList<>();
    private final BodyBudget bodyBudget;
    private volatile ClientConnections connections;
    private volatile BooleanSupplier routesStarted = () -> true;

    public GatewayHttpServer(Vertx vertx, Settings.Http settings) {
        this.vertx = vertx;
        this.settings = settings;
        this.root = Router.router(vertx);
        this.bodyBudget = new BodyBudget(settings.clients().maxBufferedBodyBytes());
        statusEndpoint(HEALTHZ_PATH, ctx -> ctx.response()
                .putHeader(HttpHeaders.CONTENT_TYPE, "application/json")
                .end("{\"status\":\"UP\"}"));
        root.errorHandler(404, ctx -> {
            if (routesStarted.getAsBoolean()) {
                fail(ctx, ErrorCode.NOT_FOUND, "Unknown path: " + ctx.request().path());
            } else {
                fail(ctx, ErrorCode.STARTING, "The gateway is starting; retry shortly.");
            }
        });
        root.errorHandler(405, ctx -> {
            ctx.response().putHeader(HttpHeaders.ALLOW, allowedMethods(ctx.normalizedPath()));
            fail(ctx, ErrorCode.METHOD_NOT_ALLOWED,
                    "Method " + ctx.request().method() + " is not allowed on " + ctx.normalizedPath() + ".");
        });
        root.errorHandler(413, ctx -> fail(ctx, ErrorCode.REQUEST_TOO_LARGE,
                "The request body is larger than the limit of " + settings.maxBodyBytes() + " bytes."));
        root.errorHandler(400, ctx -> fail(ctx, ErrorCode.INVALID_REQUEST, "The request is malformed."));
        // a route that declares what it consumes (the upload routes: multipart/form-data) gets nothing else
        root.errorHandler(415, ctx -> fail(ctx, ErrorCode.INVALID_REQUEST, "This endpoint does not take Content-Type '"
                + ctx.request().getHeader(HttpHeaders.CONTENT_TYPE) + "'; it takes multipart/form-data."));
        root.errorHandler(500, ctx -> {
            FAILURES.error("Handling " + ctx.request().method() + " " + ctx.normalizedPath() + " failed", ctx.failure());
            fail(ctx, ErrorCode.INTERNAL_ERROR, "The gateway failed to handle the request.");
        });
    }

    /** Until {@code started} says so, unknown paths answer 503 {@code starting} rather than 404. */
    public void routesStartedWhen(BooleanSupplier started) {
        this.routesStarted = started;
    }

    /**
     * Adds a GET (and HEAD) status endpoint answered by Vert.x directly, available before the Camel routes start.
     * Vert.x leaves the body out of an answer to HEAD.
     */
    public void statusEndpoint(String path, Handler<RoutingContext> handler) {
        root.route(path).method(HttpMethod.GET).method(HttpMethod.HEAD).handler(handler);
    }

    /** The methods routed on {@code path}, for the {@code Allow} header of a 405. */
    private String allowedMethods(String path) {
        Set<String> methods = new TreeSet<>();
        for (Route route : root.getRoutes()) {
            if (path.equals(route.getPath()) && route.methods() != null) {
                route.methods().forEach(m -> methods.add(m.name()));
            }
        }
        return String.join(", ", methods);
    }

    /** Request body bytes held in memory now, by all requests together. */
    public long bufferedBodyBytes() {
        return bodyBudget.reserved();
    }

    /** Client connections open now. */
    public int openConnections() {
        ClientConnections c = connections;
        return c == null ? 0 : c.open();
    }

    /**
     * Makes the server the one {@code platform-http:} routes register on, through the given engine. Every such route
     * starts with the {@link AdmissionHandler}: {@code check} and the limits decide on the request's head, before
     * its body is read.
     */
    public void bindTo(BiConsumer<String, Object> registry, InflightLimiter limiter, HeadCheck check,
                       RequestObserver observer) {
        long maxBody = settings.maxBodyBytes();
        long maxUpload = settings.maxUploadBytes();
        registry.accept(ROUTER_NAME, new VertxPlatformHttpRouter(null, vertx, root, ROUTER_NAME) {
            @Override
            public Handler<RoutingContext> bodyHandler() {
                return new AdmissionHandler(limiter, bodyBudget, maxBody, maxUpload, check);
            }
        });
        registry.accept(PlatformHttpConstants.PLATFORM_HTTP_ENGINE_NAME, new StreamingHttpEngine(ROUTER_NAME, observer));
        // endpoints that let a reloaded route's new generation start beside the old one (see RouteReloader)
        registry.accept(MultiConsumerPlatformHttpComponent.NAME, new MultiConsumerPlatformHttpComponent());
    }

    /**
     * Starts listening with one server per CPU core, each on its own event loop (Vert.x spreads the connections over
     * them), so that every core serves clients; returns the bound port. Bounded: fails after {@code timeout}.
     */
    public int start(Duration timeout) throws Exception {
        HttpServerOptions options = serverOptions();
        connections = new ClientConnections(settings.clients(), options);
        long deadline = System.nanoTime() + timeout.toNanos();
        int port = listen(options, deadline);
        // Vert.x shares a port among servers that ask for the same one; servers asking for port 0 (a random port,
        // tests only) would each get their own, so that case keeps one server
        int servers = settings.port() == 0 ? 1 : eventLoops();
        for (int i = 1; i < servers; i++) {
            listen(options, deadline);
        }
        return port;
    }

    /**
     * HTTP/1.1, with HTTP/2 over cleartext only when asked for (and then by prior knowledge only: {@link ClientGuard}
     * removes {@code Upgrade: h2c}). Client deadlines are {@link ClientGuard}'s, not Vert.x's idle timeout, which
     * would also cut a request waiting for its backend.
     */
    private HttpServerOptions serverOptions() {
        return new HttpServerOptions()
                .setHost(settings.host())
                .setPort(settings.port())
                .setTcpNoDelay(true)
                .setCompressionSupported(false)
                .setHttp2ClearTextEnabled(settings.h2c())
                .setMaxInitialLineLength(MAX_REQUEST_LINE_BYTES)
                .setMaxChunkSize(MAX_CHUNK_BYTES)
                .setIdleTimeout(0);
    }

    private static int eventLoops() {
        return Math.max(1, Runtime.getRuntime().availableProcessors());
    }

    /** One server in a verticle of its own: a deployment gets the next event loop. */
    private int listen(HttpServerOptions options, long deadlineNanos) throws Exception {
        Promise<HttpServer> listening = Promise.promise();
        vertx.deployVerticle(new AbstractVerticle() {
            @Override
            public void start(Promise<Void> started) {
                vertx.createHttpServer(options)
                        .connectionHandler(connections::accept)
                        .exceptionHandler(t -> LOG.debug("Client connection failed: {}", t.toString()))
                        .requestHandler(root)
                        .listen()
                        .onComplete(listening)
                        .<Void>mapEmpty().onComplete(started);
            }
        });
        HttpServer server = listening.future().toCompletionStage().toCompletableFuture()
                .get(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
        servers.add(server);
        return server.actualPort();
    }

    /** Stops accepting connections (bounded); open connections are closed. */
    @Override
    public void close() {
        if (connections != null) {
            connections.close();
        }
        try {
            Future.join(servers.stream().map(HttpServer::close).toList())
                    .toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            // closing is best effort: the process is going away
        }
    }

    /**
     * Answers an error found by Vert.x itself, after or instead of a route (a query it cannot decode, a retired
     * route): a request admitted before it gives back what it held, since no route will.
     */
    private static void fail(RoutingContext ctx, ErrorCode code, String message) {
        Admission admission = ctx.get(AdmissionHandler.KEY);
        if (admission != null) {
            admission.release();
        }
        ErrorResponses.send(ctx.request(), RequestIds.from(ctx.request().getHeader(HeaderNames.REQUEST_ID)),
                code, message);
    }
}
