package dev.apirouter.forward;

import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import dev.apirouter.call.ForwardResult;
import dev.apirouter.call.TokenUsage;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.Routing;
import dev.apirouter.policy.Timeouts;
import dev.apirouter.upload.FormUpload;
import dev.apirouter.upload.HeldBytes;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The forwarder between a real client and a real backend, all on loopback in one Vert.x instance: a front server
 * forwards each request it gets (as the gateway's {@code backend-dispatch} step does) to the backends under test.
 */
class StreamingForwarderTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final Timeouts SHORT = new Timeouts(Duration.ofSeconds(2), Duration.ofMillis(300), Duration.ofMillis(300));
    private static final String FIRST = "data: 1\n\n";
    private static final String SECOND = "data: 2\n\n";
    private static Vertx vertx;

    private final Recorder observer = new Recorder();
    private StreamingForwarder forwarder;
    private HttpServer backend;
    private HttpServer front;
    private HttpClient client;
    private volatile Handler<HttpServerRequest> backendHandler = req -> req.response().end();
    private volatile List<Backend> candidates;
    private volatile boolean stripUsageChunk;
    private volatile String pinModel;
    /** The front server's requests are multipart uploads, streamed. */
    private volatile boolean uploads;
    private volatile long uploadLimit = 1 << 22;
    private static final String BOUNDARY = "b0undary";
    private static final HeldBytes UNLIMITED = new HeldBytes() {
        @Override
        public boolean reserve(long bytes) {
            return true;
        }

        @Override
        public void unreserve(long bytes) {
        }
    };
    private static final String FORM_HEAD = "--" + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"model\"\r\n\r\nm\r\n--"
            + BOUNDARY + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n";
    private final CompletableFuture<AsyncResult<ForwardResult>> result = new CompletableFuture<>();

    /** Counts what the forwarder reports; the open-stream count must come back to zero whatever happens. */
    static final class Recorder implements ForwardObserver {
        final AtomicInteger opened = new AtomicInteger();
        final AtomicInteger closed = new AtomicInteger();
        final List<String> connectFailures = new CopyOnWriteArrayList<>();

        @Override
        public void connectFailed(Backend backend, Throwable cause) {
            connectFailures.add(backend.url());
        }

        @Override
        public void streamOpened(boolean streamed) {
            opened.incrementAndGet();
        }

        @Override
        public void streamClosed(boolean streamed) {
            closed.incrementAndGet();
        }
    }

    /** What the client received. */
    static final class Received {
        final CompletableFuture<HttpClientResponse> head = new CompletableFuture<>();
        final List<String> chunks = new CopyOnWriteArrayList<>();
        final CompletableFuture<Void> ended = new CompletableFuture<>();
        final CompletableFuture<Void> broken = new CompletableFuture<>();
    }

    @BeforeAll
    static void startVertx() {
        vertx = Vertx.vertx();
    }

    @AfterAll
    static void stopVertx() throws Exception {
        vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    @BeforeEach
    void start() throws Exception {
        forwarder = new StreamingForwarder(vertx, 8, observer, false);
        backend = listen(req -> backendHandler.handle(req));
        candidates = List.of(new Backend("http://127.0.0.1:" + backend.actualPort(), 1));
        front = listen(req -> {
            // an upload's model is read first, as the HTTP layer does before the route runs
            FormUpload upload = uploads ? new FormUpload(req, BOUNDARY, -1, uploadLimit, 1 << 16, UNLIMITED) : null;
            (upload == null ? Future.succeededFuture() : upload.readModel()).onComplete(read -> forwarder.forward(
                    vertx.getOrCreateContext(), new ForwardRequest("POST", "/v1/chat/completions",
                            Map.of("X-Client", List.of("c")), "{\"model\":\"m\"}".getBytes(StandardCharsets.UTF_8),
                            upload, candidates, SHORT, "rid-1", "m", Routing.DEFAULTS, false, false, stripUsageChunk,
                            pinModel),
                    req.response()).onComplete(ar -> {
                        result.complete(ar);
                        if (ar.failed()) { // what the gateway's error mapper would answer
                            req.response().setStatusCode(((GatewayException) ar.cause()).code().status()).end();
                        }
                    }));
        });
        client = vertx.createHttpClient();
    }

    @AfterEach
    void stop() throws Exception {
        client.close();
        forwarder.close();
        backend.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
        front.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    private static HttpServer listen(Handler<HttpServerRequest> handler) throws Exception {
        return vertx.createHttpServer().requestHandler(handler).listen(0, "127.0.0.1")
                .toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    }

    /** A request to the front server; {@code onChunk} sees each chunk as it arrives. */
    private Received call(Consumer<HttpClientResponse> onChunk) {
        Received received = new Received();
        client.request(HttpMethod.POST, front.actualPort(), "127.0.0.1", "/").compose(r -> r.send()).onComplete(ar -> {
            if (ar.failed()) {
                received.broken.complete(null);
                return;
            }
            HttpClientResponse response = ar.result();
            response.handler(chunk -> {
                received.chunks.add(chunk.toString(StandardCharsets.UTF_8));
                onChunk.accept(response);
            });
            response.endHandler(v -> received.ended.complete(null));
            response.exceptionHandler(t -> received.broken.complete(null));
            received.head.complete(response);
        });
        return received;
    }

    private ForwardResult succeeded() throws Exception {
        AsyncResult<ForwardResult> ar = result.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertTrue(ar.succeeded(), () -> "forwarding failed: " + ar.cause());
        return ar.result();
    }

    private GatewayException failed() throws Exception {
        AsyncResult<ForwardResult> ar = result.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertTrue(ar.failed(), "forwarding should have failed");
        return assertInstanceOf(GatewayException.class, ar.cause());
    }

    private void assertStreamsBalanced(int opened) {
        assertEquals(opened, observer.opened.get(), "streams opened");
        assertEquals(opened, observer.closed.get(), "every stream opened is closed");
    }

    @Test
    void aStreamPassesThroughChunkByChunk() throws Exception {
        CompletableFuture<HttpServerResponse> upstream = new CompletableFuture<>();
        CompletableFuture<String> requestId = new CompletableFuture<>();
        backendHandler = req -> {
            requestId.complete(req.getHeader("X-Request-Id") + " " + req.getHeader("X-Client"));
            upstream.complete(req.response());
            req.response().setChunked(true).putHeader("content-type", "text/event-stream").write(FIRST);
        };
        // the backend sends its second chunk only once the client has the first: nothing is held back on the way
        AtomicBoolean secondSent = new AtomicBoolean();
        Received received = call(response -> {
            if (secondSent.compareAndSet(false, true)) {
                upstream.join().end(SECOND);
            }
        });
        received.ended.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(List.of(FIRST, SECOND), received.chunks);
        assertEquals("rid-1 c", requestId.get());
        assertEquals("rid-1", received.head.get().getHeader("X-Request-Id"));
        ForwardResult forwarded = succeeded();
        assertEquals(ForwardResult.Outcome.COMPLETED, forwarded.outcome());
        assertEquals(200, forwarded.status());
        assertTrue(forwarded.streamed());
        assertStreamsBalanced(1);
    }

    @Test
    void aUsageChunkTheGatewayAskedForIsRemovedFromTheStreamButItsUsageIsRead() throws Exception {
        String usage = "data: {\"id\":\"c\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}\r\n\r\n";
        stripUsageChunk = true;
        backendHandler = req -> {
            HttpServerResponse response = req.response().setChunked(true).putHeader("content-type", "text/event-stream");
            response.write("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\ndata: {\"id\"");
            vertx.setTimer(20, t -> response.write(usage.substring(11, 40)));
            vertx.setTimer(40, t -> response.end(usage.substring(40) + "data: [DONE]\r\n\r\n"));
        };
        Received received = call(response -> {
        });
        received.ended.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals("data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\r\n\r\ndata: [DONE]\r\n\r\n",
                String.join("", received.chunks));
        ForwardResult forwarded = succeeded();
        assertEquals(new TokenUsage(5, 2), forwarded.usage());
        assertStreamsBalanced(1);
    }

    @Test
    void aPinnedAnswersResponseIdsNameItsBackendAndItGoesChunked() throws Exception {
        pinModel = "m";
        backendHandler = req -> req.response().putHeader("content-type", "application/json")
                .end("{\"id\":\"resp_1\",\"object\":\"response\"}");
        Received received = call(response -> {
        });
        received.ended.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals("{\"id\":\"" + ResponseIds.pin("resp_1", "m", candidates.get(0)) + "\",\"object\":\"response\"}",
                String.join("", received.chunks));
        HttpClientResponse head = received.head.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertNull(head.getHeader("content-length"), "the backend's length is not the answer's any more");
        assertEquals("chunked", head.getHeader("transfer-encoding"));
        succeeded();
        assertStreamsBalanced(1);
    }

    @Test
    void aRefusedConnectionFailsOverToTheNextBackend() throws Exception {
        String refused = "http://127.0.0.1:" + closedPort();
        candidates = List.of(new Backend(refused, 1), candidates.get(0));
        backendHandler = req -> req.response().putHeader("content-type", "application/json").end("{\"ok\":true}");
        Received received = call(response -> {
        });
        received.ended.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals("{\"ok\":true}", String.join("", received.chunks));
        ForwardResult forwarded = succeeded();
        assertEquals(candidates.get(1), forwarded.backend());
        assertFalse(forwarded.streamed());
        assertEquals(List.of(refused), observer.connectFailures);
        assertStreamsBalanced(1);
    }

    @Test
    void noBackendReachableIsA502() throws Exception {
        candidates = List.of(new Backend("http://127.0.0.1:" + closedPort(), 1));
        Received received = call(response -> {
        });
        assertEquals(ErrorCode.UPSTREAM_UNAVAILABLE, failed().code());
        assertEquals(502, received.head.get(WAIT.toSeconds(), TimeUnit.SECONDS).statusCode());
        assertStreamsBalanced(0);
    }

    @Test
    void aBackendThatNeverAnswersIsA504AndIsCancelled() throws Exception {
        CompletableFuture<Void> cancelled = new CompletableFuture<>();
        backendHandler = req -> req.connection().closeHandler(v -> cancelled.complete(null)); // accepts, never answers
        Received received = call(response -> {
        });
        assertEquals(ErrorCode.UPSTREAM_TIMEOUT, failed().code());
        assertEquals(504, received.head.get(WAIT.toSeconds(), TimeUnit.SECONDS).statusCode());
        cancelled.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertStreamsBalanced(0);
    }

    @Test
    void aBackendSilentMidStreamIsCutOffOnBothSides() throws Exception {
        CompletableFuture<Void> upstreamClosed = new CompletableFuture<>();
        backendHandler = req -> {
            req.connection().closeHandler(v -> upstreamClosed.complete(null));
            req.response().setChunked(true).putHeader("content-type", "text/event-stream").write(FIRST); // then silence
        };
        Received received = call(response -> {
        });
        assertEquals(ForwardResult.Outcome.IDLE_TIMEOUT, succeeded().outcome());
        received.broken.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(List.of(FIRST), received.chunks);
        upstreamClosed.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertStreamsBalanced(1);
    }

    @Test
    void aClientThatGoesAwayCancelsTheUpstreamRequest() throws Exception {
        CompletableFuture<Void> upstreamClosed = new CompletableFuture<>();
        backendHandler = req -> {
            req.connection().closeHandler(v -> upstreamClosed.complete(null));
            req.response().setChunked(true).putHeader("content-type", "text/event-stream").write(FIRST);
        };
        call(response -> response.request().connection().close()); // gone after the first chunk
        upstreamClosed.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertEquals(ForwardResult.Outcome.CLIENT_GONE, succeeded().outcome());
        assertStreamsBalanced(1);
    }

    private static int closedPort() throws Exception {
        try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
    /** Sends an upload to the front server: the form's head, {@code chunks} chunks of {@code chunk} bytes, its end. */
    private Received upload(int chunks, int chunk) {
        Received received = new Received();
        client.request(HttpMethod.POST, front.actualPort(), "127.0.0.1", "/").onComplete(ar -> {
            HttpClientRequest req = ar.result();
            req.setChunked(true).putHeader("content-type", "multipart/form-data; boundary=" + BOUNDARY);
            req.response().onComplete(r -> {
                if (r.failed()) {
                    received.broken.complete(null);
                    return;
                }
                r.result().handler(b -> received.chunks.add(b.toString(StandardCharsets.UTF_8)));
                r.result().endHandler(v -> received.ended.complete(null));
                received.head.complete(r.result());
            });
            req.write(FORM_HEAD);
            for (int i = 0; i < chunks; i++) {
                req.write(Buffer.buffer(new byte[chunk]));
            }
            req.end("\r\n--" + BOUNDARY + "--\r\n");
        });
        return received;
    }

    @Test
    void anUploadIsStreamedToTheBackendAsItArrives() throws Exception {
        uploads = true;
        backendHandler = req -> req.body().onSuccess(body -> req.response().end(body.length() + " "
                + req.getHeader("transfer-encoding") + " " + body.toString(StandardCharsets.ISO_8859_1).startsWith(FORM_HEAD)));
        Received received = upload(64, 16 * 1024);
        received.ended.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        int length = FORM_HEAD.length() + 64 * 16 * 1024 + ("\r\n--" + BOUNDARY + "--\r\n").length();
        assertEquals(length + " chunked true", String.join("", received.chunks));
        assertEquals(200, succeeded().status());
    }

    @Test
    void anUploadGoesToTheNextBackendOnlyWhileNoneOfItWasSent() throws Exception {
        uploads = true;
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0)) {
            closedPort = socket.getLocalPort();
        }
        AtomicInteger calls = new AtomicInteger();
        backendHandler = req -> {
            if (calls.incrementAndGet() == 1) {
                req.handler(b -> req.connection().close()); // fails once the upload is under way
            } else {
                req.body().onSuccess(b -> req.response().end("second"));
            }
        };
        String url = "http://127.0.0.1:" + backend.actualPort();
        candidates = List.of(new Backend("http://127.0.0.1:" + closedPort, 1), new Backend(url, 1), new Backend(url, 1));
        upload(16, 16 * 1024);
        GatewayException e = failed();
        assertEquals(ErrorCode.UPSTREAM_UNAVAILABLE, e.code());
        assertTrue(e.getMessage().contains("not retried"), e.getMessage());
        assertEquals(1, calls.get(), "the refused connection was skipped, the failed upload not sent again");
        assertEquals(List.of("http://127.0.0.1:" + closedPort), observer.connectFailures);
    }

    @Test
    void anUploadThatPassesTheLimitWhileStreamingIs413AndTheBackendsRequestReset() throws Exception {
        uploads = true;
        uploadLimit = 100_000;
        CompletableFuture<Void> reset = new CompletableFuture<>();
        backendHandler = req -> req.exceptionHandler(t -> reset.complete(null)).handler(b -> { });
        upload(16, 16 * 1024);
        assertEquals(ErrorCode.REQUEST_TOO_LARGE, failed().code(), "the limit's error, not the backend's");
        reset.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }
}
