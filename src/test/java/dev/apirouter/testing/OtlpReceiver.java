package dev.apirouter.testing;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.zip.GZIPInputStream;

import com.sun.net.httpserver.HttpServer;

/**
 * A small OTLP/HTTP trace collector for tests: {@code POST /v1/traces} with an {@code ExportTraceServiceRequest}
 * in protobuf, decoded by hand (only the fields tests look at) so no protobuf library is needed. Listens on
 * loopback only.
 */
public final class OtlpReceiver implements AutoCloseable {
    /** One received span. Ids are lower-case hex; {@code parentSpanId} is empty for a root span. */
    public record ReceivedSpan(String traceId, String spanId, String parentSpanId, String name, int kind,
                               Map<String, Object> attributes, Map<String, Object> resource, int statusCode,
                               long startNanos, long endNanos) {
        public String string(String key) {
            Object v = attributes.get(key);
            return v == null ? null : v.toString();
        }

        public Long number(String key) {
            Object v = attributes.get(key);
            return v instanceof Long l ? l : null;
        }
    }

    private final HttpServer server;
    private final ExecutorService executor = Executors.newFixedThreadPool(2);
    private final List<ReceivedSpan> spans = new ArrayList<>();
    private final List<Map<String, String>> requestHeaders = new ArrayList<>();

    private OtlpReceiver(HttpServer server) {
        this.server = server;
    }

    public static OtlpReceiver start() throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
        OtlpReceiver receiver = new OtlpReceiver(server);
        server.createContext("/v1/traces", exchange -> {
            try (exchange) {
                byte[] body;
                try (InputStream in = exchange.getRequestBody()) {
                    body = in.readAllBytes();
                }
                if ("gzip".equalsIgnoreCase(exchange.getRequestHeaders().getFirst("Content-Encoding"))) {
                    body = new GZIPInputStream(new java.io.ByteArrayInputStream(body)).readAllBytes();
                }
                Map<String, String> headers = new HashMap<>();
                exchange.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(), v.get(0)));
                List<ReceivedSpan> decoded = decodeRequest(body);
                synchronized (receiver.spans) {
                    receiver.requestHeaders.add(headers);
                    receiver.spans.addAll(decoded);
                    receiver.spans.notifyAll();
                }
                exchange.getResponseHeaders().add("Content-Type", "application/x-protobuf");
                exchange.sendResponseHeaders(200, 0);
            }
        });
        server.setExecutor(receiver.executor);
        server.start();
        return receiver;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    /** {@code http://127.0.0.1:<port>}: the value for {@code OTEL_EXPORTER_OTLP_ENDPOINT}. */
    public String endpoint() {
        return "http://127.0.0.1:" + port();
    }

    public List<ReceivedSpan> spans() {
        synchronized (spans) {
            return List.copyOf(spans);
        }
    }

    public List<Map<String, String>> requestHeaders() {
        synchronized (spans) {
            return List.copyOf(requestHeaders);
        }
    }

    /** Waits (bounded) until the spans received so far satisfy {@code condition}; returns them either way. */
    public List<ReceivedSpan> await(Predicate<List<ReceivedSpan>> condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (spans) {
            while (!condition.test(List.copyOf(spans))) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                TimeUnit.NANOSECONDS.timedWait(spans, left);
            }
            return List.copyOf(spans);
        }
    }

    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    // --- protobuf, by hand: ExportTraceServiceRequest{1: ResourceSpans} ResourceSpans{1: Resource, 2: ScopeSpans}
    //     Resource{1: KeyValue} ScopeSpans{2: Span} Span{1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 6 kind,
    //     7 start fixed64, 8 end fixed64, 9 KeyValue, 15 Status{3: code}} KeyValue{1 key, 2 AnyValue}
    //     AnyValue{1 string, 2 bool, 3 int, 4 double}

    static List<ReceivedSpan> decodeRequest(byte[] body) throws IOException {
        List<ReceivedSpan> out = new ArrayList<>();
        Reader request = new Reader(body);
        while (request.more()) {
            int tag = request.tag();
            if (tag >>> 3 == 1 && (tag & 7) == 2) {
                decodeResourceSpans(request.bytes(), out);
            } else {
                request.skip(tag);
            }
        }
        return out;
    }

    private static void decodeResourceSpans(byte[] bytes, List<ReceivedSpan> out) throws IOException {
        Reader r = new Reader(bytes);
        Map<String, Object> resource = new HashMap<>();
        List<byte[]> scopes = new ArrayList<>();
        while (r.more()) {
            int tag = r.tag();
            int field = tag >>> 3;
            if (field == 1 && (tag & 7) == 2) {
                Reader res = new Reader(r.bytes());
                while (res.more()) {
                    int t = res.tag();
                    if (t >>> 3 == 1 && (t & 7) == 2) {
                        keyValue(res.bytes(), resource);
                    } else {
                        res.skip(t);
                    }
                }
            } else if (field == 2 && (tag & 7) == 2) {
                scopes.add(r.bytes());
            } else {
                r.skip(tag);
            }
        }
        for (byte[] scope : scopes) {
            Reader s = new Reader(scope);
            while (s.more()) {
                int tag = s.tag();
                if (tag >>> 3 == 2 && (tag & 7) == 2) {
                    out.add(decodeSpan(s.bytes(), resource));
                } else {
                    s.skip(tag);
                }
            }
        }
    }

    private static ReceivedSpan decodeSpan(byte[] bytes, Map<String, Object> resource) throws IOException {
        Reader r = new Reader(bytes);
        String traceId = "";
        String spanId = "";
        String parent = "";
        String name = "";
        int kind = 0;
        int status = 0;
        long start = 0;
        long end = 0;
        Map<String, Object> attributes = new HashMap<>();
        HexFormat hex = HexFormat.of();
        while (r.more()) {
            int tag = r.tag();
            switch (tag >>> 3) {
                case 1 -> traceId = hex.formatHex(r.bytes());
                case 2 -> spanId = hex.formatHex(r.bytes());
                case 4 -> parent = hex.formatHex(r.bytes());
                case 5 -> name = new String(r.bytes(), StandardCharsets.UTF_8);
                case 6 -> kind = (int) r.varint();
                case 7 -> start = r.fixed64();
                case 8 -> end = r.fixed64();
                case 9 -> keyValue(r.bytes(), attributes);
                case 15 -> {
                    Reader st = new Reader(r.bytes());
                    while (st.more()) {
                        int t = st.tag();
                        if (t >>> 3 == 3 && (t & 7) == 0) {
                            status = (int) st.varint();
                        } else {
                            st.skip(t);
                        }
                    }
                }
                default -> r.skip(tag);
            }
        }
        return new ReceivedSpan(traceId, spanId, parent, name, kind, Map.copyOf(attributes), Map.copyOf(resource), status,
                start, end);
    }

    private static void keyValue(byte[] bytes, Map<String, Object> into) throws IOException {
        Reader r = new Reader(bytes);
        String key = null;
        Object value = null;
        while (r.more()) {
            int tag = r.tag();
            if (tag >>> 3 == 1) {
                key = new String(r.bytes(), StandardCharsets.UTF_8);
            } else if (tag >>> 3 == 2) {
                Reader v = new Reader(r.bytes());
                while (v.more()) {
                    int t = v.tag();
                    switch (t >>> 3) {
                        case 1 -> value = new String(v.bytes(), StandardCharsets.UTF_8);
                        case 2 -> value = v.varint() != 0;
                        case 3 -> value = v.varint();
                        case 4 -> value = Double.longBitsToDouble(v.fixed64());
                        default -> v.skip(t);
                    }
                }
            } else {
                r.skip(tag);
            }
        }
        if (key != null && value != null) {
            into.put(key, value);
        }
    }

    private static final class Reader {
        private final byte[] b;
        private int pos;

        Reader(byte[] b) {
            this.b = b;
        }

        boolean more() {
            return pos < b.length;
        }

        int tag() throws IOException {
            return (int) varint();
        }

        long varint() throws IOException {
            long result = 0;
            for (int shift = 0; shift < 64; shift += 7) {
                if (pos >= b.length) {
                    throw new IOException("truncated varint");
                }
                byte x = b[pos++];
                result |= (long) (x & 0x7f) << shift;
                if ((x & 0x80) == 0) {
                    return result;
                }
            }
            throw new IOException("malformed varint");
        }

        long fixed64() throws IOException {
            if (pos + 8 > b.length) {
                throw new IOException("truncated fixed64");
            }
            long v = 0;
            for (int i = 7; i >= 0; i--) {
                v = (v << 8) | (b[pos + i] & 0xffL);
            }
            pos += 8;
            return v;
        }

        byte[] bytes() throws IOException {
            int len = (int) varint();
            if (len < 0 || pos + len > b.length) {
                throw new IOException("truncated bytes");
            }
            byte[] out = java.util.Arrays.copyOfRange(b, pos, pos + len);
            pos += len;
            return out;
        }

        void skip(int tag) throws IOException {
            switch (tag & 7) {
                case 0 -> varint();
                case 1 -> pos += 8;
                case 2 -> bytes();
                case 5 -> pos += 4;
                default -> throw new IOException("unsupported wire type " + (tag & 7));
            }
        }
    }
}
