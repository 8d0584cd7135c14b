package dev.apirouter.sim;

import com.sun.net.httpserver.Headers;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import java.util.zip.CRC32;

/**
 * <b>vLLM simulator &mdash; a development tool, not part of the api-router gateway runtime.</b>
 *
 * <p>Imitates the HTTP surface of vLLM's OpenAI-compatible server ({@code vllm serve}) without any model:
 * {@code POST /v1/chat/completions}, {@code POST /v1/completions} (both with SSE streaming),
 * {@code POST /v1/embeddings}, {@code POST /v1/responses} (with SSE streaming; stored responses by id:
 * {@code GET}, {@code DELETE}, {@code POST .../cancel}), {@code POST /v1/messages} (Anthropic's Messages API, with
 * SSE streaming) and {@code /v1/messages/count_tokens}, {@code POST /v1/score},
 * {@code POST /v1/rerank} (also {@code /rerank}, {@code /v2/rerank}), {@code POST /tokenize}, {@code POST /detokenize},
 * {@code POST /pooling}, {@code POST /classify}, {@code GET /v1/models}, {@code GET /health}, {@code GET /version}
 * and a minimal {@code GET /metrics}. Generated text is deterministic lorem-ipsum words derived from a hash of the prompt,
 * paced by a configurable delay per token; embeddings are deterministic unit vectors derived from a hash of the
 * input.
 *
 * <p>Uses the JDK only, so it runs as a single-file source program:
 * {@code java tools/vllm-sim/dev/apirouter/sim/VllmSimulator.java --port 8000}. Tests start it in-process with
 * {@link #start(Options)}. Per-request fault injection is driven by {@code x-sim-*} request headers (see
 * {@code tools/vllm-sim/README.md}); {@link #setSimHeader(String, String)} applies one to every request.
 *
 * <p>With {@code --engine} ({@link Options#engine(boolean)}) generation goes through an imitation of vLLM's
 * scheduler instead: continuous batching in timed steps, chunked prefill and a prefix cache of token blocks with
 * LRU eviction, reported by {@code /metrics} under vLLM's names (see {@link Engine}).
 *
 * <p>Listens on 127.0.0.1 unless told otherwise. Logs nothing per request unless {@code --verbose}.
 */
public final class VllmSimulator implements AutoCloseable {

    /** Served model name when none is configured (vLLM's own default would be the model path). */
    public static final String DEFAULT_MODEL = "meta-llama/Llama-3.1-8B-Instruct";

    /** Respond with this HTTP status (400..599) and an error JSON body instead of serving the request. */
    public static final String HEADER_STATUS = "x-sim-status";
    /** Sleep this many milliseconds before doing anything else (before response headers are sent). */
    public static final String HEADER_DELAY_BEFORE_HEADERS = "x-sim-delay-before-headers-ms";
    /** Streams only: send this many SSE events (0 = none, only headers), then go silent. */
    public static final String HEADER_STALL_AFTER_CHUNKS = "x-sim-stall-after-chunks";
    /** How long a stall of {@link #HEADER_STALL_AFTER_CHUNKS} lasts before the stream resumes (default: stall max). */
    public static final String HEADER_STALL_MS = "x-sim-stall-ms";
    /** Per-request override of the delay between generated tokens, in milliseconds. */
    public static final String HEADER_TOKEN_DELAY = "x-sim-token-delay-ms";

    /** Upper bound of any single per-token delay. */
    static final long MAX_TOKEN_DELAY_MS = 60_000;
    static final String TRANSCRIPTIONS = "/v1/audio/transcriptions";
    static final String TRANSLATIONS = "/v1/audio/translations";
    /** Larger form fields (not files) of an audio upload get 400. */
    static final int MAX_FORM_FIELD_BYTES = 1024 * 1024;
    /** Larger request bodies get 413 (audio uploads are streamed and not limited). */
    static final int MAX_BODY_BYTES = 32 * 1024 * 1024;
    /** Upper bound of choices per request ({@code n} times the number of prompts). */
    static final int MAX_CHOICES = 128;
    static final int MAX_EMBEDDING_DIM = 65_536;

    /** Shape of error bodies. */
    public enum ErrorFormat {
        /** vLLM 0.10.1 and later (OpenAI's shape): {@code {"error":{"message","type","param","code"}}}. */
        NESTED,
        /** vLLM before 0.10.1: {@code {"object":"error","message","type","param","code"}}. */
        LEGACY
    }

    /** Settings of one simulator instance; fluent setters, plain getters. Defaults suit in-process tests. */
    public static final class Options {
        private String host = "127.0.0.1";
        private int port = 0;
        private List<String> servedModelNames = List.of(DEFAULT_MODEL);
        private String modelPath;
        private long tokenDelayMs = 20;
        private int maxTokens = 16;
        private int embeddingDim = 16;
        private int maxModelLen = 131_072;
        private long stallMaxMs = 300_000;
        private int maxRecordedRequests = 10_000;
        private ErrorFormat errorFormat = ErrorFormat.NESTED;
        private String apiKey;
        private boolean verbose;
        private int backlog = 4096;
        private boolean engine;
        private boolean legacyMetricNames;
        private int maxNumSeqs = 16;
        private int maxNumBatchedTokens = 2048;
        private double stepMs = -1; // negative: the token delay
        private double decodeUsPerSeq = 500;
        private double prefillUsPerToken = 100;
        private double slowness = 1.0;
        private int blockSize = 16;
        private int numGpuBlocks = 2048;
        private int maxWaitingRequests = 10_000;

        /** Interface to bind; default 127.0.0.1 (loopback only). */
        public Options host(String host) {
            if (host == null || host.isBlank()) throw new IllegalArgumentException("host must not be empty");
            this.host = host;
            return this;
        }

        /** Port to bind; 0 (the default here) picks a free ephemeral port. */
        public Options port(int port) {
            if (port < 0 || port > 65535) throw new IllegalArgumentException("port out of range: " + port);
            this.port = port;
            return this;
        }

        /** Names accepted in the request's {@code model}; the first is reported in responses (as vLLM does). */
        public Options servedModelNames(String... names) {
            return servedModelNames(List.of(names));
        }

        public Options servedModelNames(List<String> names) {
            List<String> copy = new ArrayList<>();
            for (String n : names) {
                if (n == null || n.isBlank()) throw new IllegalArgumentException("served model name must not be empty");
                if (!copy.contains(n)) copy.add(n);
            }
            if (copy.isEmpty()) throw new IllegalArgumentException("at least one served model name is needed");
            this.servedModelNames = List.copyOf(copy);
            return this;
        }

        /** The model "path" reported as {@code root} by {@code /v1/models}; default: the first served name. */
        public Options modelPath(String modelPath) {
            this.modelPath = modelPath;
            return this;
        }

        /** Delay before each generated token (and, for non-stream requests, tokens x delay before answering). */
        public Options tokenDelayMs(long ms) {
            if (ms < 0 || ms > MAX_TOKEN_DELAY_MS) throw new IllegalArgumentException("token delay out of range: " + ms);
            this.tokenDelayMs = ms;
            return this;
        }

        /** Completion tokens when the request sets neither {@code max_tokens} nor {@code max_completion_tokens}. */
        public Options maxTokens(int maxTokens) {
            if (maxTokens < 1) throw new IllegalArgumentException("max tokens must be at least 1: " + maxTokens);
            this.maxTokens = maxTokens;
            return this;
        }

        public Options embeddingDim(int dim) {
            if (dim < 1 || dim > MAX_EMBEDDING_DIM) throw new IllegalArgumentException("embedding dim out of range: " + dim);
            this.embeddingDim = dim;
            return this;
        }

        /** Context length: prompt tokens plus max tokens beyond it get vLLM's 400. */
        public Options maxModelLen(int len) {
            if (len < 2) throw new IllegalArgumentException("max model len too small: " + len);
            this.maxModelLen = len;
            return this;
        }

        /** Upper bound of a stall and of a delay before headers, in milliseconds (default 5 minutes). */
        public Options stallMaxMs(long ms) {
            if (ms < 0) throw new IllegalArgumentException("stall max must not be negative: " + ms);
            this.stallMaxMs = ms;
            return this;
        }

        /** How many of the most recent requests {@link #requests()} keeps; 0 keeps none. */
        public Options maxRecordedRequests(int n) {
            if (n < 0) throw new IllegalArgumentException("max recorded requests must not be negative: " + n);
            this.maxRecordedRequests = n;
            return this;
        }

        public Options errorFormat(ErrorFormat format) {
            this.errorFormat = java.util.Objects.requireNonNull(format);
            return this;
        }

        /**
         * Like vLLM's {@code --api-key}: requests to {@code /v1/...} without {@code Authorization: Bearer <key>} get
         * vLLM's {@code 401 {"error":"Unauthorized"}}; {@code /health}, {@code /version} and {@code /metrics} stay open.
         * Null (the default): no key needed.
         */
        public Options apiKey(String key) {
            if (key != null && key.isEmpty()) throw new IllegalArgumentException("api key must not be empty");
            this.apiKey = key;
            return this;
        }

        /** Log one line per request to stderr. */
        public Options verbose(boolean verbose) {
            this.verbose = verbose;
            return this;
        }

        /** Listen backlog (pending connections). */
        public Options backlog(int backlog) {
            if (backlog < 1) throw new IllegalArgumentException("backlog must be positive: " + backlog);
            this.backlog = backlog;
            return this;
        }

        /** Turns the engine model on: continuous batching, a prefix cache and vLLM's scheduler metrics (README). */
        public Options engine(boolean engine) {
            this.engine = engine;
            return this;
        }

        /** /metrics names of older vLLM: vllm:gpu_cache_usage_perc, vllm:gpu_prefix_cache_{queries,hits}_total. */
        public Options legacyMetricNames(boolean legacy) {
            this.legacyMetricNames = legacy;
            return this;
        }

        /** Engine: most sequences running at once (default 16). */
        public Options maxNumSeqs(int n) {
            if (n < 1) throw new IllegalArgumentException("max num seqs must be positive: " + n);
            this.maxNumSeqs = n;
            return this;
        }

        /** Engine: token budget of one step, decodes and prefill chunks together (default 2048). */
        public Options maxNumBatchedTokens(int n) {
            if (n < 1) throw new IllegalArgumentException("max num batched tokens must be positive: " + n);
            this.maxNumBatchedTokens = n;
            return this;
        }

        /** Engine: fixed part of a step in milliseconds; negative (the default) means the token delay. */
        public Options stepMs(double ms) {
            if (Double.isNaN(ms) || ms > MAX_TOKEN_DELAY_MS) throw new IllegalArgumentException("step out of range: " + ms);
            this.stepMs = ms;
            return this;
        }

        /** Engine: microseconds a step takes per decoding sequence (default 500). */
        public Options decodeUsPerSeq(double us) {
            if (!(us >= 0 && us <= 1e6)) throw new IllegalArgumentException("decode us per seq out of range: " + us);
            this.decodeUsPerSeq = us;
            return this;
        }

        /** Engine: microseconds a step takes per prefilled prompt token (default 100). */
        public Options prefillUsPerToken(double us) {
            if (!(us >= 0 && us <= 1e6)) throw new IllegalArgumentException("prefill us per token out of range: " + us);
            this.prefillUsPerToken = us;
            return this;
        }

        /** Multiplies step durations (engine) or token delays (no engine); default 1.0. */
        public Options slowness(double factor) {
            checkSlowness(factor);
            this.slowness = factor;
            return this;
        }

        /** Engine: tokens per KV-cache block (default 16). */
        public Options blockSize(int n) {
            if (n < 1 || n > 4096) throw new IllegalArgumentException("block size out of range: " + n);
            this.blockSize = n;
            return this;
        }

        /** Engine: KV-cache blocks in total (default 2048). */
        public Options numGpuBlocks(int n) {
            if (n < 1) throw new IllegalArgumentException("num gpu blocks must be positive: " + n);
            this.numGpuBlocks = n;
            return this;
        }

        /** Engine: bound of the waiting queue in sequences (default 10,000); beyond it requests get 503. */
        public Options maxWaitingRequests(int n) {
            if (n < 1) throw new IllegalArgumentException("max waiting requests must be positive: " + n);
            this.maxWaitingRequests = n;
            return this;
        }

        public String host() { return host; }
        public int port() { return port; }
        public List<String> servedModelNames() { return servedModelNames; }
        public String modelPath() { return modelPath != null ? modelPath : servedModelNames.get(0); }
        public long tokenDelayMs() { return tokenDelayMs; }
        public int maxTokens() { return maxTokens; }
        public int embeddingDim() { return embeddingDim; }
        public int maxModelLen() { return maxModelLen; }
        public long stallMaxMs() { return stallMaxMs; }
        public int maxRecordedRequests() { return maxRecordedRequests; }
        public ErrorFormat errorFormat() { return errorFormat; }
        public String apiKey() { return apiKey; }
        public boolean verbose() { return verbose; }
        public int backlog() { return backlog; }
        public boolean engine() { return engine; }
        public boolean legacyMetricNames() { return legacyMetricNames; }
        public int maxNumSeqs() { return maxNumSeqs; }
        public int maxNumBatchedTokens() { return maxNumBatchedTokens; }
        /** As set: negative means the token delay (see {@link #effectiveStepMs()}). */
        public double stepMs() { return stepMs; }
        public double effectiveStepMs() { return stepMs < 0 ? tokenDelayMs : stepMs; }
        public double decodeUsPerSeq() { return decodeUsPerSeq; }
        public double prefillUsPerToken() { return prefillUsPerToken; }
        public double slowness() { return slowness; }
        public int blockSize() { return blockSize; }
        public int numGpuBlocks() { return numGpuBlocks; }
        public int maxWaitingRequests() { return maxWaitingRequests; }
    }

    static void checkSlowness(double factor) {
        if (!(factor > 0 && factor <= 1000)) throw new IllegalArgumentException("slowness out of range: " + factor);
    }

    /** One request as received: method, raw target, path and query, headers (case-insensitive names), body bytes. */
    public static final class RecordedRequest {
        private final String method;
        private final String target;
        private final String path;
        private final String query;
        private final Map<String, List<String>> headers;
        private final byte[] body;

        RecordedRequest(String method, String target, String path, String query, Map<String, List<String>> headers,
                        byte[] body) {
            this.method = method;
            this.target = target;
            this.path = path;
            this.query = query;
            this.headers = headers;
            this.body = body;
        }

        public String method() { return method; }
        /** The request target exactly as in the request line (origin form {@code /v1/x?q}, or an absolute URI). */
        public String target() { return target; }
        /** Raw path without the query, e.g. {@code /v1/chat/completions}. */
        public String path() { return path; }
        /** Raw query, or null. */
        public String query() { return query; }
        /** Unmodifiable; lookups ignore the case of the name. */
        public Map<String, List<String>> headers() { return headers; }

        /** First value of a header (name case-insensitive), or null. */
        public String header(String name) {
            List<String> v = headers.get(name);
            return v == null || v.isEmpty() ? null : v.get(0);
        }

        /** A copy of the body bytes. */
        public byte[] body() { return body.clone(); }

        public String bodyText() { return new String(body, StandardCharsets.UTF_8); }

        @Override
        public String toString() {
            return method + " " + path + (query != null ? "?" + query : "") + " (" + body.length + " body bytes)";
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // instance state

    private final Options options;
    private final HttpServer server;
    private final ExecutorService executor;
    private final int port;
    private final String modelName;           // first served name: reported in responses
    private final byte[] modelsBody;          // GET /v1/models, precomputed
    private final String modelJson;           // JSON string literal of modelName
    private final AtomicBoolean closed = new AtomicBoolean();
    private final CountDownLatch closedLatch = new CountDownLatch(1);
    private final Map<String, String> simHeaders = new ConcurrentHashMap<>();
    private final ArrayDeque<RecordedRequest> recorded = new ArrayDeque<>();
    private final AtomicLong requestCount = new AtomicLong();
    private final AtomicLong cancelledStreams = new AtomicLong();
    private final AtomicLong completedStreams = new AtomicLong();
    private final AtomicInteger activeStreams = new AtomicInteger();
    private final AtomicInteger running = new AtomicInteger();
    /** Responses kept for {@code GET /v1/responses/{id}} (created with {@code store} not false), id to JSON. */
    private final Map<String, String> storedResponses = new ConcurrentHashMap<>();
    private final AtomicReference<AudioUpload> lastUpload = new AtomicReference<>();
    private volatile int healthStatus = 200;
    private volatile byte[] apiKeyHash;       // SHA-256 of the key /v1/* requests need, or null
    private volatile double slowness;
    private final Engine engine;              // null unless Options.engine(true)

    private VllmSimulator(Options options) throws IOException {
        this.options = options;
        this.modelName = options.servedModelNames().get(0);
        this.modelJson = Json.quote(modelName);
        this.modelsBody = buildModelsBody(options).getBytes(StandardCharsets.UTF_8);
        setApiKey(options.apiKey());
        this.slowness = options.slowness();
        // Without TCP_NODELAY the JDK server's separate header and body writes meet Nagle + delayed ACK (~40 ms
        // per small response). Read once when the JDK server classes load, so it only helps if set before.
        if (System.getProperty("sun.net.httpserver.nodelay") == null) {
            System.setProperty("sun.net.httpserver.nodelay", "true");
        }
        AtomicInteger threadIds = new AtomicInteger();
        ThreadPoolExecutor pool = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS,
                new SynchronousQueue<>(), r -> {
                    Thread t = new Thread(null, r, "vllm-sim-" + threadIds.incrementAndGet(), 512 * 1024);
                    t.setDaemon(true);
                    return t;
                });
        this.executor = pool;
        this.engine = options.engine() ? new Engine(options, "vllm-sim-engine") : null;
        HttpServer srv;
        try {
            srv = HttpServer.create(new InetSocketAddress(options.host(), options.port()), options.backlog());
        } catch (IOException | RuntimeException e) {
            if (engine != null) engine.close();
            throw e;
        }
        this.server = srv;
        this.server.setExecutor(pool);
        this.server.createContext("/", this::handle);
        this.server.start();
        this.port = server.getAddress().getPort();
    }

    /** Starts a simulator with the given options (port 0 = ephemeral). */
    public static VllmSimulator start(Options options) throws IOException {
        return new VllmSimulator(options);
    }

    /** Starts a simulator with default options on 127.0.0.1 and an ephemeral port. */
    public static VllmSimulator start() throws IOException {
        return start(new Options());
    }

    public Options options() { return options; }

    /** The bound port (the ephemeral one when started with port 0). */
    public int port() { return port; }

    public String host() { return options.host(); }

    /** {@code http://host:port}, no trailing slash and no {@code /v1} (OpenAI SDKs want {@code baseUrl() + "/v1"}). */
    public String baseUrl() {
        String h = options.host();
        if (h.indexOf(':') >= 0 && !h.startsWith("[")) h = "[" + h + "]";
        return "http://" + h + ":" + port;
    }

    /** {@code baseUrl() + path}. */
    public URI uri(String path) { return URI.create(baseUrl() + path); }

    /** Snapshot of the most recently received requests, oldest first (at most {@code maxRecordedRequests}). */
    public List<RecordedRequest> requests() {
        synchronized (recorded) {
            return List.copyOf(recorded);
        }
    }

    /**
     * The requests recorded from position {@code index} of {@link #requests()} on, health probes left out: what a
     * test sent through a gateway since it noted {@code requests().size()}.
     */
    public List<RecordedRequest> requestsSince(int index) {
        List<RecordedRequest> all = requests();
        return all.subList(Math.min(index, all.size()), all.size()).stream()
                .filter(r -> !r.path().equals("/health")).toList();
    }

    /** Requests received since start or the last {@link #reset()}, recorded or not. */
    public long requestCount() { return requestCount.get(); }

    /** The last audio upload the simulator read (its fields, its file counted), or null. */
    public AudioUpload lastUpload() { return lastUpload.get(); }

    /** Streams that ended because a write failed (the client went away) before {@code [DONE]}. */
    public long cancelledStreams() { return cancelledStreams.get(); }

    /** Streams that wrote {@code data: [DONE]}. */
    public long completedStreams() { return completedStreams.get(); }

    /** Streams whose headers were sent and that have not ended yet. */
    public int activeStreams() { return activeStreams.get(); }

    /** Waits (bounded) until {@link #cancelledStreams()} is at least {@code atLeast}; true if it got there. */
    public boolean awaitCancelledStreams(long atLeast, Duration timeout) throws InterruptedException {
        return await(cancelledStreams::get, atLeast, timeout);
    }

    /** Waits (bounded) until {@link #completedStreams()} is at least {@code atLeast}; true if it got there. */
    public boolean awaitCompletedStreams(long atLeast, Duration timeout) throws InterruptedException {
        return await(completedStreams::get, atLeast, timeout);
    }

    /** Forgets recorded requests and stored responses, and zeroes the request, cancelled and completed counters. */
    public void reset() {
        synchronized (recorded) {
            recorded.clear();
        }
        storedResponses.clear();
        requestCount.set(0);
        cancelledStreams.set(0);
        completedStreams.set(0);
    }

    /**
     * Acts as if every request to an API path ({@code /v1/...}) carried header {@code name} (one of the
     * {@code x-sim-*} headers) with {@code value}; a header on the request itself wins. {@code /health} and
     * {@code /metrics} are not affected (see {@link #setHealthStatus(int)}). A null value removes the setting.
     * Handy when the client under test does not forward {@code x-sim-*} headers.
     */
    public void setSimHeader(String name, String value) {
        String key = name.toLowerCase(java.util.Locale.ROOT);
        if (value == null) simHeaders.remove(key);
        else simHeaders.put(key, value);
    }

    public void clearSimHeaders() { simHeaders.clear(); }

    /** Status that {@code GET /health} answers (200 by default; e.g. 503 to simulate an unhealthy engine). */
    public void setHealthStatus(int status) {
        if (status < 200 || status > 599) throw new IllegalArgumentException("status out of range: " + status);
        this.healthStatus = status;
    }

    /** Changes the key {@code /v1/...} requests need (see {@link Options#apiKey}), e.g. to simulate a rotation. */
    public void setApiKey(String key) {
        if (key != null && key.isEmpty()) throw new IllegalArgumentException("api key must not be empty");
        this.apiKeyHash = key == null ? null : sha256(key);
    }

    /**
     * Multiplies the duration of every engine step from now on (with the engine model), else every per-token
     * delay of requests that start from now on; 1.0 is normal speed, 4.0 four times slower.
     */
    public void setSlowness(double factor) {
        checkSlowness(factor);
        this.slowness = factor;
        if (engine != null) engine.setSlowness(factor);
    }

    public double slowness() { return slowness; }

    /** Whether the engine model is on. */
    public boolean engineEnabled() { return engine != null; }

    /** Sequences running in the engine (without the engine: generation requests in progress). */
    public int numRunning() { return engine != null ? engine.numRunning() : running.get(); }

    /** Sequences waiting for a slot or KV blocks (0 without the engine). */
    public int numWaiting() { return engine != null ? engine.numWaiting() : 0; }

    /** Prompt tokens looked up in the prefix cache since start (0 without the engine). */
    public long prefixCacheQueries() { return engine != null ? engine.prefixCacheQueries() : 0; }

    /** Prompt tokens found in the prefix cache since start (0 without the engine). */
    public long prefixCacheHits() { return engine != null ? engine.prefixCacheHits() : 0; }

    /** Fraction (0..1) of KV-cache blocks held by running sequences (0 without the engine). */
    public double kvCacheUsage() { return engine != null ? engine.kvCacheUsage() : 0.0; }

    /** vLLM's AuthenticationMiddleware: OPTIONS and paths outside /v1 pass; else the bearer token must match. */
    private boolean authorized(String method, String path, Headers headers) {
        byte[] expected = apiKeyHash;
        if (expected == null || method.equals("OPTIONS") || !path.startsWith("/v1")) return true;
        String authorization = headers.getFirst("Authorization");
        if (authorization == null) return false;
        int space = authorization.indexOf(' ');
        String scheme = space < 0 ? authorization : authorization.substring(0, space);
        String token = space < 0 ? "" : authorization.substring(space + 1);
        return scheme.equalsIgnoreCase("bearer") && MessageDigest.isEqual(expected, sha256(token));
    }

    private static byte[] sha256(String s) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Stops listening, drops open connections and interrupts running handlers. Idempotent. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) return;
        try {
            if (engine != null) engine.close();
            server.stop(0);
        } finally {
            executor.shutdownNow();
            try {
                executor.awaitTermination(2, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            closedLatch.countDown();
        }
    }

    private static boolean await(LongSupplier value, long atLeast, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (value.getAsLong() < atLeast) {
            if (System.nanoTime() - deadline >= 0) return false;
            Thread.sleep(10);
        }
        return true;
    }

    // ------------------------------------------------------------------------------------------------------------
    // HTTP handling

    /** An error answered as vLLM's error JSON. Stackless: thrown on the request path. */
    static final class ApiError extends Exception {
        private static final long serialVersionUID = 1L;
        final int status;
        final String type;

        ApiError(int status, String type, String message) {
            super(message, null, false, false);
            this.status = status;
            this.type = type;
        }
    }

    static ApiError badRequest(String message) {
        return new ApiError(400, "BadRequestError", message);
    }

    private void handle(HttpExchange ex) {
        String method = ex.getRequestMethod();
        URI uri = ex.getRequestURI();
        String path = uri.getRawPath();
        try {
            // an audio upload is read as a stream by its endpoint (it may be far larger than any JSON body)
            byte[] body = isAudioPath(path) ? new byte[0] : ex.getRequestBody().readNBytes(MAX_BODY_BYTES + 1);
            requestCount.incrementAndGet();
            if (!(method.equals("GET") && path.equals("/metrics"))) { // a gateway scrapes it every 500 ms
                record(method, uri, ex.getRequestHeaders(), body);
            }
            if (options.verbose()) System.err.println("vllm-sim: " + method + " " + uri);
            if (!authorized(method, path, ex.getRequestHeaders())) {
                sendJson(ex, 401, "{\"error\":\"Unauthorized\"}");
                return;
            }
            if (body.length > MAX_BODY_BYTES) {
                throw new ApiError(413, "BadRequestError", "Request body larger than " + MAX_BODY_BYTES + " bytes");
            }
            // instance-wide sim headers (setSimHeader) apply to the API paths only
            SimHeaders h = new SimHeaders(ex.getRequestHeaders(), path.startsWith("/v1/") ? simHeaders : Map.of());
            long before = simLong(h, HEADER_DELAY_BEFORE_HEADERS, 0, 0, Long.MAX_VALUE);
            sleep(Math.min(before, options.stallMaxMs()));
            String status = h.get(HEADER_STATUS);
            if (status != null) {
                int code = parseStatus(status);
                throw new ApiError(code, errorType(code), "Simulated error (" + HEADER_STATUS + ": " + code + ")");
            }
            route(ex, method, path, h, body);
        } catch (ApiError e) {
            sendErrorQuietly(ex, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // the client went away while we were answering; nothing to tell anyone
        } catch (RuntimeException e) {
            if (options.verbose()) e.printStackTrace();
            sendErrorQuietly(ex, new ApiError(500, "InternalServerError", "Simulator failure: " + e));
        } finally {
            ex.close();
        }
    }

    private void route(HttpExchange ex, String method, String path, SimHeaders h, byte[] body)
            throws IOException, InterruptedException, ApiError {
        if (path.startsWith(RESPONSES_PREFIX) && path.length() > RESPONSES_PREFIX.length()) {
            responseById(ex, method, path.substring(RESPONSES_PREFIX.length()), ex.getRequestURI().getRawQuery());
            return;
        }
        switch (path) {
            case "/v1/chat/completions":
                if (requireMethod(ex, method, "POST")) generate(ex, h, body, true);
                break;
            case "/v1/completions":
                if (requireMethod(ex, method, "POST")) generate(ex, h, body, false);
                break;
            case "/v1/embeddings":
                if (requireMethod(ex, method, "POST")) embeddings(ex, body);
                break;
            case "/v1/models":
                if (requireMethod(ex, method, "GET")) sendJson(ex, 200, modelsBody);
                break;
            case "/v1/responses":
                if (requireMethod(ex, method, "POST")) responses(ex, h, body);
                break;
            case "/v1/messages":
                if (requireMethod(ex, method, "POST")) messages(ex, h, body);
                break;
            case "/v1/messages/count_tokens":
                if (requireMethod(ex, method, "POST")) countTokens(ex, body);
                break;
            case TRANSCRIPTIONS:
            case TRANSLATIONS:
                if (requireMethod(ex, method, "POST")) audio(ex, h, path.equals(TRANSLATIONS));
                break;
            case "/score":
            case "/v1/score":
                if (requireMethod(ex, method, "POST")) score(ex, body);
                break;
            case "/rerank":
            case "/v1/rerank":
            case "/v2/rerank":
                if (requireMethod(ex, method, "POST")) rerank(ex, body);
                break;
            case "/tokenize":
                if (requireMethod(ex, method, "POST")) tokenize(ex, body);
                break;
            case "/detokenize":
                if (requireMethod(ex, method, "POST")) detokenize(ex, body);
                break;
            case "/pooling":
                if (requireMethod(ex, method, "POST")) pooling(ex, body);
                break;
            case "/classify":
                if (requireMethod(ex, method, "POST")) classify(ex, body);
                break;
            case "/health":
                if (requireMethod(ex, method, "GET")) ex.sendResponseHeaders(healthStatus, -1);
                break;
            case "/version":
                if (requireMethod(ex, method, "GET")) sendJson(ex, 200, "{\"version\":\"vllm-sim\"}");
                break;
            case "/metrics":
                if (requireMethod(ex, method, "GET")) sendMetrics(ex);
                break;
            default:
                sendJson(ex, 404, "{\"detail\":\"Not Found\"}");
        }
    }

    /** FastAPI's 405 for a known path and another method. */
    private static boolean requireMethod(HttpExchange ex, String method, String allowed) throws IOException {
        if (allowed.equals(method)) return true;
        ex.getResponseHeaders().set("Allow", allowed);
        sendJson(ex, 405, "{\"detail\":\"Method Not Allowed\"}");
        return false;
    }

    private void record(String method, URI target, Headers headers, byte[] body) {
        int max = options.maxRecordedRequests();
        if (max == 0) return;
        TreeMap<String, List<String>> copy = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        for (Map.Entry<String, List<String>> e : headers.entrySet()) {
            copy.put(e.getKey(), List.copyOf(e.getValue()));
        }
        RecordedRequest r = new RecordedRequest(method, target.toString(), target.getRawPath(), target.getRawQuery(),
                Collections.unmodifiableMap(copy), body);
        synchronized (recorded) {
            while (recorded.size() >= max) recorded.pollFirst();
            recorded.addLast(r);
        }
    }

    /** The x-sim-* headers of one request, falling back to instance-wide defaults. */
    private static final class SimHeaders {
        final Headers request;
        final Map<String, String> defaults;

        SimHeaders(Headers request, Map<String, String> defaults) {
            this.request = request;
            this.defaults = defaults;
        }

        String get(String name) {
            String v = request.getFirst(name);
            if (v == null) v = defaults.get(name);
            return v == null ? null : v.trim();
        }
    }

    private static long simLong(SimHeaders h, String name, long def, long min, long max) throws ApiError {
        String v = h.get(name);
        if (v == null || v.isEmpty()) return def;
        try {
            long n = Long.parseLong(v);
            if (n >= min && n <= max) return n;
        } catch (NumberFormatException ignored) {
            // answered below
        }
        throw badRequest("Invalid header " + name + ": " + v + " (expected an integer in " + min + ".." + max + ")");
    }

    private static int parseStatus(String v) throws ApiError {
        try {
            int code = Integer.parseInt(v);
            if (code >= 400 && code <= 599) return code;
        } catch (NumberFormatException ignored) {
            // answered below
        }
        throw badRequest("Invalid header " + HEADER_STATUS + ": " + v + " (expected 400..599)");
    }

    /** The error type vLLM / the OpenAI SDK would name for a status. */
    static String errorType(int status) {
        switch (status) {
            case 400: return "BadRequestError";
            case 401: return "AuthenticationError";
            case 403: return "PermissionDeniedError";
            case 404: return "NotFoundError";
            case 409: return "ConflictError";
            case 422: return "UnprocessableEntityError";
            case 429: return "RateLimitError";
            case 500: return "InternalServerError";
            case 501: return "NotImplementedError";
            case 503: return "ServiceUnavailableError";
            default: return status >= 500 ? "InternalServerError" : "BadRequestError";
        }
    }

    String errorBody(ApiError e) {
        String msg = Json.quote(e.getMessage());
        String type = Json.quote(e.type);
        if (options.errorFormat() == ErrorFormat.LEGACY) {
            return "{\"object\":\"error\",\"message\":" + msg + ",\"type\":" + type + ",\"param\":null,\"code\":"
                    + e.status + "}";
        }
        return "{\"error\":{\"message\":" + msg + ",\"type\":" + type + ",\"param\":null,\"code\":" + e.status + "}}";
    }

    private void sendErrorQuietly(HttpExchange ex, ApiError e) {
        if (ex.getResponseCode() != -1) return; // headers already sent: nothing sensible left to do
        try {
            sendJson(ex, e.status, errorBody(e));
        } catch (IOException ignored) {
            // client gone
        }
    }

    private static void sendJson(HttpExchange ex, int status, String json) throws IOException {
        sendJson(ex, status, json.getBytes(StandardCharsets.UTF_8));
    }

    private static void sendJson(HttpExchange ex, int status, byte[] body) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, body.length);
        OutputStream os = ex.getResponseBody();
        os.write(body);
        os.close();
    }

    private static void sleep(long ms) throws InterruptedException {
        if (ms > 0) Thread.sleep(ms);
    }

    private void checkModel(Map<String, Object> req) throws ApiError {
        Object m = req.get("model");
        if (m == null) return; // vLLM serves its model when the request names none
        if (!(m instanceof String)) throw badRequest("model: Input should be a valid string");
        if (!options.servedModelNames().contains(m)) {
            throw new ApiError(404, "NotFoundError", "The model `" + m + "` does not exist.");
        }
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> parseObject(byte[] body) throws ApiError {
        Object parsed;
        try {
            parsed = Json.parse(new String(body, StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            throw badRequest("Invalid JSON body: " + e.getMessage());
        }
        if (!(parsed instanceof Map)) throw badRequest("The request body must be a JSON object");
        return (Map<String, Object>) parsed;
    }

    /** An integer request field, or null when absent/null; integral floats are accepted (pydantic lax mode). */
    static Long optLong(Map<String, Object> req, String field) throws ApiError {
        Object v = req.get(field);
        if (v == null) return null;
        if (v instanceof Long) return (Long) v;
        if (v instanceof Double) {
            double d = (Double) v;
            if (d == Math.rint(d) && Math.abs(d) < 9.0e15) return (long) d;
        }
        throw badRequest(field + ": Input should be a valid integer");
    }

    static boolean optBool(Map<String, Object> req, String field) throws ApiError {
        Object v = req.get(field);
        if (v == null) return false;
        if (v instanceof Boolean) return (Boolean) v;
        throw badRequest(field + ": Input should be a valid boolean");
    }

    // ------------------------------------------------------------------------------------------------------------
    // chat completions and completions

    /** Lorem-ipsum vocabulary: generated text looks unmistakably fake. */
    private static final String[] WORDS = (
            "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et "
            + "dolore magna aliqua ut enim ad minim veniam quis nostrud exercitation ullamco laboris nisi ut aliquip "
            + "ex ea commodo consequat duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore "
            + "eu fugiat nulla pariatur excepteur sint occaecat cupidatat non proident sunt in culpa qui officia "
            + "deserunt mollit anim id est laborum").split(" ");
    /** Token texts as they appear inside JSON strings: first token capitalised, later ones with a leading space. */
    private static final String[] FIRST_TOKENS = new String[WORDS.length];
    private static final String[] NEXT_TOKENS = new String[WORDS.length];

    static {
        for (int i = 0; i < WORDS.length; i++) {
            FIRST_TOKENS[i] = Character.toUpperCase(WORDS[i].charAt(0)) + WORDS[i].substring(1);
            NEXT_TOKENS[i] = " " + WORDS[i];
        }
    }

    /** Token {@code i} of the text generated from {@code seed} (already JSON-safe: plain ASCII letters). */
    static String token(long seed, int i) {
        int w = (int) Long.remainderUnsigned(seed + i, WORDS.length);
        return i == 0 ? FIRST_TOKENS[w] : NEXT_TOKENS[w];
    }

    /** The whole text of {@code tokens} tokens generated from {@code seed}. */
    static String text(long seed, int tokens) {
        StringBuilder sb = new StringBuilder(tokens * 8);
        for (int i = 0; i < tokens; i++) sb.append(token(seed, i));
        return sb.toString();
    }

    /** Approximate token count of a text: one per whitespace-separated word. */
    static int countWords(CharSequence s) {
        int n = 0;
        boolean inWord = false;
        for (int i = 0, len = s.length(); i < len; i++) {
            boolean ws = Character.isWhitespace(s.charAt(i));
            if (!ws && !inWord) n++;
            inWord = !ws;
        }
        return n;
    }

    /** FNV-1a over the UTF-16 units of a string: a stable seed. */
    static long hash(CharSequence s) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0, len = s.length(); i < len; i++) {
            h ^= s.charAt(i);
            h *= 0x100000001b3L;
        }
        return h;
    }

    static long hash(List<Long> tokens) {
        long h = 0x84222325cbf29ce4L;
        for (Long t : tokens) {
            h ^= t;
            h *= 0x100000001b3L;
        }
        return h;
    }

    /** One prompt of a request: its token count, the seed of the text generated for it, its token ids (engine). */
    private static final class Prompt {
        final int tokens;
        final long seed;
        final long[] ids; // null unless the engine model is on

        Prompt(int tokens, long seed, long[] ids) {
            this.tokens = tokens;
            this.seed = seed;
            this.ids = ids;
        }
    }

    /** Token id of a chat template's special token or of BOS. */
    private static final long BOS = hash("<|begin_of_text|>");
    private static final long HEADER_START = hash("<|start_header_id|>");
    private static final long HEADER_END = hash("<|end_header_id|>");
    private static final long END_OF_TURN = hash("<|eot_id|>");

    /** Writes one token id per whitespace-separated word of {@code s} (FNV-1a of the word) from {@code at}. */
    static int wordIds(CharSequence s, long[] out, int at) {
        long h = 0;
        boolean inWord = false;
        for (int i = 0, len = s.length(); i < len; i++) {
            char c = s.charAt(i);
            if (Character.isWhitespace(c)) {
                if (inWord) out[at++] = h;
                inWord = false;
                continue;
            }
            if (!inWord) h = 0xcbf29ce484222325L;
            h ^= c;
            h *= 0x100000001b3L;
            inWord = true;
        }
        if (inWord) out[at++] = h;
        return at;
    }

    private static String randomId(String prefix) {
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return prefix + Long.toHexString(r.nextLong() | Long.MIN_VALUE) + Long.toHexString(r.nextLong() | Long.MIN_VALUE);
    }

    private void generate(HttpExchange ex, SimHeaders h, byte[] body, boolean chat)
            throws IOException, InterruptedException, ApiError {
        Map<String, Object> req = parseObject(body);
        checkModel(req);
        boolean ids = engine != null;
        List<Prompt> prompts = chat ? chatPrompt(req, ids) : completionPrompts(req, ids);
        int promptTokens = 0;
        for (Prompt p : prompts) promptTokens += p.tokens;
        int maxPromptTokens = 0;
        for (Prompt p : prompts) maxPromptTokens = Math.max(maxPromptTokens, p.tokens);

        Long n = optLong(req, "n");
        if (n != null && n < 1) throw badRequest("n must be at least 1, got " + n + ".");
        long choices = Math.min(n == null ? 1 : n, MAX_CHOICES + 1L) * prompts.size();
        if (choices > MAX_CHOICES) throw badRequest("Too many choices requested (simulator limit " + MAX_CHOICES + ")");

        Long requested = chat ? optLong(req, "max_completion_tokens") : null;
        if (requested == null) requested = optLong(req, "max_tokens");
        int maxLen = options.maxModelLen();
        if (maxPromptTokens >= maxLen) {
            throw badRequest("This model's maximum context length is " + maxLen + " tokens. However, your request has "
                    + maxPromptTokens + " input tokens. Please reduce the length of the input messages.");
        }
        int maxTokens;
        if (requested == null) {
            maxTokens = Math.min(options.maxTokens(), maxLen - maxPromptTokens);
        } else {
            if (requested < 1) throw badRequest("max_tokens must be at least 1, got " + requested + ".");
            if (requested > maxLen - maxPromptTokens) {
                throw badRequest("'max_tokens' or 'max_completion_tokens' is too large: " + requested + ". This model's "
                        + "maximum context length is " + maxLen + " tokens and your request has " + maxPromptTokens
                        + " input tokens (" + requested + " > " + maxLen + " - " + maxPromptTokens + ").");
            }
            maxTokens = (int) (long) requested;
        }

        boolean stream = optBool(req, "stream");
        boolean includeUsage = false;
        boolean continuousUsage = false;
        Object so = req.get("stream_options");
        if (so != null) {
            if (!stream) throw badRequest("Stream options can only be defined when `stream=True`.");
            if (!(so instanceof Map)) throw badRequest("stream_options: Input should be a valid dictionary");
            @SuppressWarnings("unchecked") Map<String, Object> opts = (Map<String, Object>) so;
            includeUsage = optBool(opts, "include_usage");
            continuousUsage = includeUsage && optBool(opts, "continuous_usage_stats");
        }
        long tokenDelay = simLong(h, HEADER_TOKEN_DELAY, options.tokenDelayMs(), 0, MAX_TOKEN_DELAY_MS);
        long stallAfter = simLong(h, HEADER_STALL_AFTER_CHUNKS, -1, 0, Long.MAX_VALUE);
        long stallMs = Math.min(simLong(h, HEADER_STALL_MS, options.stallMaxMs(), 0, Long.MAX_VALUE),
                options.stallMaxMs());

        int perPrompt = (int) (choices / prompts.size());
        long[] seeds = new long[(int) choices];
        for (int c = 0; c < choices; c++) {
            seeds[c] = prompts.get(c / perPrompt).seed + 13L * (c % perPrompt);
        }
        Generation g = new Generation(chat, randomId(chat ? "chatcmpl-" : "cmpl-"),
                System.currentTimeMillis() / 1000, seeds, maxTokens, promptTokens);
        if (engine != null) {
            long[][] seqIds = new long[(int) choices][];
            for (int c = 0; c < choices; c++) seqIds[c] = prompts.get(c / perPrompt).ids;
            engineGenerate(ex, g, seqIds, stream, includeUsage, continuousUsage, stallAfter, stallMs);
            return;
        }
        double slow = slowness;
        if (slow != 1.0) tokenDelay = Math.round(tokenDelay * slow);
        running.incrementAndGet();
        try {
            if (stream) {
                stream(ex, g, includeUsage, continuousUsage, tokenDelay, stallAfter, stallMs);
            } else {
                sleep(tokenDelay * maxTokens);
                sendJson(ex, 200, g.fullResponse());
            }
        } finally {
            running.decrementAndGet();
        }
    }

    private static List<Prompt> chatPrompt(Map<String, Object> req, boolean withIds) throws ApiError {
        Object messages = req.get("messages");
        if (messages == null) throw badRequest("messages: Field required");
        if (!(messages instanceof List)) throw badRequest("messages: Input should be a valid list");
        StringBuilder all = new StringBuilder();
        int tokens = 1; // BOS
        List<String> roles = withIds ? new ArrayList<>() : null;
        List<CharSequence> contents = withIds ? new ArrayList<>() : null;
        for (Object m : (List<?>) messages) {
            if (!(m instanceof Map)) throw badRequest("messages: each message should be an object");
            Map<?, ?> msg = (Map<?, ?>) m;
            Object role = msg.get("role");
            if (!(role instanceof String)) throw badRequest("messages: each message needs a string role");
            StringBuilder content = new StringBuilder();
            Object c = msg.get("content");
            if (c instanceof String) {
                content.append((String) c);
            } else if (c instanceof List) {
                for (Object part : (List<?>) c) {
                    if (part instanceof Map && ((Map<?, ?>) part).get("text") instanceof String) {
                        content.append((String) ((Map<?, ?>) part).get("text")).append(' ');
                    }
                }
            }
            tokens += 4 + countWords(content); // role header and end-of-turn tokens of a chat template
            all.append(role).append(": ").append(content).append('\n');
            if (withIds) {
                roles.add((String) role);
                contents.add(content);
            }
        }
        long[] ids = null;
        if (withIds) { // BOS, then per message: header start, role, header end, the words, end of turn
            ids = new long[tokens];
            int at = 0;
            ids[at++] = BOS;
            for (int m = 0; m < roles.size(); m++) {
                ids[at++] = HEADER_START;
                ids[at++] = hash(roles.get(m));
                ids[at++] = HEADER_END;
                at = wordIds(contents.get(m), ids, at);
                ids[at++] = END_OF_TURN;
            }
        }
        return List.of(new Prompt(tokens, hash(all), ids));
    }

    private static List<Prompt> completionPrompts(Map<String, Object> req, boolean withIds) throws ApiError {
        Object prompt = req.get("prompt");
        if (prompt == null) throw badRequest("prompt: Field required");
        if (prompt instanceof String) return List.of(textPrompt((String) prompt, withIds));
        if (prompt instanceof List) {
            List<?> list = (List<?>) prompt;
            if (list.isEmpty()) throw badRequest("Prompt cannot be empty");
            List<Prompt> out = new ArrayList<>();
            if (list.get(0) instanceof Long) {
                out.add(tokenPrompt(list));
                return out;
            }
            for (Object p : list) {
                if (p instanceof String) out.add(textPrompt((String) p, withIds));
                else if (p instanceof List) out.add(tokenPrompt((List<?>) p));
                else throw badRequest("prompt: Input should be a string, a list of strings or token ids");
            }
            return out;
        }
        throw badRequest("prompt: Input should be a string, a list of strings or token ids");
    }

    private static Prompt textPrompt(String p, boolean withIds) {
        int tokens = 1 + countWords(p);
        long[] ids = null;
        if (withIds) {
            ids = new long[tokens];
            ids[0] = BOS;
            wordIds(p, ids, 1);
        }
        return new Prompt(tokens, hash(p), ids);
    }

    private static Prompt tokenPrompt(List<?> ids) throws ApiError {
        if (ids.isEmpty()) throw badRequest("Prompt cannot be empty");
        List<Long> tokens = new ArrayList<>(ids.size());
        for (Object t : ids) {
            if (!(t instanceof Long)) throw badRequest("prompt: token ids should be integers");
            tokens.add((Long) t);
        }
        long[] arr = new long[tokens.size()];
        for (int k = 0; k < arr.length; k++) arr[k] = tokens.get(k);
        return new Prompt(tokens.size(), hash(tokens), arr);
    }

    /** One generation request: builds the response body or the stream's events. */
    private final class Generation {
        final boolean chat;
        final String head; // {"id":...,"object":...,"created":...,"model":...,"choices":[   (of stream chunks)
        final String fullHead; // the same for the non-stream response
        final long[] seeds;
        final int maxTokens;
        final int promptTokens;

        Generation(boolean chat, String id, long created, long[] seeds, int maxTokens, int promptTokens) {
            this.chat = chat;
            this.seeds = seeds;
            this.maxTokens = maxTokens;
            this.promptTokens = promptTokens;
            String rest = "\",\"created\":" + created + ",\"model\":" + modelJson + ",\"choices\":[";
            this.head = "{\"id\":\"" + id + "\",\"object\":\"" + (chat ? "chat.completion.chunk" : "text_completion") + rest;
            this.fullHead = "{\"id\":\"" + id + "\",\"object\":\"" + (chat ? "chat.completion" : "text_completion") + rest;
        }

        String usage(int completionTokens) {
            return "{\"prompt_tokens\":" + promptTokens + ",\"total_tokens\":" + (promptTokens + completionTokens)
                    + ",\"completion_tokens\":" + completionTokens + ",\"prompt_tokens_details\":null}";
        }

        String fullResponse() {
            StringBuilder sb = new StringBuilder(256 + seeds.length * maxTokens * 10);
            sb.append(fullHead);
            for (int c = 0; c < seeds.length; c++) {
                if (c > 0) sb.append(',');
                sb.append("{\"index\":").append(c);
                if (chat) {
                    sb.append(",\"message\":{\"role\":\"assistant\",\"content\":\"").append(text(seeds[c], maxTokens))
                            .append("\",\"refusal\":null,\"tool_calls\":[],\"reasoning_content\":null}")
                            .append(",\"logprobs\":null,\"finish_reason\":\"length\",\"stop_reason\":null}");
                } else {
                    sb.append(",\"text\":\"").append(text(seeds[c], maxTokens))
                            .append("\",\"logprobs\":null,\"finish_reason\":\"length\",\"stop_reason\":null")
                            .append(",\"prompt_logprobs\":null}");
                }
            }
            sb.append("],\"usage\":").append(usage(seeds.length * maxTokens));
            if (chat) sb.append(",\"prompt_logprobs\":null");
            sb.append(",\"system_fingerprint\":null}");
            return sb.toString();
        }

        /** The chat stream's first event of a choice: the assistant role with empty content. */
        String roleChunk(int c, boolean continuousUsage) {
            return head + "{\"index\":" + c + ",\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
                    + "\"finish_reason\":null}]" + (continuousUsage ? ",\"usage\":" + usage(0) : "") + "}";
        }

        String tokenChunk(StringBuilder sb, int c, int i, boolean continuousUsage) {
            sb.setLength(0);
            boolean last = i == maxTokens - 1;
            sb.append(head).append("{\"index\":").append(c);
            if (chat) sb.append(",\"delta\":{\"content\":\"").append(token(seeds[c], i)).append("\"}");
            else sb.append(",\"text\":\"").append(token(seeds[c], i)).append('"');
            sb.append(",\"logprobs\":null,\"finish_reason\":").append(last ? "\"length\"" : "null");
            if (last || !chat) sb.append(",\"stop_reason\":null");
            sb.append("}]");
            if (continuousUsage) sb.append(",\"usage\":").append(usage(i + 1));
            return sb.append('}').toString();
        }

        String usageChunk() {
            return head + "],\"usage\":" + usage(seeds.length * maxTokens) + "}";
        }
    }

    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] EVENT_END = "\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    /** Writes SSE events one chunk each, stalling once when told to. */
    private static final class EventWriter {
        final OutputStream os;
        final long stallAfter;
        final long stallMs;
        long sent;

        EventWriter(OutputStream os, long stallAfter, long stallMs) {
            this.os = os;
            this.stallAfter = stallAfter;
            this.stallMs = stallMs;
        }

        void event(String json) throws IOException, InterruptedException {
            beforeEvent();
            os.write(DATA);
            os.write(json.getBytes(StandardCharsets.UTF_8));
            os.write(EVENT_END);
            os.flush();
        }

        void done() throws IOException, InterruptedException {
            beforeEvent();
            os.write(DONE);
            os.flush();
        }

        private void beforeEvent() throws InterruptedException {
            if (sent++ == stallAfter) sleep(stallMs);
        }
    }

    private void stream(HttpExchange ex, Generation g, boolean includeUsage, boolean continuousUsage, long tokenDelay,
                        long stallAfter, long stallMs) throws IOException, InterruptedException {
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.sendResponseHeaders(200, 0);
        activeStreams.incrementAndGet();
        try {
            EventWriter w = new EventWriter(ex.getResponseBody(), stallAfter, stallMs);
            if (stallAfter == 0) {
                // stalling before the first event: push the headers out now so the client sees a started response
                w.os.flush();
            }
            int choices = g.seeds.length;
            if (g.chat) {
                for (int c = 0; c < choices; c++) w.event(g.roleChunk(c, continuousUsage));
            }
            StringBuilder sb = new StringBuilder(256);
            for (int i = 0; i < g.maxTokens; i++) {
                sleep(tokenDelay);
                for (int c = 0; c < choices; c++) w.event(g.tokenChunk(sb, c, i, continuousUsage));
            }
            if (includeUsage) w.event(g.usageChunk());
            w.done();
            completedStreams.incrementAndGet();
        } catch (IOException e) {
            if (!closed.get()) {
                cancelledStreams.incrementAndGet();
                if (options.verbose()) System.err.println("vllm-sim: stream cancelled (" + e.getMessage() + ")");
            }
        } finally {
            activeStreams.decrementAndGet();
        }
    }

    /** Generation through the engine model: tokens arrive as engine steps produce them. */
    private void engineGenerate(HttpExchange ex, Generation g, long[][] seqIds, boolean stream, boolean includeUsage,
                                boolean continuousUsage, long stallAfter, long stallMs)
            throws IOException, InterruptedException, ApiError {
        Engine.Request r = engine.submit(seqIds, g.maxTokens);
        running.incrementAndGet();
        try {
            if (stream) {
                engineStream(ex, g, r, includeUsage, continuousUsage, stallAfter, stallMs);
            } else {
                for (int remaining = g.seeds.length * g.maxTokens; remaining > 0; remaining--) {
                    if (r.events.take() == Engine.CLOSED) throw new IOException("engine stopped");
                }
                sendJson(ex, 200, g.fullResponse());
            }
        } finally {
            running.decrementAndGet();
            engine.abort(r); // no-op when every sequence finished
        }
    }

    private void engineStream(HttpExchange ex, Generation g, Engine.Request r, boolean includeUsage,
                              boolean continuousUsage, long stallAfter, long stallMs)
            throws IOException, InterruptedException {
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.sendResponseHeaders(200, 0);
        activeStreams.incrementAndGet();
        try {
            EventWriter w = new EventWriter(ex.getResponseBody(), stallAfter, stallMs);
            w.os.flush(); // headers now, as vLLM's StreamingResponse; events come with the tokens
            int choices = g.seeds.length;
            boolean[] roleSent = new boolean[choices];
            StringBuilder sb = new StringBuilder(256);
            for (int remaining = choices * g.maxTokens; remaining > 0; remaining--) {
                long ev = r.events.take();
                if (ev == Engine.CLOSED) throw new IOException("engine stopped");
                int c = (int) (ev >>> 32);
                int i = (int) ev;
                if (g.chat && !roleSent[c]) { // vLLM sends the role chunk with the first output
                    roleSent[c] = true;
                    w.event(g.roleChunk(c, continuousUsage));
                }
                w.event(g.tokenChunk(sb, c, i, continuousUsage));
            }
            if (includeUsage) w.event(g.usageChunk());
            w.done();
            completedStreams.incrementAndGet();
        } catch (IOException e) {
            if (!closed.get()) {
                cancelledStreams.incrementAndGet();
                if (options.verbose()) System.err.println("vllm-sim: stream cancelled (" + e.getMessage() + ")");
            }
        } finally {
            activeStreams.decrementAndGet();
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // embeddings

    private void embeddings(HttpExchange ex, byte[] body) throws IOException, ApiError {
        Map<String, Object> req = parseObject(body);
        checkModel(req);
        Object input = req.get("input");
        if (input == null) throw badRequest("input: Field required");
        List<Object> items = new ArrayList<>();
        if (input instanceof String) {
            items.add(input);
        } else if (input instanceof List && !((List<?>) input).isEmpty()) {
            List<?> list = (List<?>) input;
            if (list.get(0) instanceof Long) items.add(list);
            else items.addAll(list);
        } else {
            throw badRequest("input: Input should be a non-empty string, list of strings or token ids");
        }
        Long dims = optLong(req, "dimensions");
        if (dims != null && (dims < 1 || dims > MAX_EMBEDDING_DIM)) {
            throw badRequest("dimensions must be in 1.." + MAX_EMBEDDING_DIM + ", got " + dims);
        }
        int dim = dims == null ? options.embeddingDim() : (int) (long) dims;
        Object format = req.get("encoding_format");
        boolean base64;
        if (format == null || "float".equals(format)) base64 = false;
        else if ("base64".equals(format)) base64 = true;
        else throw badRequest("encoding_format: Input should be 'float' or 'base64'");

        StringBuilder sb = new StringBuilder(128 + items.size() * dim * 14);
        sb.append("{\"id\":\"").append(randomId("embd-")).append("\",\"object\":\"list\",\"created\":")
                .append(System.currentTimeMillis() / 1000).append(",\"model\":").append(modelJson).append(",\"data\":[");
        int tokens = 0;
        for (int i = 0; i < items.size(); i++) {
            Object item = items.get(i);
            long seed;
            if (item instanceof String) {
                seed = hash((String) item);
                tokens += 1 + countWords((String) item);
            } else if (item instanceof List) {
                Prompt p = tokenPrompt((List<?>) item);
                seed = p.seed;
                tokens += p.tokens;
            } else {
                throw badRequest("input: Input should be a non-empty string, list of strings or token ids");
            }
            float[] v = embedding(seed, dim);
            if (i > 0) sb.append(',');
            sb.append("{\"index\":").append(i).append(",\"object\":\"embedding\",\"embedding\":");
            if (base64) {
                ByteBuffer buf = ByteBuffer.allocate(dim * 4).order(ByteOrder.LITTLE_ENDIAN);
                for (float f : v) buf.putFloat(f);
                sb.append('"').append(Base64.getEncoder().encodeToString(buf.array())).append('"');
            } else {
                sb.append('[');
                for (int d = 0; d < dim; d++) {
                    if (d > 0) sb.append(',');
                    sb.append(v[d]);
                }
                sb.append(']');
            }
            sb.append('}');
        }
        sb.append("],\"usage\":{\"prompt_tokens\":").append(tokens).append(",\"total_tokens\":").append(tokens)
                .append(",\"completion_tokens\":0,\"prompt_tokens_details\":null}}");
        sendJson(ex, 200, sb.toString());
    }

    /** A deterministic unit vector: splitmix64 from the seed, uniform in [-1, 1) per component, normalised. */
    static float[] embedding(long seed, int dim) {
        double[] v = new double[dim];
        double norm = 0;
        long x = seed;
        for (int d = 0; d < dim; d++) {
            x += 0x9E3779B97F4A7C15L;
            long z = x;
            z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
            z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
            z ^= z >>> 31;
            double u = (z >>> 11) * 0x1.0p-53 * 2 - 1;
            v[d] = u;
            norm += u * u;
        }
        float[] out = new float[dim];
        if (norm == 0) {
            out[0] = 1f;
            return out;
        }
        norm = Math.sqrt(norm);
        for (int d = 0; d < dim; d++) out[d] = (float) (v[d] / norm);
        return out;
    }

    // ------------------------------------------------------------------------------------------------------------
    // score, rerank, tokenize, detokenize, pooling, classify (vLLM's own endpoints, shapes of its protocol.py)

    /** A text field that is a string or a non-empty list of strings, as a list. */
    @SuppressWarnings("unchecked")
    private static List<String> texts(Map<String, Object> req, String field) throws ApiError {
        Object v = req.get(field);
        if (v == null) throw badRequest(field + ": Field required");
        if (v instanceof String) return List.of((String) v);
        if (v instanceof List && !((List<?>) v).isEmpty()) {
            List<String> out = new ArrayList<>();
            for (Object o : (List<Object>) v) {
                if (o instanceof String) out.add((String) o);
                else if (o instanceof Map && ((Map<String, Object>) o).get("text") instanceof String) {
                    out.add((String) ((Map<String, Object>) o).get("text"));
                } else {
                    throw badRequest(field + ": Input should be a string or a list of strings");
                }
            }
            return out;
        }
        throw badRequest(field + ": Input should be a string or a non-empty list of strings");
    }

    /**
     * A deterministic relevance in (0, 1) of {@code document} to {@code query}: the share of the query's words found
     * in the document, blended with a hash of the pair (so that unrelated texts still differ).
     */
    static double relevance(String query, String document) {
        String[] q = query.toLowerCase(java.util.Locale.ROOT).split("\\W+");
        java.util.Set<String> d = new java.util.HashSet<>(List.of(document.toLowerCase(java.util.Locale.ROOT).split("\\W+")));
        int words = 0;
        int found = 0;
        for (String w : q) {
            if (w.isEmpty()) continue;
            words++;
            if (d.contains(w)) found++;
        }
        double overlap = words == 0 ? 0 : (double) found / words;
        double noise = unit(hash(query + "\u0000" + document));
        return 0.01 + 0.8 * overlap + 0.18 * noise;
    }

    /** A hash spread over [0, 1) (splitmix64's finaliser: nearby hashes give unrelated values). */
    static double unit(long h) {
        long z = h + 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        z ^= z >>> 31;
        return (z >>> 11) * 0x1.0p-53;
    }

    private static int tokensOf(String s) {
        return 1 + countWords(s);
    }

    private String listHead(String idPrefix) {
        return "{\"id\":\"" + randomId(idPrefix) + "\",\"object\":\"list\",\"created\":" + System.currentTimeMillis() / 1000
                + ",\"model\":" + modelJson + ",\"data\":[";
    }

    private static String poolingUsage(int tokens) {
        return "\"usage\":{\"prompt_tokens\":" + tokens + ",\"total_tokens\":" + tokens
                + ",\"completion_tokens\":0,\"prompt_tokens_details\":null}";
    }

    /** {@code POST /score}, {@code /v1/score}: {@code text_1} against each {@code text_2} (1:N, or N:N pairwise). */
    private void score(HttpExchange ex, byte[] body) throws IOException, ApiError {
        Map<String, Object> req = parseObject(body);
        checkModel(req);
        List<String> a = texts(req, "text_1");
        List<String> b = texts(req, "text_2");
        if (a.size() != 1 && a.size() != b.size()) {
            throw badRequest("Input lengths must be either 1:1, 1:N or N:N");
        }
        StringBuilder sb = new StringBuilder(listHead("score-"));
        int tokens = 0;
        for (int i = 0; i < b.size(); i++) {
            String first = a.size() == 1 ? a.get(0) : a.get(i);
            tokens += tokensOf(first) + tokensOf(b.get(i));
            if (i > 0) sb.append(',');
            sb.append("{\"index\":").append(i).append(",\"object\":\"score\",\"score\":")
                    .append(relevance(first, b.get(i))).append('}');
        }
        sb.append("],").append(poolingUsage(tokens)).append('}');
        sendJson(ex, 200, sb.toString());
    }

    /** {@code POST /rerank}, {@code /v1/rerank}, {@code /v2/rerank}: the documents by relevance, best first. */
    private void rerank(HttpExchange ex, byte[] body) throws IOException, ApiError {
        Map<String, Object> req = parseObject(body);
        checkModel(req);
        Object q = req.get("query");
        if (!(q instanceof String)) throw badRequest("query: Field required (a string)");
        String query = (String) q;
        List<String> documents = texts(req, "documents");
        Long topN = optLong(req, "top_n");
        int n = topN == null || topN <= 0 || topN > documents.size() ? documents.size() : (int) (long) topN;
        Integer[] order = new Integer[documents.size()];
        double[] scores = new double[documents.size()];
        int tokens = 0;
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
            scores[i] = relevance(query, documents.get(i));
            tokens += tokensOf(query) + tokensOf(documents.get(i));
        }
        java.util.Arrays.sort(order, (x, y) -> Double.compare(scores[y], scores[x]));
        StringBuilder sb = new StringBuilder("{\"id\":\"").append(randomId("rerank-")).append("\",\"model\":")
                .append(modelJson).append(",\"usage\":{\"prompt_tokens\":").append(tokens).append(",\"total_tokens\":")
                .append(tokens).append("},\"results\":[");
        for (int r = 0; r < n; r++) {
            int i = order[r];
            if (r > 0) sb.append(',');
            sb.append("{\"index\":").append(i).append(",\"document\":{\"text\":").append(Json.quote(documents.get(i)))
                    .append("},\"relevance_score\":").append(scores[i]).append('}');
        }
        sendJson(ex, 200, sb.append("]}").toString());
    }

    /**
     * The simulator's vocabulary: the lorem-ipsum words are ids 0..n-1 (so that tokenize and detokenize round-trip
     * on them), any other word a stable id above them.
     */
    static long wordId(String word) {
        String w = word.toLowerCase(java.util.Locale.ROOT);
        for (int i = 0; i < WORDS.length; i++) {
            if (WORDS[i].equals(w)) return i;
        }
        return WORDS.length + Long.remainderUnsigned(hash(w), 32000 - WORDS.length);
    }

    /** {@code POST /tokenize}: {@code prompt} (or chat {@code messages}) to ids, one per word, after a BOS id. */
    @SuppressWarnings("unchecked")
    private void tokenize(HttpExchange ex, byte[] body) throws IOException, ApiError {
        Map<String, Object> req = parseObject(body);
        checkModel(req);
        StringBuilder text = new StringBuilder();
        if (req.get("prompt") instanceof String) {
            text.append((String) req.get("prompt"));
        } else if (req.get("messages") instanceof List) {
            for (Object m : (List<Object>) req.get("messages")) {
                if (m instanceof Map && ((Map<String, Object>) m).get("content") instanceof String) {
                    text.append(' ').append((String) ((Map<String, Object>) m).get("content"));
                }
            }
        } else {
            throw badRequest("prompt: Field required (or messages)");
        }
        Object special = req.get("add_special_tokens");
        boolean bos = special == null || Boolean.TRUE.equals(special);
        boolean strs = optBool(req, "return_token_strs");
        List<String> words = new ArrayList<>();
        for (String w : text.toString().trim().split("\\s+")) {
            if (!w.isEmpty()) words.add(w);
        }
        StringBuilder ids = new StringBuilder();
        StringBuilder tokenStrs = new StringBuilder();
        if (bos) {
            ids.append(BOS_ID);
            tokenStrs.append("\"<s>\"");
        }
        for (int i = 0; i < words.size(); i++) {
            if (ids.length() > 0) {
                ids.append(',');
                tokenStrs.append(',');
            }
            ids.append(wordId(words.get(i)));
            tokenStrs.append(Json.quote((i == 0 ? "" : "\u2581") + words.get(i)));
        }
        int count = words.size() + (bos ? 1 : 0);
        sendJson(ex, 200, "{\"count\":" + count + ",\"max_model_len\":" + options.maxModelLen() + ",\"tokens\":["
                + ids + "],\"token_strs\":" + (strs ? "[" + tokenStrs + "]" : "null") + "}");
    }

    /** The id {@code /tokenize} gives the start of a text (dropped again by {@code /detokenize}). */
    static final long BOS_ID = 32000;

    /** {@code POST /detokenize}: ids back to words (vocabulary ids; others as {@code <id>}). */
    private void detokenize(HttpExchange ex, byte[] body) throws IOException, ApiError {
        Map<String, Object> req = parseObject(body);
        checkModel(req);
        Object tokens = req.get("tokens");
        if (!(tokens instanceof List)) throw badRequest("tokens: Field required (a list of integers)");
        StringBuilder sb = new StringBuilder();
        for (Object t : (List<?>) tokens) {
            if (!(t instanceof Long)) throw badRequest("tokens: Input should be a list of integers");
            long id = (Long) t;
            if (id == BOS_ID) continue;
            if (sb.length() > 0) sb.append(' ');
            sb.append(id >= 0 && id < WORDS.length ? WORDS[(int) id] : "<" + id + ">");
        }
        sendJson(ex, 200, "{\"prompt\":" + Json.quote(sb.toString()) + "}");
    }

    /** {@code POST /pooling}: the pooled hidden state of each input (the embedding vector, as {@code data}). */
    private void pooling(HttpExchange ex, byte[] body) throws IOException, ApiError {
        Map<String, Object> req = parseObject(body);
        checkModel(req);
        List<String> inputs = texts(req, "input");
        StringBuilder sb = new StringBuilder(listHead("pool-"));
        int tokens = 0;
        for (int i = 0; i < inputs.size(); i++) {
            tokens += tokensOf(inputs.get(i));
            float[] v = embedding(hash(inputs.get(i)), options.embeddingDim());
            if (i > 0) sb.append(',');
            sb.append("{\"index\":").append(i).append(",\"object\":\"pooling\",\"data\":[");
            for (int d = 0; d < v.length; d++) {
                if (d > 0) sb.append(',');
                sb.append(v[d]);
            }
            sb.append("]}");
        }
        sb.append("],").append(poolingUsage(tokens)).append('}');
        sendJson(ex, 200, sb.toString());
    }

    private static final String[] LABELS = {"negative", "positive"};

    /** {@code POST /classify}: two classes; the probabilities from a hash of the input. */
    private void classify(HttpExchange ex, byte[] body) throws IOException, ApiError {
        Map<String, Object> req = parseObject(body);
        checkModel(req);
        List<String> inputs = texts(req, "input");
        StringBuilder sb = new StringBuilder(listHead("classify-"));
        int tokens = 0;
        for (int i = 0; i < inputs.size(); i++) {
            tokens += tokensOf(inputs.get(i));
            double p = 0.05 + 0.9 * unit(hash(inputs.get(i)));
            if (i > 0) sb.append(',');
            sb.append("{\"index\":").append(i).append(",\"label\":\"").append(LABELS[p >= 0.5 ? 1 : 0])
                    .append("\",\"probs\":[").append(1 - p).append(',').append(p)
                    .append("],\"num_classes\":2,\"object\":\"classify\"}");
        }
        sb.append("],").append(poolingUsage(tokens)).append('}');
        sendJson(ex, 200, sb.toString());
    }

    // ------------------------------------------------------------------------------------------------------------
    // the Responses API (vLLM's serving_responses.py; events as its API server sends them: "event: <type>")

    /** The text of a Responses {@code input}: a string, or messages whose content is a string or input_text parts. */
    @SuppressWarnings("unchecked")
    private static final String RESPONSES_PREFIX = "/v1/responses/";

    private static String responsesInput(Map<String, Object> req) throws ApiError {
        Object input = req.get("input");
        if (input instanceof String) return (String) input;
        if (!(input instanceof List)) throw badRequest("input: Field required (a string or a list of items)");
        StringBuilder sb = new StringBuilder();
        for (Object item : (List<Object>) input) {
            if (!(item instanceof Map)) throw badRequest("input: Input should be a list of objects");
            Object content = ((Map<String, Object>) item).get("content");
            if (content instanceof String) {
                sb.append(((Map<String, Object>) item).get("role")).append(": ").append(content).append('\n');
            } else if (content instanceof List) {
                for (Object part : (List<Object>) content) {
                    if (part instanceof Map && ((Map<String, Object>) part).get("text") instanceof String) {
                        sb.append(((Map<String, Object>) part).get("text")).append('\n');
                    }
                }
            }
        }
        return sb.toString();
    }

    private void responses(HttpExchange ex, SimHeaders h, byte[] body) throws IOException, InterruptedException, ApiError {
        Map<String, Object> req = parseObject(body);
        checkModel(req);
        String input = responsesInput(req);
        Object instructions = req.get("instructions");
        String prompt = instructions instanceof String ? instructions + "\n" + input : input;
        int inputTokens = tokensOf(prompt);
        if (inputTokens >= options.maxModelLen()) {
            throw badRequest("This model's maximum context length is " + options.maxModelLen() + " tokens. However,"
                    + " your request has " + inputTokens + " input tokens.");
        }
        Long requested = optLong(req, "max_output_tokens");
        if (requested != null && requested < 1) throw badRequest("max_output_tokens must be at least 1");
        int maxTokens = (int) Math.min(requested == null ? options.maxTokens() : requested,
                options.maxModelLen() - inputTokens);
        long seed = hash(prompt);
        String id = randomId("resp_");
        String msgId = randomId("msg_");
        long created = System.currentTimeMillis() / 1000;
        boolean stream = optBool(req, "stream");
        long tokenDelay = Math.round(simLong(h, HEADER_TOKEN_DELAY, options.tokenDelayMs(), 0, MAX_TOKEN_DELAY_MS)
                * slowness);
        running.incrementAndGet();
        try {
            boolean store = !Boolean.FALSE.equals(req.get("store")); // vLLM's default: true
            if (!stream) {
                sleep(tokenDelay * maxTokens);
                String response = responseObject(id, msgId, created, "completed", text(seed, maxTokens), inputTokens,
                        maxTokens, req);
                if (store) storedResponses.put(id, response);
                sendJson(ex, 200, response);
                return;
            }
            ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
            ex.sendResponseHeaders(200, 0);
            activeStreams.incrementAndGet();
            try {
                OutputStream os = ex.getResponseBody();
                int[] seq = {0};
                String pending = responseObject(id, msgId, created, "in_progress", null, inputTokens, 0, req);
                responseEvent(os, seq, "response.created", "\"response\":" + pending);
                responseEvent(os, seq, "response.in_progress", "\"response\":" + pending);
                String item = "{\"id\":\"" + msgId + "\",\"type\":\"message\",\"role\":\"assistant\",\"status\":";
                responseEvent(os, seq, "response.output_item.added", "\"output_index\":0,\"item\":" + item
                        + "\"in_progress\",\"content\":[]}");
                String at = "\"item_id\":\"" + msgId + "\",\"output_index\":0,\"content_index\":0";
                responseEvent(os, seq, "response.content_part.added", at
                        + ",\"part\":{\"type\":\"output_text\",\"text\":\"\",\"annotations\":[]}");
                for (int i = 0; i < maxTokens; i++) {
                    sleep(tokenDelay);
                    responseEvent(os, seq, "response.output_text.delta", at + ",\"delta\":\"" + token(seed, i)
                            + "\",\"logprobs\":[]");
                }
                String full = text(seed, maxTokens);
                responseEvent(os, seq, "response.output_text.done", at + ",\"text\":\"" + full + "\",\"logprobs\":[]");
                String part = "{\"type\":\"output_text\",\"text\":\"" + full + "\",\"annotations\":[]}";
                responseEvent(os, seq, "response.content_part.done", at + ",\"part\":" + part);
                responseEvent(os, seq, "response.output_item.done", "\"output_index\":0,\"item\":" + item
                        + "\"completed\",\"content\":[" + part + "]}");
                String response = responseObject(id, msgId, created, "completed", full, inputTokens, maxTokens, req);
                if (store) storedResponses.put(id, response);
                responseEvent(os, seq, "response.completed", "\"response\":" + response);
                completedStreams.incrementAndGet();
            } catch (IOException e) {
                if (!closed.get()) cancelledStreams.incrementAndGet();
            } finally {
                activeStreams.decrementAndGet();
            }
        } finally {
            running.decrementAndGet();
        }
    }

    /** One Responses stream event: {@code event: <type>} and its JSON, which repeats the type, with its number. */
    private static void responseEvent(OutputStream os, int[] seq, String type, String fields) throws IOException {
        String event = "event: " + type + "\ndata: {\"type\":\"" + type + "\",\"sequence_number\":" + seq[0]++ + ","
                + fields + "}\n\n";
        os.write(event.getBytes(StandardCharsets.UTF_8));
        os.flush();
    }

    /** The Response object; {@code text} null: no output yet (in progress). */
    private String responseObject(String id, String msgId, long created, String status, String text, int inputTokens,
                                  int outputTokens, Map<String, Object> req) throws ApiError {
        StringBuilder sb = new StringBuilder(512);
        sb.append("{\"id\":\"").append(id).append("\",\"object\":\"response\",\"created_at\":").append(created)
                .append(",\"model\":").append(modelJson).append(",\"status\":\"").append(status)
                .append("\",\"error\":null,\"incomplete_details\":null,\"instructions\":")
                .append(req.get("instructions") instanceof String ? Json.quote((String) req.get("instructions")) : "null")
                .append(",\"max_output_tokens\":").append(optLong(req, "max_output_tokens"))
                .append(",\"output\":[");
        if (text != null) {
            sb.append("{\"type\":\"message\",\"id\":\"").append(msgId).append("\",\"role\":\"assistant\",\"status\":"
                    + "\"completed\",\"content\":[{\"type\":\"output_text\",\"text\":\"").append(text)
                    .append("\",\"annotations\":[]}]}");
        }
        sb.append("],\"parallel_tool_calls\":true,\"previous_response_id\":null,\"temperature\":1.0,\"top_p\":1.0,"
                + "\"tool_choice\":\"auto\",\"tools\":[],\"truncation\":\"disabled\",\"text\":{\"format\":{\"type\":"
                + "\"text\"}},\"usage\":");
        if (text == null) {
            sb.append("null");
        } else {
            sb.append("{\"input_tokens\":").append(inputTokens)
                    .append(",\"input_tokens_details\":{\"cached_tokens\":0},\"output_tokens\":").append(outputTokens)
                    .append(",\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":")
                    .append(inputTokens + outputTokens).append('}');
        }
        return sb.append('}').toString();
    }

    /**
     * {@code GET /v1/responses/{id}} and {@code POST /v1/responses/{id}/cancel} as vLLM answers them (a response
     * it created is kept: vLLM with {@code VLLM_ENABLE_RESPONSES_API_STORE=1}); and {@code DELETE /v1/responses/{id}},
     * which vLLM does not have (it answers 405): the simulator forgets the response and answers as OpenAI does.
     */
    private void responseById(HttpExchange ex, String method, String rest, String query)
            throws IOException, ApiError {
        boolean cancel = rest.endsWith("/cancel");
        String id = cancel ? rest.substring(0, rest.length() - "/cancel".length()) : rest;
        if (id.isEmpty() || id.indexOf('/') >= 0) {
            sendJson(ex, 404, "{\"detail\":\"Not Found\"}");
            return;
        }
        if (cancel ? !requireMethod(ex, method, "POST")
                : !method.equals("DELETE") && !requireMethod(ex, method, "GET")) {
            return;
        }
        if (!id.startsWith("resp")) {
            throw new ApiError(400, "invalid_request_error", "Invalid 'response_id': '" + id
                    + "'. Expected an ID that begins with 'resp'.");
        }
        String stored = storedResponses.get(id);
        if (stored == null) {
            throw new ApiError(404, "invalid_request_error", "Response with id '" + id + "' not found.");
        }
        if (cancel) { // every response here is synchronous (no background mode): done before it can be cancelled
            throw new ApiError(400, "invalid_request_error", "Cannot cancel a synchronous response.");
        }
        if (method.equals("DELETE")) {
            storedResponses.remove(id);
            sendJson(ex, 200, "{\"id\":\"" + id + "\",\"object\":\"response.deleted\",\"deleted\":true}");
            return;
        }
        if (query != null && Arrays.asList(query.split("&")).contains("stream=true")) {
            // vLLM replays the events of background responses only
            throw new ApiError(400, "BadRequestError", "Unknown response_id: " + id);
        }
        sendJson(ex, 200, stored);
    }

    // ------------------------------------------------------------------------------------------------------------
    // the Anthropic Messages API (vLLM's anthropic/serving.py: the request becomes a chat completion, its answer or
    // stream is converted; errors of the handler come as {"type":"error","error":{"type","message"}})

    /** The chat messages of a Messages request: its {@code system} (a string or text blocks) first, then its own. */
    private static Map<String, Object> messagesAsChat(Map<String, Object> req) throws ApiError {
        Object messages = req.get("messages");
        if (!(messages instanceof List)) throw badRequest("messages: Field required (a list of messages)");
        List<Object> chat = new ArrayList<>();
        Object system = req.get("system");
        if (system instanceof String) {
            chat.add(Map.of("role", "system", "content", system));
        } else if (system instanceof List) {
            chat.add(Map.of("role", "system", "content", system));
        } else if (system != null) {
            throw badRequest("system: Input should be a valid string or a list of content blocks");
        }
        chat.addAll((List<?>) messages);
        return Map.of("messages", chat);
    }

    /** {@code POST /v1/messages}: a message object, or with {@code "stream": true} Anthropic's SSE events. */
    private void messages(HttpExchange ex, SimHeaders h, byte[] body) throws IOException, InterruptedException, ApiError {
        Map<String, Object> req = parseObject(body);
        Prompt prompt = chatPrompt(messagesAsChat(req), false).get(0);
        Long requested = optLong(req, "max_tokens");
        if (requested == null) throw badRequest("max_tokens: Field required");
        if (requested < 1) throw badRequest("max_tokens: Value error, max_tokens must be positive");
        boolean stream = optBool(req, "stream");
        try {
            checkModel(req);
            if (prompt.tokens >= options.maxModelLen()) {
                throw badRequest("This model's maximum context length is " + options.maxModelLen() + " tokens."
                        + " However, your request has " + prompt.tokens + " input tokens.");
            }
        } catch (ApiError e) { // the handler's errors, translated to Anthropic's shape
            sendJson(ex, e.status, "{\"type\":\"error\",\"error\":{\"type\":" + Json.quote(e.type) + ",\"message\":"
                    + Json.quote(e.getMessage()) + "}}");
            return;
        }
        int maxTokens = (int) Math.min(requested, options.maxModelLen() - prompt.tokens);
        String id = randomId("chatcmpl-");
        long tokenDelay = Math.round(simLong(h, HEADER_TOKEN_DELAY, options.tokenDelayMs(), 0, MAX_TOKEN_DELAY_MS)
                * slowness);
        String usage = "{\"input_tokens\":" + prompt.tokens + ",\"output_tokens\":" + maxTokens + "}";
        running.incrementAndGet();
        try {
            if (!stream) {
                sleep(tokenDelay * maxTokens);
                sendJson(ex, 200, "{\"id\":\"" + id + "\",\"type\":\"message\",\"role\":\"assistant\",\"content\":"
                        + "[{\"type\":\"text\",\"text\":\"" + text(prompt.seed, maxTokens) + "\"}],\"model\":"
                        + modelJson + ",\"stop_reason\":\"max_tokens\",\"usage\":" + usage + "}");
                return;
            }
            ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
            ex.sendResponseHeaders(200, 0);
            activeStreams.incrementAndGet();
            try {
                OutputStream os = ex.getResponseBody();
                messageEvent(os, "message_start", "\"message\":{\"id\":\"" + id + "\",\"content\":[],\"model\":"
                        + modelJson + ",\"stop_reason\":null,\"stop_sequence\":null,\"usage\":{\"input_tokens\":"
                        + prompt.tokens + ",\"output_tokens\":0}}");
                for (int i = 0; i < maxTokens; i++) {
                    sleep(tokenDelay);
                    if (i == 0) {
                        messageEvent(os, "content_block_start", "\"content_block\":{\"type\":\"text\",\"text\":\"\"},"
                                + "\"index\":0");
                    }
                    messageEvent(os, "content_block_delta", "\"delta\":{\"type\":\"text_delta\",\"text\":\""
                            + token(prompt.seed, i) + "\"},\"index\":0");
                }
                messageEvent(os, "content_block_stop", "\"index\":0");
                messageEvent(os, "message_delta", "\"delta\":{\"stop_reason\":\"max_tokens\"},\"usage\":" + usage);
                messageEvent(os, "message_stop", null);
                completedStreams.incrementAndGet();
            } catch (IOException e) {
                if (!closed.get()) cancelledStreams.incrementAndGet();
            } finally {
                activeStreams.decrementAndGet();
            }
        } finally {
            running.decrementAndGet();
        }
    }

    /** One Messages stream event, as vLLM writes it: {@code event: <type>}, then its JSON, which starts with the type. */
    private static void messageEvent(OutputStream os, String type, String fields) throws IOException {
        String event = "event: " + type + "\ndata: {\"type\":\"" + type + "\"" + (fields == null ? "" : "," + fields)
                + "}\n\n";
        os.write(event.getBytes(StandardCharsets.UTF_8));
        os.flush();
    }

    /** {@code POST /v1/messages/count_tokens}: {@code {"input_tokens": n}}, n counted as the chat prompt's. */
    private void countTokens(HttpExchange ex, byte[] body) throws IOException, ApiError {
        Map<String, Object> req = parseObject(body);
        Prompt prompt = chatPrompt(messagesAsChat(req), false).get(0);
        try {
            checkModel(req);
        } catch (ApiError e) {
            sendJson(ex, e.status, "{\"type\":\"error\",\"error\":{\"type\":" + Json.quote(e.type) + ",\"message\":"
                    + Json.quote(e.getMessage()) + "}}");
            return;
        }
        sendJson(ex, 200, "{\"input_tokens\":" + prompt.tokens + "}");
    }

    // ------------------------------------------------------------------------------------------------------------
    // audio: transcriptions and translations (Whisper models)

    /** What the simulator read of one audio upload: its form fields, and its file counted, never held. */
    public static final class AudioUpload {
        private final String path;
        private final Map<String, String> fields;
        private final String fileName;
        private final long fileBytes;
        private final long fileCrc32;
        private final long bodyBytes;

        AudioUpload(String path, Map<String, String> fields, String fileName, long fileBytes, long fileCrc32,
                    long bodyBytes) {
            this.path = path;
            this.fields = fields;
            this.fileName = fileName;
            this.fileBytes = fileBytes;
            this.fileCrc32 = fileCrc32;
            this.bodyBytes = bodyBytes;
        }

        public String path() { return path; }
        /** The form's fields other than the file, in the order sent (the first of repeated names). */
        public Map<String, String> fields() { return fields; }
        /** The file part's file name, null when it had none. */
        public String fileName() { return fileName; }
        /** Bytes of the file part's content; -1 when the form had no file. */
        public long fileBytes() { return fileBytes; }
        /** CRC-32 of the file part's content. */
        public long fileCrc32() { return fileCrc32; }
        /** Bytes of the whole request body. */
        public long bodyBytes() { return bodyBytes; }

        @Override
        public String toString() {
            return path + " " + fields + " file " + fileName + " (" + fileBytes + " bytes)";
        }
    }

    static boolean isAudioPath(String path) {
        return path.equals(TRANSCRIPTIONS) || path.equals(TRANSLATIONS);
    }

    /**
     * vLLM's {@code /v1/audio/transcriptions} and {@code /v1/audio/translations}: a multipart form read as a stream
     * (the file is counted and checksummed, never held). The "audio" is taken as 16 kHz 16-bit mono PCM: its duration
     * is the file's bytes / 32000, rounded up; the text has one word per second of it, at most the max tokens, drawn
     * from the file's CRC.
     */
    private void audio(HttpExchange ex, SimHeaders h, boolean translate) throws IOException, InterruptedException, ApiError {
        String contentType = ex.getRequestHeaders().getFirst("Content-Type");
        String boundary = MultipartReader.boundary(contentType);
        CountingInput body = new CountingInput(ex.getRequestBody());
        MultipartReader reader = new MultipartReader(body, boundary);
        Map<String, String> fields = new LinkedHashMap<>();
        String fileName = null;
        long fileBytes = -1;
        CRC32 crc = new CRC32();
        Map<String, String> part;
        while ((part = reader.nextPart()) != null) {
            String disposition = part.getOrDefault("content-disposition", "");
            String name = MultipartReader.parameter(disposition, "name");
            String file = MultipartReader.parameter(disposition, "filename");
            if (file != null || "file".equals(name)) {
                long[] n = {0};
                reader.content((b, off, len) -> {
                    crc.update(b, off, len);
                    n[0] += len;
                });
                fileName = file;
                fileBytes = n[0];
            } else {
                ByteArrayOutputStream value = new ByteArrayOutputStream();
                reader.content((b, off, len) -> {
                    if (value.size() + len > MAX_FORM_FIELD_BYTES) throw badRequest("Form field " + name + " is too large");
                    value.write(b, off, len);
                });
                if (name != null) fields.putIfAbsent(name, value.toString(StandardCharsets.UTF_8));
            }
        }
        body.transferTo(OutputStream.nullOutputStream()); // the epilogue, if any
        String path = translate ? TRANSLATIONS : TRANSCRIPTIONS;
        lastUpload.set(new AudioUpload(path, Collections.unmodifiableMap(fields), fileName, fileBytes, crc.getValue(),
                body.count));
        if (fileBytes < 0) throw badRequest("file: Field required");
        Map<String, Object> req = new LinkedHashMap<>(fields);
        checkModel(req);
        String format = fields.getOrDefault("response_format", "json");
        if (!List.of("json", "text", "verbose_json").contains(format)) {
            throw badRequest("Currently only support response_format `text`, `json` or `verbose_json`");
        }
        long seconds = Math.max(1, (fileBytes + 31_999) / 32_000);
        int words = (int) Math.min(options.maxTokens(), seconds);
        long seed = crc.getValue() ^ fileBytes;
        String text = text(seed, words);
        String language = translate ? "en" : fields.getOrDefault("language", "en");
        if ("true".equalsIgnoreCase(fields.get("stream"))) {
            audioStream(ex, h, translate, seed, words, "true".equalsIgnoreCase(fields.get("stream_include_usage")));
            return;
        }
        switch (format) {
            case "text" -> {
                byte[] plain = text.getBytes(StandardCharsets.UTF_8);
                ex.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
                ex.sendResponseHeaders(200, plain.length);
                try (OutputStream os = ex.getResponseBody()) {
                    os.write(plain);
                }
            }
            case "verbose_json" -> sendJson(ex, 200, "{\"duration\":" + Json.quote(seconds + ".0") + ",\"language\":"
                    + Json.quote(language) + ",\"text\":" + Json.quote(text) + ",\"segments\":[{\"id\":0,\"seek\":0,"
                    + "\"start\":0.0,\"end\":" + seconds + ".0,\"text\":" + Json.quote(text) + ",\"tokens\":[],"
                    + "\"temperature\":0.0,\"avg_logprob\":-0.25,\"compression_ratio\":1.0,\"no_speech_prob\":0.01}],"
                    + "\"words\":null}");
            default -> sendJson(ex, 200, "{\"text\":" + Json.quote(text) + (translate ? ""
                    : ",\"usage\":{\"type\":\"duration\",\"seconds\":" + seconds + "}") + "}");
        }
    }

    /** A streamed transcription: one {@code transcription.chunk} (or {@code translation.chunk}) per word, then [DONE]. */
    private void audioStream(HttpExchange ex, SimHeaders h, boolean translate, long seed, int words, boolean usage)
            throws IOException, InterruptedException, ApiError {
        long tokenDelay = simLong(h, HEADER_TOKEN_DELAY, options.tokenDelayMs(), 0, MAX_TOKEN_DELAY_MS);
        String id = Json.quote(randomId(translate ? "trsl-" : "trsc-"));
        String head = "{\"id\":" + id + ",\"object\":\"" + (translate ? "translation" : "transcription")
                + ".chunk\",\"created\":" + System.currentTimeMillis() / 1000 + ",\"model\":" + modelJson + ",\"choices\":";
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.sendResponseHeaders(200, 0);
        activeStreams.incrementAndGet();
        try {
            EventWriter w = new EventWriter(ex.getResponseBody(), Long.MAX_VALUE, 0);
            for (int i = 0; i < words; i++) {
                sleep(tokenDelay);
                w.event(head + "[{\"delta\":{\"content\":" + Json.quote(token(seed, i)) + "},\"finish_reason\":"
                        + (i == words - 1 ? "\"stop\"" : "null") + ",\"stop_reason\":null}]}");
            }
            if (usage) {
                w.event(head + "[],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":" + words
                        + ",\"total_tokens\":" + (words + 1) + "}}");
            }
            w.done();
            completedStreams.incrementAndGet();
        } catch (IOException e) {
            if (!closed.get()) cancelledStreams.incrementAndGet();
        } finally {
            activeStreams.decrementAndGet();
            ex.getResponseBody().close();
        }
    }

    /** An input stream that counts what was read through it. */
    static final class CountingInput extends InputStream {
        private final InputStream in;
        long count;

        CountingInput(InputStream in) { this.in = in; }

        @Override
        public int read() throws IOException {
            int b = in.read();
            if (b >= 0) count++;
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = in.read(b, off, len);
            if (n > 0) count += n;
            return n;
        }
    }

    /**
     * A {@code multipart/form-data} body (RFC 7578) read as a stream through a 64 KiB window: each part's headers,
     * then its content handed over in pieces as it is read, never held whole.
     */
    static final class MultipartReader {
        interface Sink {
            void accept(byte[] bytes, int offset, int length) throws ApiError;
        }

        private final InputStream in;
        private final byte[] delimiter;
        private final byte[] buf = new byte[64 * 1024];
        private int start;
        private int end;
        private boolean eof;
        private boolean started;

        MultipartReader(InputStream in, String boundary) {
            this.in = in;
            this.delimiter = ("\r\n--" + boundary).getBytes(StandardCharsets.US_ASCII);
            buf[0] = '\r'; // a CRLF before the body, so that a first boundary at its very start is a delimiter too
            buf[1] = '\n';
            end = 2;
        }

        /** The boundary of a multipart/form-data Content-Type; 400 for any other type or a missing boundary. */
        static String boundary(String contentType) throws ApiError {
            if (contentType == null || !contentType.toLowerCase(java.util.Locale.ROOT).startsWith("multipart/form-data")) {
                throw badRequest("Content-Type must be multipart/form-data");
            }
            String boundary = parameter(contentType, "boundary");
            if (boundary == null || boundary.isEmpty() || boundary.length() > 70) {
                throw badRequest("multipart/form-data without a valid boundary");
            }
            return boundary;
        }

        /** Parameter {@code name} of a header value ({@code ; name=value} or {@code ; name="value"}), or null. */
        static String parameter(String header, String name) {
            for (String piece : header.split(";")) {
                int eq = piece.indexOf('=');
                if (eq < 0 || !piece.substring(0, eq).trim().equalsIgnoreCase(name)) continue;
                String value = piece.substring(eq + 1).trim();
                return value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")
                        ? value.substring(1, value.length() - 1) : value;
            }
            return null;
        }

        /** The next part's headers (names in lower case), or null after the closing boundary. */
        Map<String, String> nextPart() throws IOException, ApiError {
            if (!started) {
                started = true;
                content((b, off, len) -> { }); // the preamble
            }
            ensure(2);
            if (buf[start] == '-' && buf[start + 1] == '-') return null;
            while (ensure(1) && (buf[start] == ' ' || buf[start] == '\t')) start++;
            if (!ensure(2) || buf[start] != '\r' || buf[start + 1] != '\n') {
                throw badRequest("Malformed multipart body: a boundary line does not end with CRLF");
            }
            start += 2;
            Map<String, String> headers = new LinkedHashMap<>();
            String line;
            while (!(line = readLine()).isEmpty()) {
                int colon = line.indexOf(':');
                if (colon > 0) {
                    headers.put(line.substring(0, colon).trim().toLowerCase(java.util.Locale.ROOT),
                            line.substring(colon + 1).trim());
                }
            }
            return headers;
        }

        /** Hands the current part's content to {@code sink}, up to the next delimiter, which is then skipped. */
        void content(Sink sink) throws IOException, ApiError {
            while (true) {
                int at = indexOf(delimiter, start, end);
                if (at >= 0) {
                    sink.accept(buf, start, at - start);
                    start = at + delimiter.length;
                    return;
                }
                if (eof) throw badRequest("Malformed multipart body: it ends before its closing boundary");
                int keep = Math.min(delimiter.length - 1, end - start); // a delimiter may span two reads
                sink.accept(buf, start, end - start - keep);
                start = end - keep;
                fill();
            }
        }

        private String readLine() throws IOException, ApiError {
            while (true) {
                for (int i = start; i + 1 < end; i++) {
                    if (buf[i] == '\r' && buf[i + 1] == '\n') {
                        String line = new String(buf, start, i - start, StandardCharsets.UTF_8);
                        start = i + 2;
                        return line;
                    }
                }
                if (eof || start == 0 && end == buf.length) {
                    throw badRequest("Malformed multipart body: part headers do not end");
                }
                fill();
            }
        }

        /** At least {@code n} unread bytes, reading more if needed; false when the body ends before. */
        private boolean ensure(int n) throws IOException {
            while (end - start < n && !eof) fill();
            return end - start >= n;
        }

        private void fill() throws IOException {
            if (start > 0) {
                System.arraycopy(buf, start, buf, 0, end - start);
                end -= start;
                start = 0;
            }
            int n = in.read(buf, end, buf.length - end);
            if (n < 0) eof = true;
            else end += n;
        }

        private int indexOf(byte[] pattern, int from, int to) {
            for (int i = from; i <= to - pattern.length; i++) {
                int j = 0;
                while (j < pattern.length && buf[i + j] == pattern[j]) j++;
                if (j == pattern.length) return i;
            }
            return -1;
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // models, metrics

    private static String buildModelsBody(Options o) {
        long created = System.currentTimeMillis() / 1000;
        String root = Json.quote(o.modelPath());
        StringBuilder sb = new StringBuilder("{\"object\":\"list\",\"data\":[");
        List<String> names = o.servedModelNames();
        for (int i = 0; i < names.size(); i++) {
            if (i > 0) sb.append(',');
            sb.append("{\"id\":").append(Json.quote(names.get(i))).append(",\"object\":\"model\",\"created\":")
                    .append(created).append(",\"owned_by\":\"vllm\",\"root\":").append(root)
                    .append(",\"parent\":null,\"max_model_len\":").append(o.maxModelLen())
                    .append(",\"permission\":[{\"id\":\"").append(randomId("modelperm-"))
                    .append("\",\"object\":\"model_permission\",\"created\":").append(created)
                    .append(",\"allow_create_engine\":false,\"allow_sampling\":true,\"allow_logprobs\":true,"
                            + "\"allow_search_indices\":false,\"allow_view\":true,\"allow_fine_tuning\":false,"
                            + "\"organization\":\"*\",\"group\":null,\"is_blocking\":false}]}");
        }
        return sb.append("]}").toString();
    }

    private void sendMetrics(HttpExchange ex) throws IOException {
        String labels = "{engine=\"0\",model_name=" + modelJson + "}";
        int runningNow = numRunning();
        boolean legacy = options.legacyMetricNames();
        // vLLM V1's names (vllm/v1/metrics/loggers.py); before 0.9.2: gpu_cache_usage_perc, gpu_prefix_cache_*
        String kv = legacy ? "vllm:gpu_cache_usage_perc" : "vllm:kv_cache_usage_perc";
        String queries = legacy ? "vllm:gpu_prefix_cache_queries" : "vllm:prefix_cache_queries";
        String hits = legacy ? "vllm:gpu_prefix_cache_hits" : "vllm:prefix_cache_hits";
        String text = "# HELP vllm:num_requests_running Number of requests in model execution batches.\n"
                + "# TYPE vllm:num_requests_running gauge\n"
                + "vllm:num_requests_running" + labels + " " + runningNow + ".0\n"
                + "# HELP vllm:num_requests_waiting Number of requests waiting to be processed.\n"
                + "# TYPE vllm:num_requests_waiting gauge\n"
                + "vllm:num_requests_waiting" + labels + " " + numWaiting() + ".0\n"
                + "# HELP " + kv + (legacy ? " GPU KV-cache usage." : " KV-cache usage.") + " 1 means 100 percent usage.\n"
                + "# TYPE " + kv + " gauge\n"
                + kv + labels + " " + kvCacheUsage() + "\n"
                + "# HELP " + queries + (legacy ? " GPU prefix" : " Prefix")
                + " cache queries, in terms of number of queried tokens.\n"
                + "# TYPE " + queries + " counter\n"
                + queries + "_total" + labels + " " + prefixCacheQueries() + ".0\n"
                + "# HELP " + hits + (legacy ? " GPU prefix" : " Prefix")
                + " cache hits, in terms of number of cached tokens.\n"
                + "# TYPE " + hits + " counter\n"
                + hits + "_total" + labels + " " + prefixCacheHits() + ".0\n"
                + "# HELP vllm_sim_requests_total Requests received by the simulator.\n"
                + "# TYPE vllm_sim_requests_total counter\n"
                + "vllm_sim_requests_total " + requestCount.get() + ".0\n"
                + "# HELP vllm_sim_streams_active Streams in progress.\n"
                + "# TYPE vllm_sim_streams_active gauge\n"
                + "vllm_sim_streams_active " + activeStreams.get() + ".0\n"
                + "# HELP vllm_sim_streams_completed_total Streams that ended with [DONE].\n"
                + "# TYPE vllm_sim_streams_completed_total counter\n"
                + "vllm_sim_streams_completed_total " + completedStreams.get() + ".0\n"
                + "# HELP vllm_sim_streams_cancelled_total Streams ended early because the client went away.\n"
                + "# TYPE vllm_sim_streams_cancelled_total counter\n"
                + "vllm_sim_streams_cancelled_total " + cancelledStreams.get() + ".0\n";
        byte[] body = text.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
        ex.sendResponseHeaders(200, body.length);
        try (OutputStream os = ex.getResponseBody()) {
            os.write(body);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // engine model (--engine): continuous batching and a prefix cache, paced like vLLM's V1 scheduler

    /**
     * A step-based imitation of vLLM's scheduler: one thread runs steps; each step admits waiting sequences (FIFO,
     * while a slot and their KV blocks are free), schedules decodes and (chunked) prefills within a token budget,
     * sleeps for the step's modelled duration, then hands every scheduled sequence its next token. KV blocks of
     * {@code blockSize} tokens live in a pool of {@code numGpuBlocks}: referenced by running sequences, or cached
     * (unreferenced, evictable in LRU order) and found again by the chain hash of a prompt's leading full blocks.
     * All state is guarded by {@link #lock}; handler threads only submit, abort and take token events.
     */
    static final class Engine {
        /** Token event meaning "the engine stopped": the request ends without its remaining tokens. */
        static final long CLOSED = Long.MIN_VALUE;
        /** A step lasts at least this long, so a zero-cost configuration does not spin a core. */
        static final long MIN_STEP_NANOS = 50_000;

        /** One KV-cache block. */
        static final class Block {
            long hash;          // chain hash, valid when registered (a full prompt block findable in the cache)
            boolean registered;
            int refs;
        }

        /** One sequence: one choice of one prompt. */
        static final class Seq {
            final Request request;
            final int choice;
            final long[] ids;
            final long[] blockHashes;  // chain hashes of the prompt's full blocks
            final int maxTokens;
            final int blocksNeeded;    // prompt + completion tokens, reserved at admission
            final List<Block> blocks = new ArrayList<>();
            int computed;              // prompt tokens whose KV exists (cache hits + prefilled)
            int registeredBlocks;      // leading full prompt blocks already registered (or found) in the cache
            int generated;
            int scheduled;             // this step: prefill tokens, -1 = one decode token, 0 = nothing
            boolean aborted;
            boolean finished;

            Seq(Request request, int choice, long[] ids, long[] blockHashes, int maxTokens, int blocksNeeded) {
                this.request = request;
                this.choice = choice;
                this.ids = ids;
                this.blockHashes = blockHashes;
                this.maxTokens = maxTokens;
                this.blocksNeeded = blocksNeeded;
            }
        }

        /** The sequences of one HTTP request; its handler takes {@code choice << 32 | tokenIndex} events. */
        static final class Request {
            final java.util.concurrent.BlockingQueue<Long> events = new java.util.concurrent.LinkedBlockingQueue<>();
            final List<Seq> seqs = new ArrayList<>();
        }

        private final Object lock = new Object();
        private final int maxNumSeqs;
        private final int maxBatchedTokens;
        private final int blockSize;
        private final int numBlocks;
        private final int maxWaiting;
        private final double stepNanos;
        private final double decodeNanosPerSeq;
        private final double prefillNanosPerToken;
        private volatile double slowness;
        private final ArrayDeque<Seq> waiting = new ArrayDeque<>();
        private final List<Seq> running = new ArrayList<>();
        private final Map<Long, Block> cachedByHash = new java.util.HashMap<>();
        private final java.util.LinkedHashSet<Block> evictable = new java.util.LinkedHashSet<>(); // LRU first
        private int freeBlocks;
        private long queries;
        private long hits;
        private boolean closed;
        private final Thread thread;

        Engine(Options o, String name) {
            if (o.maxNumBatchedTokens() < o.maxNumSeqs()) {
                throw new IllegalArgumentException("max-num-batched-tokens (" + o.maxNumBatchedTokens()
                        + ") must be at least max-num-seqs (" + o.maxNumSeqs() + ")");
            }
            this.maxNumSeqs = o.maxNumSeqs();
            this.maxBatchedTokens = o.maxNumBatchedTokens();
            this.blockSize = o.blockSize();
            this.numBlocks = o.numGpuBlocks();
            this.maxWaiting = o.maxWaitingRequests();
            this.stepNanos = o.effectiveStepMs() * 1e6;
            this.decodeNanosPerSeq = o.decodeUsPerSeq() * 1e3;
            this.prefillNanosPerToken = o.prefillUsPerToken() * 1e3;
            this.slowness = o.slowness();
            this.freeBlocks = numBlocks;
            this.thread = new Thread(this::run, name);
            this.thread.setDaemon(true);
            this.thread.start();
        }

        void setSlowness(double s) { slowness = s; }

        int numRunning() { synchronized (lock) { return running.size(); } }

        int numWaiting() { synchronized (lock) { return waiting.size(); } }

        long prefixCacheQueries() { synchronized (lock) { return queries; } }

        long prefixCacheHits() { synchronized (lock) { return hits; } }

        /** Fraction of the blocks referenced by running sequences (vLLM: 1 - free/total, cached blocks count free). */
        double kvCacheUsage() {
            synchronized (lock) {
                return (double) (numBlocks - freeBlocks - evictable.size()) / numBlocks;
            }
        }

        /** Chain hashes of the full blocks of {@code ids}: block k's hash covers block k-1's hash and its tokens. */
        long[] blockHashes(long[] ids) {
            long[] out = new long[ids.length / blockSize];
            long h = 0x9E3779B97F4A7C15L;
            for (int k = 0; k < out.length; k++) {
                for (int t = k * blockSize, end = t + blockSize; t < end; t++) {
                    h ^= ids[t];
                    h *= 0x100000001b3L;
                }
                h ^= h >>> 29; // finalise so equal tokens in different blocks do not line up
                h *= 0xBF58476D1CE4E5B9L;
                out[k] = h;
            }
            return out;
        }

        /** Queues one sequence per prompt (one per choice); 400 if one can never fit the cache, 503 if the queue is full. */
        Request submit(long[][] prompts, int maxTokens) throws ApiError {
            Request r = new Request();
            for (int c = 0; c < prompts.length; c++) {
                long[] ids = prompts[c];
                long need = ((long) ids.length + maxTokens + blockSize - 1) / blockSize;
                if (need > numBlocks) {
                    throw badRequest("This model's maximum context length is " + (long) numBlocks * blockSize
                            + " tokens (the simulated KV cache: " + numBlocks + " blocks of " + blockSize
                            + " tokens). However, you requested " + ((long) ids.length + maxTokens) + " tokens ("
                            + ids.length + " in the messages, " + maxTokens + " in the completion). Please reduce the "
                            + "length of the messages or completion.");
                }
                r.seqs.add(new Seq(r, c, ids, blockHashes(ids), maxTokens, (int) need));
            }
            synchronized (lock) {
                if (closed) throw new ApiError(503, "ServiceUnavailableError", "The engine is shutting down.");
                if (waiting.size() + r.seqs.size() > maxWaiting) {
                    throw new ApiError(503, "ServiceUnavailableError", "The engine's waiting queue is full ("
                            + maxWaiting + " requests); retry later.");
                }
                waiting.addAll(r.seqs);
                lock.notifyAll();
            }
            return r;
        }

        /** Aborts the request's unfinished sequences (client gone, handler ended): frees their slots and blocks. */
        void abort(Request r) {
            synchronized (lock) {
                for (Seq s : r.seqs) {
                    if (s.finished || s.aborted) continue;
                    s.aborted = true;
                    if (!waiting.remove(s) && running.remove(s)) release(s);
                }
            }
        }

        void close() {
            synchronized (lock) {
                closed = true;
                lock.notifyAll();
            }
            thread.interrupt();
            try {
                thread.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** Takes the longest cached run of the prompt's leading full blocks and reserves the rest; false if short. */
        private boolean allocate(Seq s) {
            // as vLLM: when the whole prompt is cached, its last token is still computed (for the logits)
            int maxHit = Math.min(s.blockHashes.length, (s.ids.length - 1) / blockSize);
            List<Block> hit = new ArrayList<>();
            int hitEvictable = 0;
            for (int k = 0; k < maxHit; k++) {
                Block b = cachedByHash.get(s.blockHashes[k]);
                if (b == null) break;
                hit.add(b);
                if (b.refs == 0) hitEvictable++;
            }
            int fresh = s.blocksNeeded - hit.size();
            if (fresh > freeBlocks + evictable.size() - hitEvictable) return false;
            for (Block b : hit) {
                if (b.refs++ == 0) evictable.remove(b);
                s.blocks.add(b);
            }
            for (int i = 0; i < fresh; i++) {
                if (freeBlocks > 0) {
                    freeBlocks--;
                } else { // evict the least recently used cached block
                    java.util.Iterator<Block> lru = evictable.iterator();
                    Block victim = lru.next();
                    lru.remove();
                    cachedByHash.remove(victim.hash);
                }
                Block b = new Block();
                b.refs = 1;
                s.blocks.add(b);
            }
            s.computed = hit.size() * blockSize;
            s.registeredBlocks = hit.size();
            queries += s.ids.length;
            hits += s.computed;
            return true;
        }

        /** Drops the sequence's references; cached blocks become evictable (tail first, as vLLM frees them). */
        private void release(Seq s) {
            for (int i = s.blocks.size() - 1; i >= 0; i--) {
                Block b = s.blocks.get(i);
                if (--b.refs > 0) continue;
                if (b.registered) evictable.add(b);
                else freeBlocks++;
            }
            s.blocks.clear();
        }

        /** Makes the prompt's newly completed full blocks findable (unless another sequence cached them first). */
        private void register(Seq s) {
            while (s.registeredBlocks < s.blockHashes.length && (s.registeredBlocks + 1) * blockSize <= s.computed) {
                Block b = s.blocks.get(s.registeredBlocks);
                long h = s.blockHashes[s.registeredBlocks];
                if (!b.registered && !cachedByHash.containsKey(h)) {
                    b.hash = h;
                    b.registered = true;
                    cachedByHash.put(h, b);
                }
                s.registeredBlocks++;
            }
        }

        private void admit() {
            while (!waiting.isEmpty() && running.size() < maxNumSeqs && allocate(waiting.peekFirst())) {
                running.add(waiting.pollFirst());
            }
        }

        private void emit(Seq s) {
            s.request.events.add(((long) s.choice << 32) | s.generated);
            if (++s.generated >= s.maxTokens) {
                s.finished = true;
                running.remove(s);
                release(s);
            }
        }

        private void run() {
            List<Seq> batch = new ArrayList<>();
            try {
                while (true) {
                    long nanos;
                    synchronized (lock) {
                        admit();
                        while (running.isEmpty() && !closed) {
                            lock.wait();
                            admit();
                        }
                        if (closed) break;
                        batch.clear();
                        int budget = maxBatchedTokens;
                        int decoding = 0;
                        int prefill = 0;
                        for (Seq s : running) { // running first, newly admitted last: they were appended
                            s.scheduled = 0;
                            if (s.computed >= s.ids.length) {
                                if (budget < 1) continue;
                                s.scheduled = -1;
                                budget--;
                                decoding++;
                            } else {
                                int chunk = Math.min(s.ids.length - s.computed, budget);
                                if (chunk <= 0) continue;
                                s.scheduled = chunk;
                                budget -= chunk;
                                prefill += chunk;
                            }
                            batch.add(s);
                        }
                        double d = (stepNanos + decodeNanosPerSeq * decoding + prefillNanosPerToken * prefill) * slowness;
                        nanos = Math.max(MIN_STEP_NANOS, (long) d);
                    }
                    long deadline = System.nanoTime() + nanos;
                    for (long left = nanos; left > 0; left = deadline - System.nanoTime()) {
                        java.util.concurrent.locks.LockSupport.parkNanos(left);
                        if (Thread.interrupted()) throw new InterruptedException();
                    }
                    synchronized (lock) {
                        for (Seq s : batch) {
                            if (s.aborted) continue;
                            if (s.scheduled < 0) {
                                emit(s);
                            } else if (s.scheduled > 0) {
                                s.computed += s.scheduled;
                                register(s);
                                if (s.computed >= s.ids.length) emit(s); // prefill done: the first token
                            }
                        }
                    }
                }
            } catch (InterruptedException e) {
                // closing
            } finally {
                synchronized (lock) {
                    closed = true;
                    for (Seq s : waiting) s.request.events.add(CLOSED);
                    for (Seq s : running) s.request.events.add(CLOSED);
                    waiting.clear();
                    running.clear();
                }
            }
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // JSON (just enough: objects, arrays, strings, numbers as Long or Double, booleans, null)

    static final class Json {
        private static final int MAX_DEPTH = 256;
        private final String s;
        private int i;
        private int depth;

        private Json(String s) {
            this.s = s;
        }

        /** Parses one JSON value; throws IllegalArgumentException with a position on malformed input. */
        static Object parse(String text) {
            Json p = new Json(text);
            p.skipWs();
            Object v = p.value();
            p.skipWs();
            if (p.i != text.length()) throw p.error("unexpected trailing characters");
            return v;
        }

        static String quote(String v) {
            StringBuilder sb = new StringBuilder(v.length() + 2).append('"');
            for (int k = 0; k < v.length(); k++) {
                char c = v.charAt(k);
                switch (c) {
                    case '"': sb.append("\\\""); break;
                    case '\\': sb.append("\\\\"); break;
                    case '\n': sb.append("\\n"); break;
                    case '\r': sb.append("\\r"); break;
                    case '\t': sb.append("\\t"); break;
                    default:
                        if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                        else sb.append(c);
                }
            }
            return sb.append('"').toString();
        }

        private IllegalArgumentException error(String what) {
            return new IllegalArgumentException(what + " at position " + i);
        }

        private void skipWs() {
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return;
                i++;
            }
        }

        private Object value() {
            if (i >= s.length()) throw error("unexpected end of input");
            char c = s.charAt(i);
            switch (c) {
                case '{': return object();
                case '[': return array();
                case '"': return string();
                case 't': return literal("true", Boolean.TRUE);
                case 'f': return literal("false", Boolean.FALSE);
                case 'n': return literal("null", null);
                default:
                    if (c == '-' || (c >= '0' && c <= '9')) return number();
                    throw error("unexpected character '" + c + "'");
            }
        }

        private Object literal(String word, Object v) {
            if (!s.startsWith(word, i)) throw error("invalid literal");
            i += word.length();
            return v;
        }

        private Map<String, Object> object() {
            if (++depth > MAX_DEPTH) throw error("nesting too deep");
            i++; // {
            Map<String, Object> m = new LinkedHashMap<>();
            skipWs();
            if (i < s.length() && s.charAt(i) == '}') {
                i++;
                depth--;
                return m;
            }
            while (true) {
                skipWs();
                if (i >= s.length() || s.charAt(i) != '"') throw error("expected a string key");
                String key = string();
                skipWs();
                if (i >= s.length() || s.charAt(i) != ':') throw error("expected ':'");
                i++;
                skipWs();
                m.put(key, value());
                skipWs();
                if (i >= s.length()) throw error("unexpected end of input");
                char c = s.charAt(i++);
                if (c == '}') break;
                if (c != ',') throw error("expected ',' or '}'");
            }
            depth--;
            return m;
        }

        private List<Object> array() {
            if (++depth > MAX_DEPTH) throw error("nesting too deep");
            i++; // [
            List<Object> list = new ArrayList<>();
            skipWs();
            if (i < s.length() && s.charAt(i) == ']') {
                i++;
                depth--;
                return list;
            }
            while (true) {
                skipWs();
                list.add(value());
                skipWs();
                if (i >= s.length()) throw error("unexpected end of input");
                char c = s.charAt(i++);
                if (c == ']') break;
                if (c != ',') throw error("expected ',' or ']'");
            }
            depth--;
            return list;
        }

        private String string() {
            i++; // opening quote
            StringBuilder sb = null;
            int start = i;
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c == '"') {
                    String out = sb == null ? s.substring(start, i) : sb.append(s, start, i).toString();
                    i++;
                    return out;
                }
                if (c < 0x20) throw error("control character in string");
                if (c == '\\') {
                    if (sb == null) sb = new StringBuilder();
                    sb.append(s, start, i);
                    if (++i >= s.length()) break;
                    char e = s.charAt(i);
                    switch (e) {
                        case '"': sb.append('"'); break;
                        case '\\': sb.append('\\'); break;
                        case '/': sb.append('/'); break;
                        case 'b': sb.append('\b'); break;
                        case 'f': sb.append('\f'); break;
                        case 'n': sb.append('\n'); break;
                        case 'r': sb.append('\r'); break;
                        case 't': sb.append('\t'); break;
                        case 'u':
                            if (i + 4 >= s.length()) throw error("truncated \\u escape");
                            try {
                                sb.append((char) Integer.parseInt(s.substring(i + 1, i + 5), 16));
                            } catch (NumberFormatException ex) {
                                throw error("invalid \\u escape");
                            }
                            i += 4;
                            break;
                        default:
                            throw error("invalid escape");
                    }
                    start = ++i;
                    continue;
                }
                i++;
            }
            throw error("unterminated string");
        }

        private Object number() {
            int start = i;
            if (s.charAt(i) == '-') i++;
            int digits = i;
            while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
            if (i == digits) throw error("invalid number");
            boolean integral = true;
            if (i < s.length() && s.charAt(i) == '.') {
                integral = false;
                i++;
                int frac = i;
                while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
                if (i == frac) throw error("invalid number");
            }
            if (i < s.length() && (s.charAt(i) == 'e' || s.charAt(i) == 'E')) {
                integral = false;
                i++;
                if (i < s.length() && (s.charAt(i) == '+' || s.charAt(i) == '-')) i++;
                int exp = i;
                while (i < s.length() && Character.isDigit(s.charAt(i))) i++;
                if (i == exp) throw error("invalid number");
            }
            String num = s.substring(start, i);
            if (integral) {
                try {
                    return Long.parseLong(num);
                } catch (NumberFormatException tooBig) {
                    return Double.parseDouble(num);
                }
            }
            return Double.parseDouble(num);
        }
    }

    // ------------------------------------------------------------------------------------------------------------
    // command line

    static final String USAGE = String.join("\n",
            "vllm-sim: a simulated vLLM OpenAI-compatible server (dev tool; no model is run).",
            "",
            "usage: java tools/vllm-sim/dev/apirouter/sim/VllmSimulator.java [flags]",
            "",
            "  --host HOST                interface to bind (default 127.0.0.1)",
            "  --port PORT                port (default 8000; 0 = any free port)",
            "  --served-model-name NAME   accepted model name(s): repeatable, comma- or space-separated",
            "                             (default " + DEFAULT_MODEL + ")",
            "  --model PATH               model path, reported as root by /v1/models (also the served name",
            "                             when --served-model-name is absent); may be given positionally",
            "  --max-tokens N             completion tokens when the request sets none (default 16)",
            "  --token-delay-ms MS        delay before each generated token (default 20)",
            "  --embedding-dim N          embedding vector size (default 16)",
            "  --max-model-len N          context length (default 131072)",
            "  --stall-max-ms MS          cap of stalls and delays before headers (default 300000)",
            "  --error-format FORMAT      nested (vLLM >= 0.10.1, default) or legacy (older vLLM)",
            "  --api-key KEY              as vLLM: /v1/* needs 'Authorization: Bearer KEY', else 401",
            "  --verbose                  log every request to stderr",
            "  --slowness F               multiply step durations (engine) or token delays (default 1.0)",
            "  --legacy-metric-names      /metrics: vllm:gpu_cache_usage_perc, vllm:gpu_prefix_cache_* (vLLM < 0.9.2)",
            "",
            "engine model (continuous batching, prefix cache; see tools/vllm-sim/README.md):",
            "  --engine                   turn it on (default off: every request paced on its own)",
            "  --max-num-seqs N           sequences running at once (default 16)",
            "  --max-num-batched-tokens N token budget of a step, chunked prefill (default 2048)",
            "  --step-ms MS               fixed part of a step (default: --token-delay-ms)",
            "  --decode-us-per-seq US     step time per decoding sequence (default 500)",
            "  --prefill-us-per-token US  step time per prefilled token (default 100)",
            "  --block-size N             tokens per KV-cache block (default 16)",
            "  --num-gpu-blocks N         KV-cache blocks (default 2048)",
            "  --max-waiting-requests N   waiting-queue bound, beyond it 503 (default 10000)",
            "  -h, --help                 this text",
            "",
            "fault-injection request headers:",
            "  x-sim-status: CODE                    answer CODE (400..599) with an error JSON body",
            "  x-sim-delay-before-headers-ms: MS     sleep before sending response headers",
            "  x-sim-stall-after-chunks: N           streams: send N events, then go silent",
            "  x-sim-stall-ms: MS                    length of that stall (default: --stall-max-ms)",
            "  x-sim-token-delay-ms: MS              override --token-delay-ms for this request");

    /** Parses command-line flags into options (CLI defaults: port 8000, no request recording). */
    public static Options parseArgs(String... args) {
        Options o = new Options().port(8000).maxRecordedRequests(0);
        List<String> names = new ArrayList<>();
        String model = null;
        for (int k = 0; k < args.length; k++) {
            String a = args[k];
            String inline = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                inline = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            switch (a) {
                case "--served-model-name": {
                    List<String> values = new ArrayList<>();
                    if (inline != null) {
                        values.add(inline);
                    } else {
                        while (k + 1 < args.length && !args[k + 1].startsWith("--")) values.add(args[++k]);
                    }
                    if (values.isEmpty()) throw new IllegalArgumentException("--served-model-name needs a value");
                    for (String v : values) {
                        for (String n : v.split(",")) {
                            if (!n.isBlank()) names.add(n.trim());
                        }
                    }
                    break;
                }
                case "--verbose":
                    if (inline != null) throw new IllegalArgumentException("--verbose takes no value");
                    o.verbose(true);
                    break;
                case "--engine":
                    if (inline != null) throw new IllegalArgumentException("--engine takes no value");
                    o.engine(true);
                    break;
                case "--legacy-metric-names":
                    if (inline != null) throw new IllegalArgumentException("--legacy-metric-names takes no value");
                    o.legacyMetricNames(true);
                    break;
                default: {
                    if (!a.startsWith("-")) {
                        if (model != null) throw new IllegalArgumentException("unexpected argument: " + a);
                        model = a;
                        break;
                    }
                    String v = inline;
                    if (v == null) {
                        if (k + 1 >= args.length) throw new IllegalArgumentException(a + " needs a value");
                        v = args[++k];
                    }
                    switch (a) {
                        case "--host": o.host(v); break;
                        case "--port": o.port(intArg(a, v)); break;
                        case "--model": model = v; break;
                        case "--max-tokens": o.maxTokens(intArg(a, v)); break;
                        case "--token-delay-ms": o.tokenDelayMs(longArg(a, v)); break;
                        case "--embedding-dim": o.embeddingDim(intArg(a, v)); break;
                        case "--max-model-len": o.maxModelLen(intArg(a, v)); break;
                        case "--stall-max-ms": o.stallMaxMs(longArg(a, v)); break;
                        case "--api-key": o.apiKey(v); break;
                        case "--max-num-seqs": o.maxNumSeqs(intArg(a, v)); break;
                        case "--max-num-batched-tokens": o.maxNumBatchedTokens(intArg(a, v)); break;
                        case "--step-ms": o.stepMs(doubleArg(a, v)); break;
                        case "--decode-us-per-seq": o.decodeUsPerSeq(doubleArg(a, v)); break;
                        case "--prefill-us-per-token": o.prefillUsPerToken(doubleArg(a, v)); break;
                        case "--slowness": o.slowness(doubleArg(a, v)); break;
                        case "--block-size": o.blockSize(intArg(a, v)); break;
                        case "--num-gpu-blocks": o.numGpuBlocks(intArg(a, v)); break;
                        case "--max-waiting-requests": o.maxWaitingRequests(intArg(a, v)); break;
                        case "--error-format":
                            if (v.equalsIgnoreCase("nested")) o.errorFormat(ErrorFormat.NESTED);
                            else if (v.equalsIgnoreCase("legacy")) o.errorFormat(ErrorFormat.LEGACY);
                            else throw new IllegalArgumentException("--error-format must be nested or legacy: " + v);
                            break;
                        default:
                            throw new IllegalArgumentException("unknown flag: " + a);
                    }
                }
            }
        }
        if (model != null) o.modelPath(model);
        if (!names.isEmpty()) o.servedModelNames(names);
        else if (model != null) o.servedModelNames(model);
        return o;
    }

    private static int intArg(String flag, String v) {
        try {
            return Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " needs an integer: " + v);
        }
    }

    private static double doubleArg(String flag, String v) {
        try {
            return Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " needs a number: " + v);
        }
    }

    private static long longArg(String flag, String v) {
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " needs an integer: " + v);
        }
    }

    /** Command-line entry point: starts, prints one line, runs until SIGTERM / Ctrl-C. */
    public static void main(String[] args) throws InterruptedException {
        for (String a : args) {
            if (a.equals("-h") || a.equals("--help")) {
                System.out.println(USAGE);
                return;
            }
        }
        Options o;
        try {
            o = parseArgs(args);
        } catch (IllegalArgumentException e) {
            System.err.println("vllm-sim: " + e.getMessage() + " (see --help)");
            System.exit(2);
            return;
        }
        VllmSimulator sim;
        try {
            sim = start(o);
        } catch (IOException e) {
            System.err.println("vllm-sim: cannot listen on " + o.host() + ":" + o.port() + ": " + e.getMessage());
            System.exit(1);
            return;
        } catch (IllegalArgumentException e) {
            System.err.println("vllm-sim: " + e.getMessage() + " (see --help)");
            System.exit(2);
            return;
        }
        Runtime.getRuntime().addShutdownHook(new Thread(sim::close, "vllm-sim-shutdown"));
        System.out.println("vllm-sim (simulated vLLM, no model) listening on " + sim.baseUrl() + " serving "
                + String.join(", ", o.servedModelNames()) + " (max tokens " + o.maxTokens() + ", token delay "
                + o.tokenDelayMs() + " ms" + (o.engine() ? ", engine: max-num-seqs " + o.maxNumSeqs() + ", step "
                + o.effectiveStepMs() + " ms, " + o.numGpuBlocks() + " blocks of " + o.blockSize() + " tokens" : "")
                + ")");
        System.out.flush();
        sim.closedLatch.await();
    }
}
