package dev.apirouter.steps;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import dev.apirouter.call.GatewayCall;
import dev.apirouter.call.TokenUsage;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.forward.ForwardObserver;
import dev.apirouter.forward.StreamingForwarder;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.Timeouts;
import dev.apirouter.routing.Decision;
import dev.apirouter.routing.InferenceRequest;
import dev.apirouter.routing.Reason;
import dev.apirouter.telemetry.UpstreamTracing;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The step on a bare exchange (no route, no running Camel) with a real forwarder: a loopback front server plays the
 * HTTP layer, handing each request's call to the step.
 */
class BackendDispatchTest {
    private static final byte[] BODY = Fixtures.utf8("{\"model\":\"m\"}");
    private static Vertx vertx;
    private static StreamingForwarder forwarder;
    private static HttpServer backend;
    private static HttpClient client;

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        forwarder = new StreamingForwarder(vertx, 8, new ForwardObserver() {
        }, false);
        backend = listen(req -> req.response().setStatusCode(201).end("{\"ok\":true}"));
        client = vertx.createHttpClient();
    }

    @AfterAll
    static void stop() throws Exception {
        forwarder.close();
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static HttpServer listen(io.vertx.core.Handler<HttpServerRequest> handler) throws Exception {
        return vertx.createHttpServer().requestHandler(handler).listen(0, "127.0.0.1")
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    /** Runs the step for one client request through a front server; returns the exchange once the step is done. */
    private static Exchange dispatch(List<Backend> candidates) throws Exception {
        return dispatch(candidates, BODY, false, new CompletableFuture<>());
    }

    /** @param received completed with what the client received */
    private static Exchange dispatch(List<Backend> candidates, byte[] body, boolean requireUsage,
                                     CompletableFuture<String> received) throws Exception {
        CompletableFuture<Exchange> done = new CompletableFuture<>();
        BackendDispatch step = new BackendDispatch(forwarder, UpstreamTracing.OFF, Fixtures.router(), Fixtures.rateLimit());
        HttpServer front = listen(req -> {
            Exchange exchange = Fixtures.exchange();
            GatewayCall call = new GatewayCall("rid", req.response(), vertx.getOrCreateContext());
            call.attachTo(exchange);
            call.enriched(InferenceRequest.parse(body), body, new ModelPolicy("m", Optional.empty(), candidates,
                    Timeouts.DEFAULTS), new Decision(candidates, Reason.WEIGHTED), body);
            if (requireUsage) {
                call.requireUsage();
            }
            exchange.getMessage().setHeader(Exchange.HTTP_PATH, "/v1/chat/completions");
            step.process(exchange, doneSync -> {
                if (!call.responseStreamed()) {
                    req.response().setStatusCode(599).end(); // the HTTP layer's part: answer what was not streamed
                }
                done.complete(exchange);
            });
        });
        try {
            received.complete(client.request(HttpMethod.POST, front.actualPort(), "127.0.0.1", "/").compose(r -> r.send())
                    .compose(r -> r.body()).toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS).toString());
            return done.get(10, TimeUnit.SECONDS);
        } finally {
            front.close();
        }
    }

    @Test
    void aBackendsAnswerIsStreamedAndRecordedOnTheCall() throws Exception {
        Backend b = new Backend("http://127.0.0.1:" + backend.actualPort(), 1);
        Exchange exchange = dispatch(List.of(b));
        GatewayCall call = GatewayCall.of(exchange);
        assertNull(exchange.getException());
        assertTrue(call.responseStreamed(), "the forwarder wrote the response");
        assertEquals(b, call.chosenBackend());
        assertEquals(201, call.answer().status());
        assertEquals(201, exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE));
    }

    /**
     * Like vLLM: a stream of one token, ended by a usage-only chunk when the body asks for it (the client asked for
     * none: the gateway did).
     */
    @Test
    void aRequiredUsageIsReadFromAStreamWhoseClientSeesNoUsageChunk() throws Exception {
        String token = "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hé\"}}]}\n\n";
        String usage = "data: {\"id\":\"c\",\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":7,"
                + "\"total_tokens\":8,\"completion_tokens\":1}}\n\n";
        CompletableFuture<String> sent = new CompletableFuture<>();
        HttpServer vllm = listen(req -> req.body().onSuccess(body -> {
            sent.complete(body.toString());
            HttpServerResponse response = req.response().setChunked(true).putHeader("content-type", "text/event-stream");
            response.write(token);
            if (body.toString().contains("\"include_usage\":true")) {
                response.write(usage);
            }
            response.end("data: [DONE]\n\n");
        }));
        try {
            Backend b = new Backend("http://127.0.0.1:" + vllm.actualPort(), 1);
            byte[] body = Fixtures.utf8("{\"model\":\"m\",\"stream\":true}");
            CompletableFuture<String> received = new CompletableFuture<>();
            GatewayCall call = GatewayCall.of(dispatch(List.of(b), body, true, received));
            assertEquals("{\"stream_options\":{\"include_usage\":true},\"model\":\"m\",\"stream\":true}", sent.get());
            assertEquals(token + "data: [DONE]\n\n", received.get());
            assertEquals(new TokenUsage(7, 1), call.answer().usage());

            CompletableFuture<String> asked = new CompletableFuture<>();
            byte[] askedForUsage = Fixtures.utf8("{\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
            call = GatewayCall.of(dispatch(List.of(b), askedForUsage, true, asked));
            assertEquals(token + usage + "data: [DONE]\n\n", asked.get(), "the client asked for it: it gets it");
            assertEquals(new TokenUsage(7, 1), call.answer().usage());

            CompletableFuture<String> notRequired = new CompletableFuture<>();
            call = GatewayCall.of(dispatch(List.of(b), body, false, notRequired));
            assertEquals(token + "data: [DONE]\n\n", notRequired.get());
            assertNull(call.answer().usage(), "without requireUsage the body goes as it is");
        } finally {
            vllm.close();
        }
    }

    @Test
    void noBackendAnsweringFailsTheExchangeAndLeavesTheResponseToTheRoute() throws Exception {
        int closed;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closed = socket.getLocalPort();
        }
        Exchange exchange = dispatch(List.of(new Backend("http://127.0.0.1:" + closed, 1)));
        GatewayException e = assertInstanceOf(GatewayException.class, exchange.getException());
        assertEquals(ErrorCode.UPSTREAM_UNAVAILABLE, e.code());
        assertFalse(GatewayCall.of(exchange).responseStreamed());
    }

    @Test
    void aMalformedQueryIsRefusedBeforeAnythingIsSent() {
        Exchange exchange = Fixtures.exchange();
        GatewayCall.of(exchange).enriched(InferenceRequest.parse(BODY), BODY, new ModelPolicy("m", Optional.empty(),
                List.of(new Backend("http://127.0.0.1:1", 1)), Timeouts.DEFAULTS), new Decision(List.of(), Reason.WEIGHTED),
                BODY);
        exchange.getMessage().setHeader(Exchange.HTTP_PATH, "/v1/chat/completions");
        exchange.getMessage().setHeader(Exchange.HTTP_QUERY, "a=%zz");
        boolean sync = new BackendDispatch(forwarder, UpstreamTracing.OFF, Fixtures.router(), Fixtures.rateLimit()).process(exchange, doneSync -> {
        });
        assertTrue(sync);
        assertEquals(ErrorCode.INVALID_REQUEST, assertInstanceOf(GatewayException.class, exchange.getException()).code());
    }
}
