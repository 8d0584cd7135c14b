package dev.apirouter.reload;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

import dev.apirouter.config.Settings;
import dev.apirouter.http.GatewayHttpServer;
import dev.apirouter.http.HeadCheck;
import dev.apirouter.http.InflightLimiter;
import dev.apirouter.http.RequestObserver;
import io.vertx.core.Vertx;
import org.apache.camel.CamelContext;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.impl.DefaultCamelContext;

/**
 * The gateway's HTTP server and platform-http engine with a CamelContext in this JVM, a built-in Java route
 * ({@code direct:step}, id {@code step}) and a {@link RouteReloader} on a directory: the reload machinery without
 * the policy store and the forwarder.
 */
final class TestGateway implements AutoCloseable {
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    final Vertx vertx;
    final GatewayHttpServer server;
    final CamelContext camel;
    final RouteReloader reloader;
    final int port;

    private TestGateway(Vertx vertx, GatewayHttpServer server, CamelContext camel, RouteReloader reloader, int port) {
        this.vertx = vertx;
        this.server = server;
        this.camel = camel;
        this.reloader = reloader;
        this.port = port;
    }

    static TestGateway start(Path routesDir, Duration poll) throws Exception {
        Vertx vertx = Vertx.vertx();
        GatewayHttpServer server = new GatewayHttpServer(vertx, new Settings.Http("127.0.0.1", 0, 1 << 20, 1 << 20, 1000,
                new Settings.Clients(1000, 16 << 20, Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(75)),
                false));
        int port = server.start(Duration.ofSeconds(10));
        CamelContext camel = new DefaultCamelContext();
        server.bindTo(camel.getRegistry()::bind, new InflightLimiter(1000), HeadCheck.NONE, RequestObserver.NONE);
        for (String step : new String[] {"auth-validate", "policy-enrich", "rate-limit", "backend-dispatch", "models-list",
                "model-retrieve", "response-pin"}) {
            // the packaged routes' steps (steps.GatewaySteps), here only marking that they ran
            camel.getRegistry().bind(step, (org.apache.camel.Processor) e -> e.getMessage().setHeader("x-" + step, "done"));
        }
        camel.addRoutes(new RouteBuilder() {
            @Override
            public void configure() {
                from("direct:step").routeId("step").setHeader("x-step", constant("done"));
            }
        });
        camel.start();
        RouteReloader reloader = routesDir == null ? RouteReloader.packaged(RouteReloader.PACKAGED_ROUTES)
                : RouteReloader.watching(routesDir, poll);
        reloader.start(camel);
        return new TestGateway(vertx, server, camel, reloader, port);
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> post(String path, String body) throws IOException, InterruptedException {
        return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(10)).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** Polls {@code path} (bounded) until the response matches; returns the milliseconds it took, or -1. */
    long await(String path, Predicate<HttpResponse<String>> match, Duration timeout) throws Exception {
        long t0 = System.nanoTime();
        try {
            org.awaitility.Awaitility.await(path).atMost(timeout).pollDelay(Duration.ZERO)
                    .pollInterval(Duration.ofMillis(10)).until(() -> match.test(get(path)));
        } catch (org.awaitility.core.ConditionTimeoutException e) {
            return -1;
        }
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
    }

    @Override
    public void close() throws Exception {
        reloader.close();
        camel.close();
        server.close();
        vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }
}
