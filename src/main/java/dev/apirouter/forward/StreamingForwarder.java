package dev.apirouter.forward;

import dev.apirouter.call.ForwardResult;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.DoubleSupplier;

import dev.apirouter.call.HeaderNames;
import dev.apirouter.call.StreamedBody;
import dev.apirouter.call.TokenUsage;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.error.RepeatingLog;
import dev.apirouter.fleet.AttemptEnd;
import dev.apirouter.policy.Backend;
import io.netty.buffer.Unpooled;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpClosedException;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends a request to a model's backends and streams the answer to the client chunk by chunk, as it arrives: no
 * buffering, no re-framing. Built on the Vert.x HttpClient of the server's own Vertx instance, with pooled
 * keep-alive connections: one client per event loop, so that a request and its backend connection are served by
 * the same thread (a connection shared across loops hands every callback over to the other thread).
 *
 * <ul>
 * <li>A backend that refuses, resets or fails before answering: the next candidate is tried; none left → 502.</li>
 * <li>A backend that answers 429 or 503 (busy, overloaded): the next candidate is tried after a short jittered wait,
 * up to the policy's attempts; the last such answer is passed on as it is, unless the caller has a fallback model
 * (then → 502, and the caller tries it).</li>
 * <li>No response head within {@code firstByte} → the request is cancelled, 504 (not retried: the backend may be
 * generating).</li>
 * <li>Silence longer than {@code idle} mid-response → both sides are closed, so the client sees the break.</li>
 * <li>The client disconnects → the upstream request is reset, so vLLM stops generating.</li>
 * <li>An upload ({@link ForwardRequest#streamed()}) is streamed as it arrives and sent once: only a backend that
 * refused the connection (nothing sent) is followed by the next candidate; one that fails or answers 429/503 once the
 * upload went out ends the call (502, or its own answer).</li>
 * </ul>
 */
public final class StreamingForwarder implements AutoCloseable {
    /** Upper bound of TCP connect; each request's policy sets its own, shorter, connect timeout. */
    static final int MAX_CONNECT_TIMEOUT_MS = 10_000;
    /** Idle pooled connections are closed before vLLM's own keep-alive (5 s) closes them under us. */
    static final int KEEP_ALIVE_SECONDS = 4;
    private static final int MAX_TARGETS = 4096;
    private static final Logger LOG = LoggerFactory.getLogger(StreamingForwarder.class);
    // one line per kind and window when a fleet is down or slow, not one per request
    private static final RepeatingLog UNAVAILABLE = new RepeatingLog(LOG, Duration.ofSeconds(10));
    private static final RepeatingLog TIMEOUTS = new RepeatingLog(LOG, Duration.ofSeconds(10));
    private static final RepeatingLog BROKEN = new RepeatingLog(LOG, Duration.ofSeconds(10));

    private final Vertx vertx;
    private final HttpClientOptions options;
    private final PoolOptions pool;
    private final Map<Thread, HttpClient> clients = new ConcurrentHashMap<>();
    private final Map<String, Target> targets = new ConcurrentHashMap<>();
    private final ForwardObserver observer;
    private final boolean readUsage;
    private final DoubleSupplier random;

    /**
     * @param readUsage read the token usage of every answer and report it to {@code observer} (metrics); otherwise
     *                  only for requests that ask for it ({@link ForwardRequest#readUsage()})
     */
    public StreamingForwarder(Vertx vertx, int maxConnectionsPerBackend, ForwardObserver observer, boolean readUsage) {
        this(vertx, maxConnectionsPerBackend, observer, readUsage, () -> ThreadLocalRandom.current().nextDouble());
    }

    /** @param random jitter of the wait between retries */
    StreamingForwarder(Vertx vertx, int maxConnectionsPerBackend, ForwardObserver observer, boolean readUsage,
                       DoubleSupplier random) {
        this.vertx = vertx;
        this.observer = observer;
        this.readUsage = readUsage;
        this.random = random;
        this.options = new HttpClientOptions()
                .setKeepAlive(true)
                .setKeepAliveTimeout(KEEP_ALIVE_SECONDS)
                .setTcpNoDelay(true)
                .setTryUseCompression(false)
                .setDecompressionSupported(false)
                .setConnectTimeout(MAX_CONNECT_TIMEOUT_MS);
        this.pool = new PoolOptions().setHttp1MaxSize(maxConnectionsPerBackend).setMaxWaitQueueSize(-1);
    }

    /**
     * Forwards {@code request}, writing the answer to {@code client}. The future fails with a
     * {@link GatewayException} only when nothing has been written to the client; once a backend has answered it
     * succeeds, whatever happens to the stream afterwards.
     */
    public Future<ForwardResult> forward(Context context, ForwardRequest request, HttpServerResponse client) {
        Promise<ForwardResult> promise = Promise.promise();
        context.runOnContext(v -> new Call(clientOfThisEventLoop(), request, client, promise).tryNext());
        return promise.future();
    }

    /** A backend URL taken apart once, not on every request. */
    record Target(boolean ssl, String host, int port, String basePath) {
        static Target of(String url) {
            URI uri = URI.create(url);
            boolean ssl = "https".equalsIgnoreCase(uri.getScheme());
            String path = uri.getRawPath() == null ? "" : uri.getRawPath();
            return new Target(ssl, uri.getHost(), uri.getPort() > 0 ? uri.getPort() : ssl ? 443 : 80,
                    path.endsWith("/") ? path.substring(0, path.length() - 1) : path);
        }
    }

    private Target target(Backend backend) {
        if (targets.size() > MAX_TARGETS) {
            targets.clear(); // policies changed a lot; the ones in use come back at once
        }
        return targets.computeIfAbsent(backend.url(), Target::of);
    }

    private HttpClient clientOfThisEventLoop() {
        return clients.computeIfAbsent(Thread.currentThread(), t -> vertx.createHttpClient(options, pool));
    }

    @Override
    public void close() {
        try {
            Future.join(clients.values().stream().map(HttpClient::close).toList())
                    .toCompletionStage().toCompletableFuture().get(2, TimeUnit.SECONDS);
        } catch (Exception e) {
            // best effort at shutdown
        }
    }

    /** One forwarded request; all its state is touched on the client request's event loop only. */
    private final class Call {
        private final HttpClient httpClient;
        private final ForwardRequest request;
        private final HttpServerResponse downstream;
        private final Promise<ForwardResult> promise;
        private final Iterator<Backend> candidates;
        private final List<String> failures = new ArrayList<>();
        private Backend backend;
        private HttpClientRequest upstream;
        private int status;
        private boolean finished;
        private long timer = -1;
        private long lastDataNanos;
        private long sentNanos;
        private final long startNanos = System.nanoTime();
        private boolean streamed;
        private boolean opened;
        private boolean firstChunkSeen;
        private boolean retriedClosedConnection;
        private boolean attemptOpen;
        private long relayed;
        private int busyAnswers;
        private UsageScanner usage;

        Call(HttpClient httpClient, ForwardRequest request, HttpServerResponse downstream, Promise<ForwardResult> promise) {
            this.httpClient = httpClient;
            this.request = request;
            this.downstream = downstream;
            this.promise = promise;
            this.candidates = request.candidates().iterator();
            downstream.closeHandler(v -> clientGone());
        }

        void tryNext() {
            if (finished) {
                return;
            }
            if (downstream.closed()) {
                clientGone();
                return;
            }
            if (!candidates.hasNext()) {
                UNAVAILABLE.warn("Request " + request.requestId() + " for model '" + request.model()
                        + "': no backend answered: " + String.join("; ", failures));
                fail(new GatewayException(ErrorCode.UPSTREAM_UNAVAILABLE, "No backend of model '" + request.model()
                        + "' could be reached (" + request.candidates().size() + " tried)."));
                return;
            }
            attempt(candidates.next());
        }

        private void attempt(Backend next) {
            backend = next;
            attemptOpen = true;
            observer.attemptStarted(next);
            Target target = target(backend);
            RequestOptions options = new RequestOptions()
                    .setMethod(HttpMethod.valueOf(request.method()))
                    .setSsl(target.ssl())
                    .setHost(target.host())
                    .setPort(target.port())
                    .setURI(target.basePath() + request.pathAndQuery())
                    .setConnectTimeout(request.timeouts().connect().toMillis());
            Backend attempted = backend;
            httpClient.request(options).onComplete(ar -> {
                if (ar.failed()) {
                    observer.connectFailed(attempted, ar.cause());
                    endAttempt(AttemptEnd.FAILED);
                    backendFailed(attempted, ar.cause());
                } else {
                    send(ar.result());
                }
            });
        }

        private void send(HttpClientRequest req) {
            if (finished) {
                req.reset();
                endAttempt(AttemptEnd.ABANDONED);
                return;
            }
            upstream = req;
            try {
                copyRequestHeaders(req);
            } catch (IllegalArgumentException e) {
                req.reset();
                endAttempt(AttemptEnd.ABANDONED);
                fail(new GatewayException(ErrorCode.INVALID_REQUEST, "A request header has an invalid value."));
                return;
            }
            Backend attempted = backend;
            cancelTimer();
            Future<HttpClientResponse> answer;
            if (request.streamed() == null) {
                armFirstByteTimer();
                // a wrapper per attempt, no copy: a retry sends the same array from its start
                answer = req.send(Buffer.buffer(Unpooled.wrappedBuffer(request.body())));
            } else {
                answer = sendStreamed(req);
            }
            answer.onComplete(ar -> {
                if (finished) {
                    return;
                }
                if (ar.failed()) {
                    cancelTimer();
                    upstream = null;
                    if (ar.cause() instanceof HttpClosedException && !retriedClosedConnection && request.replayable()) {
                        // a pooled connection the backend had just closed: once more, on a fresh connection
                        retriedClosedConnection = true;
                        endAttempt(AttemptEnd.ABANDONED);
                        attempt(attempted);
                        return;
                    }
                    endAttempt(AttemptEnd.FAILED);
                    backendFailed(attempted, ar.cause());
                } else {
                    relay(ar.result());
                }
            });
        }

        private void armFirstByteTimer() {
            sentNanos = System.nanoTime();
            armTimer(Math.min(request.timeouts().firstByte().toMillis(), request.timeouts().idle().toMillis()));
        }

        /**
         * Streams an upload: its length when known, else chunked. The first-byte deadline counts from its last byte
         * (a large upload takes its time to arrive). When the client's body breaks off or goes over the limit, the
         * backend's request is reset; the client is answered with the limit's error when nothing was relayed yet.
         */
        private Future<HttpClientResponse> sendStreamed(HttpClientRequest req) {
            StreamedBody body = request.streamed();
            long length = body.length();
            if (length >= 0) {
                req.putHeader(HttpHeaders.CONTENT_LENGTH, Long.toString(length));
            } else {
                req.setChunked(true);
            }
            Future<HttpClientResponse> answer = req.response();
            body.pipeTo(req).onComplete(ar -> {
                if (finished) {
                    return;
                }
                if (ar.succeeded()) {
                    if (!opened) {
                        armFirstByteTimer();
                    }
                    return;
                }
                if (opened) {
                    abort(ForwardResult.Outcome.CLIENT_GONE, "the client's upload broke off: " + ar.cause());
                    return;
                }
                if (!(ar.cause() instanceof GatewayException e)) {
                    clientGone(); // (resets the backend's request)
                    return;
                }
                fail(e); // first: the reset below fails the response too, which must not count as the backend's failure
                req.reset();
                upstream = null;
                endAttempt(AttemptEnd.ABANDONED);
            });
            return answer;
        }

        private void copyRequestHeaders(HttpClientRequest req) {
            String connection = first(request.headers(), "connection");
            for (Map.Entry<String, List<String>> header : request.headers().entrySet()) {
                if (!HopByHop.dropFromRequest(header.getKey(), connection)) {
                    req.putHeader(header.getKey(), header.getValue());
                }
            }
            req.putHeader(HeaderNames.REQUEST_ID, request.requestId());
            // this backend's own credential, if it needs one (the client's was dropped above)
            backend.auth().ifPresent(auth -> req.putHeader(HttpHeaders.AUTHORIZATION, auth.authorization()));
            if (!req.headers().contains(HttpHeaders.CONTENT_TYPE)) {
                req.putHeader(HttpHeaders.CONTENT_TYPE, "application/json");
            }
        }

        /**
         * A 429 or 503 before anything went to the client: the next candidate, after a jittered wait, while attempts
         * are left; or a failure when the caller has a fallback model. Returns whether the answer was set aside.
         */
        private boolean busy(HttpClientResponse response) {
            int code = response.statusCode();
            if (code != 429 && code != 503) {
                return false;
            }
            busyAnswers++;
            boolean retry = candidates.hasNext() && busyAnswers < request.routing().attempts() && request.replayable();
            if (!retry && (!request.failIfUnavailable() || !request.replayable())) {
                return false; // the client gets the backend's own answer (its Retry-After included)
            }
            cancelTimer();
            Backend busyBackend = backend;
            discard(response);
            upstream = null;
            status = code;
            endAttempt(AttemptEnd.ANSWERED);
            failures.add(busyBackend.url() + ": HTTP " + code);
            if (!retry) {
                fail(new GatewayException(ErrorCode.UPSTREAM_UNAVAILABLE, "Every backend of model '" + request.model()
                        + "' is busy or unavailable (" + failures.size() + " tried)."));
                return true;
            }
            observer.retried(request.model(), busyBackend, code);
            long backoff = request.routing().retryBackoff().toMillis();
            long wait = Math.round(backoff * (0.5 + random.getAsDouble()));
            if (wait < 1) {
                tryNext();
            } else {
                timer = vertx.setTimer(wait, id -> {
                    timer = -1;
                    tryNext();
                });
            }
            return true;
        }

        /** Reads a small answer to its end (the connection is kept); a large or unsized one closes the connection. */
        private void discard(HttpClientResponse response) {
            String length = response.getHeader(HttpHeaders.CONTENT_LENGTH);
            if (length != null && length.length() < 6) {
                response.handler(null);
                response.exceptionHandler(t -> { });
                response.body();
            } else {
                response.request().reset();
            }
        }

        private void relay(HttpClientResponse response) {
            if (busy(response)) {
                return;
            }
            status = response.statusCode();
            downstream.setStatusCode(status);
            // a successful answer's response ids name this backend: their length changes, so it goes chunked
            ResponseIdRewriter ids = request.pinModel() != null && status < 300
                    ? new ResponseIdRewriter(ResponseIds.suffix(request.pinModel(), backend)) : null;
            String connection = response.getHeader(HttpHeaders.CONNECTION);
            for (Map.Entry<String, String> header : response.headers()) {
                if (!HopByHop.dropFromResponse(header.getKey(), connection)
                        && !(ids != null && HttpHeaders.CONTENT_LENGTH.toString().equalsIgnoreCase(header.getKey()))) {
                    downstream.headers().add(header.getKey(), header.getValue());
                }
            }
            boolean backendSized = response.getHeader(HttpHeaders.CONTENT_LENGTH) != null;
            boolean sized = ids == null && backendSized;
            if (!sized) {
                downstream.setChunked(true);
            }
            downstream.putHeader(HeaderNames.REQUEST_ID, request.requestId());
            downstream.putHeader(HeaderNames.ANSWERING_MODEL, request.model());
            String contentType = response.getHeader(HttpHeaders.CONTENT_TYPE);
            streamed = contentType != null && contentType.startsWith("text/event-stream");
            opened = true;
            observer.streamOpened(streamed);
            lastDataNanos = System.nanoTime();
            usage = readUsage || request.readUsage() || request.stripUsageChunk() ? new UsageScanner() : null;
            // a sized answer keeps its length: the chunk is removed from a chunked stream only (as vLLM sends it)
            UsageChunkFilter filter = streamed && !backendSized && request.stripUsageChunk()
                    ? new UsageChunkFilter() : null;
            long length = sized ? contentLength(response) : -1;
            response.handler(chunk -> {
                if (finished) {
                    return;
                }
                lastDataNanos = System.nanoTime();
                if (!firstChunkSeen) {
                    firstChunkSeen = true;
                    observer.firstChunk(request.model(), backend, streamed, lastDataNanos - startNanos);
                }
                if (usage != null) { // every byte the backend sent, the removed usage chunk included
                    usage.accept(chunk);
                }
                relayed += chunk.length();
                if (length >= 0 && relayed >= length) {
                    // a sized answer is whole for the client with its last byte, before any end: complete first
                    finished = true;
                    cancelTimer();
                    complete(ForwardResult.Outcome.COMPLETED);
                    downstream.end(chunk);
                    return;
                }
                Buffer toClient = filter != null ? filter.accept(chunk) : chunk;
                if (ids != null) {
                    toClient = ids.accept(toClient);
                }
                if (toClient.length() > 0) {
                    downstream.write(toClient);
                }
                if (downstream.writeQueueFull()) {
                    response.pause();
                    downstream.drainHandler(v -> response.resume());
                }
            });
            response.exceptionHandler(t -> abort(ForwardResult.Outcome.UPSTREAM_BROKEN,
                    "backend " + backend.url() + " failed mid-response: " + t));
            response.endHandler(v -> {
                if (!finished) {
                    finished = true;
                    cancelTimer();
                    Buffer rest = filter != null ? filter.finish() : null;
                    if (rest != null) {
                        downstream.write(rest);
                    }
                    // the call is complete before the client sees the end: its limits are settled and the
                    // backend's in-flight count is down by the time the client can send its next request
                    complete(ForwardResult.Outcome.COMPLETED);
                    downstream.end();
                }
            });
        }

        /**
         * One timer per call watches both the first byte and, once the response has started, the silence between
         * chunks: it fires at the nearer of the two deadlines and is armed again for what is left (two timers set and
         * cancelled per request were a measurable share of the event loops' time).
         */
        private void armTimer(long delayMs) {
            timer = vertx.setTimer(Math.max(1, delayMs), id -> {
                timer = -1;
                if (!finished) {
                    checkDeadlines();
                }
            });
        }

        private void checkDeadlines() {
            long now = System.nanoTime();
            if (!opened) {
                long firstByteMs = request.timeouts().firstByte().toMillis();
                long waitedMs = TimeUnit.NANOSECONDS.toMillis(now - sentNanos);
                if (waitedMs >= firstByteMs) {
                    firstByteTimeout(firstByteMs);
                } else {
                    armTimer(Math.min(firstByteMs - waitedMs, request.timeouts().idle().toMillis()));
                }
                return;
            }
            long idleMs = request.timeouts().idle().toMillis();
            long silentMs = TimeUnit.NANOSECONDS.toMillis(now - lastDataNanos);
            if (silentMs >= idleMs) {
                abort(ForwardResult.Outcome.IDLE_TIMEOUT,
                        "backend " + backend.url() + " sent nothing for " + silentMs + " ms mid-response");
            } else {
                armTimer(idleMs - silentMs);
            }
        }

        private void firstByteTimeout(long firstByteMs) {
            if (finished) {
                return;
            }
            TIMEOUTS.warn("Request " + request.requestId() + " for model '" + request.model() + "': backend "
                    + backend.url() + " sent no response within " + firstByteMs + " ms");
            fail(new GatewayException(ErrorCode.UPSTREAM_TIMEOUT, "The backend of model '" + request.model()
                    + "' did not answer within " + firstByteMs + " ms."));
            if (upstream != null) {
                upstream.reset();
            }
            endAttempt(AttemptEnd.FAILED);
        }

        private void backendFailed(Backend attempted, Throwable cause) {
            if (finished) {
                return;
            }
            failures.add(attempted.url() + ": " + cause);
            LOG.debug("Request {}: backend {} failed before answering: {}", request.requestId(), attempted.url(), cause.toString());
            if (!request.replayable()) {
                UNAVAILABLE.warn("Request " + request.requestId() + " for model '" + request.model() + "': backend "
                        + attempted.url() + " failed while receiving the upload (not retried): " + cause);
                fail(new GatewayException(ErrorCode.UPSTREAM_UNAVAILABLE, "The backend of model '" + request.model()
                        + "' failed while receiving the upload; an upload is not retried."));
                return;
            }
            tryNext();
        }

        private void clientGone() {
            if (finished) {
                return;
            }
            finished = true;
            cancelTimer();
            if (upstream != null) {
                upstream.reset();
            }
            LOG.debug("Request {}: downstream disconnected; upstream request cancelled", request.requestId());
            endAttempt(AttemptEnd.ABANDONED);
            complete(ForwardResult.Outcome.CLIENT_GONE);
        }

        private void abort(ForwardResult.Outcome outcome, String reason) {
            if (finished) {
                return;
            }
            finished = true;
            cancelTimer();
            BROKEN.warn("Request " + request.requestId() + " for model '" + request.model() + "': " + reason
                    + "; closing the downstream connection");
            if (upstream != null) {
                upstream.reset();
            }
            downstream.reset();
            complete(outcome);
        }

        /** Ends the call with what the backend answered; its token usage, when read and reported, is passed on. */
        private void complete(ForwardResult.Outcome outcome) {
            closeStream(); // whatever ended it: the backend, the client, a reset or the idle deadline
            endAttempt(outcome == ForwardResult.Outcome.COMPLETED ? AttemptEnd.ANSWERED
                    : outcome == ForwardResult.Outcome.CLIENT_GONE ? AttemptEnd.ABANDONED : AttemptEnd.FAILED);
            TokenUsage tokens = usage != null ? usage.usage() : null;
            if (tokens != null) {
                observer.tokensUsed(request.model(), backend, tokens);
            }
            promise.tryComplete(new ForwardResult(backend, status, outcome, streamed, tokens,
                    usage != null ? usage.responseModel() : null));
        }

        private void fail(GatewayException e) {
            finished = true;
            cancelTimer();
            promise.tryFail(e);
        }

        /** The attempt under way is over: the backend's in-flight count and record are told, once. */
        private void endAttempt(AttemptEnd end) {
            if (attemptOpen) {
                attemptOpen = false;
                observer.attemptEnded(backend, end, end == AttemptEnd.ANSWERED ? status : 0);
            }
        }

        private void closeStream() {
            if (opened) {
                opened = false;
                observer.streamClosed(streamed);
            }
        }

        private void cancelTimer() {
            if (timer >= 0) {
                vertx.cancelTimer(timer);
                timer = -1;
            }
        }
    }

    /** The answer's declared length, -1 when it has none (chunked) or an unreadable one. */
    private static long contentLength(HttpClientResponse response) {
        String value = response.getHeader(HttpHeaders.CONTENT_LENGTH);
        if (value == null) {
            return -1;
        }
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static String first(Map<String, List<String>> headers, String name) {
        for (Map.Entry<String, List<String>> header : headers.entrySet()) {
            if (header.getKey().equalsIgnoreCase(name) && !header.getValue().isEmpty()) {
                return header.getValue().get(0);
            }
        }
        return null;
    }
}
