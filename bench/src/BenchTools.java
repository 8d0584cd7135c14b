import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * Benchmark helpers for api-router (bench only, JDK only, loopback only). Modes:
 *
 * <pre>
 *   sse-backend --port P [--chunks 200] [--interval-us 10000]
 *       An HTTP/1.1 keep-alive server answering every POST with an SSE stream of CHUNKS events, one every
 *       INTERVAL-US microseconds (from the x-bench-start-us request header when given), each carrying "sent_us":
 *       the wall clock (epoch microseconds) just before the event's write() to the socket. Thread per connection;
 *       runs until killed.
 *
 *   sse-delay --direct-port A --gateway-port B --key K --model M [--streams 5] [--warmup 1] [--chunks 200]
 *             [--interval-us 10000]
 *       Runs rounds of two simultaneous streams, one direct to the sse-backend and one through the gateway (the
 *       direct one half an interval later, via the x-bench-start-us request header), records for each event
 *       arrival_us - sent_us (arrival = wall clock right after the read() that completed the event) and prints
 *       key=value percentiles for both paths.
 *
 *   streams --port P --n N --key K --model M [--max-tokens 20] [--rate 1000] [--deadline-s 60] [--prefix p]
 *           [--header "name: value"]
 *       Opens N concurrent SSE streams (one connection each, "Connection: close"), RATE new connections per
 *       second, with one NIO selector thread; classifies every answer (200 stream complete with [DONE] and the
 *       chunked terminator, 503 with an "overloaded" JSON error, anything else) and prints key=value results.
 * </pre>
 *
 * Every loop is bounded in count and time.
 */
public final class BenchTools {

    public static void main(String[] args) throws Exception {
        if (args.length == 0) {
            System.err.println("usage: BenchTools sse-backend|sse-delay|streams [--flag value ...]");
            System.exit(2);
        }
        Map<String, String> opts = new HashMap<>();
        for (int i = 1; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("bad argument: " + args[i]);
            }
            opts.put(args[i].substring(2), args[++i]);
        }
        switch (args[0]) {
            case "sse-backend": sseBackend(opts); break;
            case "sse-delay": sseDelay(opts); break;
            case "streams": streams(opts); break;
            default: throw new IllegalArgumentException("unknown mode " + args[0]);
        }
    }

    static String opt(Map<String, String> o, String name, String def) {
        String v = o.get(name);
        if (v == null && def == null) throw new IllegalArgumentException("--" + name + " is required");
        return v != null ? v : def;
    }

    static int intOpt(Map<String, String> o, String name, String def) {
        return Integer.parseInt(opt(o, name, def));
    }

    static long nowMicros() {
        Instant t = Instant.now();
        return t.getEpochSecond() * 1_000_000L + t.getNano() / 1_000;
    }

    static long percentile(long[] sorted, double p) {
        if (sorted.length == 0) return -1;
        int idx = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, idx))];
    }

    static String ms(long micros) {
        return String.format(Locale.ROOT, "%.3f", micros / 1000.0);
    }

    // ---------------------------------------------------------------------------------------------------------
    // sse-backend

    static void sseBackend(Map<String, String> o) throws IOException {
        int port = intOpt(o, "port", null);
        int chunks = intOpt(o, "chunks", "200");
        long intervalUs = Long.parseLong(opt(o, "interval-us", "10000"));
        ServerSocket server = new ServerSocket();
        server.setReuseAddress(true);
        server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1024);
        System.out.println("sse-backend listening on 127.0.0.1:" + port + " (" + chunks + " events every "
                + intervalUs + " us)");
        System.out.flush();
        while (true) {
            Socket s = server.accept();
            Thread t = new Thread(() -> serve(s, chunks, intervalUs), "sse-conn");
            t.setDaemon(true);
            t.start();
        }
    }

    static void serve(Socket s, int chunks, long intervalUs) {
        try (s) {
            s.setTcpNoDelay(true);
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            for (int request = 0; request < 1_000_000; request++) {
                Map<String, String> headers = readHead(in);
                if (headers == null) return;
                long len = Long.parseLong(headers.getOrDefault("content-length", "0").trim());
                in.skipNBytes(len);
                boolean close = "close".equalsIgnoreCase(headers.getOrDefault("connection", "").trim());
                out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
                        + "Transfer-Encoding: chunked\r\n" + (close ? "Connection: close\r\n" : "") + "\r\n")
                        .getBytes(StandardCharsets.US_ASCII));
                out.flush();
                // event i is due at start + i * interval (wall clock); the client may choose start, so that
                // two streams (direct and through the gateway) run on one schedule
                long startUs = nowMicros();
                String askedStart = headers.get("x-bench-start-us");
                if (askedStart != null) {
                    long asked = Long.parseLong(askedStart.trim());
                    if (asked > startUs && asked - startUs < 10_000_000L) startUs = asked;
                }
                for (int i = 0; i < chunks; i++) {
                    long waitUs = startUs + i * intervalUs - nowMicros();
                    if (waitUs > 0) TimeUnit.MICROSECONDS.sleep(waitUs);
                    String event = "data: {\"id\":\"bench\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
                            + "\"delta\":{\"content\":\" tok" + i + "\"},\"finish_reason\":null}],\"seq\":" + i
                            + ",\"sent_us\":" + nowMicros() + "}\n\n";
                    writeChunk(out, event.getBytes(StandardCharsets.US_ASCII));
                }
                writeChunk(out, "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII));
                out.write("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                out.flush();
                if (close) return;
            }
        } catch (IOException | InterruptedException e) {
            // client went away
        }
    }

    static void writeChunk(OutputStream out, byte[] data) throws IOException {
        byte[] head = (Integer.toHexString(data.length) + "\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] all = new byte[head.length + data.length + 2];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(data, 0, all, head.length, data.length);
        all[all.length - 2] = '\r';
        all[all.length - 1] = '\n';
        out.write(all); // one write() per event: the sent_us stamp is taken right before it
        out.flush();
    }

    /** Reads a request head; lower-case header names; null at EOF before any byte. */
    static Map<String, String> readHead(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        int state = 0;
        while (head.size() < 65536) {
            int b = in.read();
            if (b < 0) return null;
            head.write(b);
            state = (b == '\r' && (state == 0 || state == 2)) ? state + 1
                    : (b == '\n' && (state == 1 || state == 3)) ? state + 1 : 0;
            if (state == 4) break;
        }
        Map<String, String> h = new HashMap<>();
        String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
        for (int i = 1; i < lines.length; i++) {
            int c = lines[i].indexOf(':');
            if (c > 0) h.put(lines[i].substring(0, c).trim().toLowerCase(Locale.ROOT), lines[i].substring(c + 1).trim());
        }
        return h;
    }

    // ---------------------------------------------------------------------------------------------------------
    // sse-delay

    static void sseDelay(Map<String, String> o) throws Exception {
        int direct = intOpt(o, "direct-port", null);
        int gateway = intOpt(o, "gateway-port", null);
        String key = opt(o, "key", null);
        String model = opt(o, "model", null);
        int streams = intOpt(o, "streams", "5");
        int warmup = intOpt(o, "warmup", "1");
        int chunks = intOpt(o, "chunks", "200");
        long intervalUs = Long.parseLong(opt(o, "interval-us", "10000"));
        String dump = o.get("dump");
        StringBuilder dumped = new StringBuilder("round path event delay_us\n");
        List<Long> d = new ArrayList<>();
        List<Long> g = new ArrayList<>();
        List<Long> paired = new ArrayList<>(); // gateway delay - direct delay of the same event number, same round
        int bad = 0;
        // Each round runs one stream through the gateway and one direct at the same time, so both see the same
        // machine (this one is shared and busy); the direct one is scheduled half an interval later so the two
        // paths never handle an event at the same instant.
        for (int i = 0; i < warmup + streams; i++) {
            boolean measured = i >= warmup;
            long start = nowMicros() + 300_000;
            List<Long> gs = new ArrayList<>();
            List<Long> ds = new ArrayList<>();
            int[] got = new int[2];
            Thread tg = new Thread(() -> got[0] = oneStream(gateway, key, model, start, gs));
            Thread td = new Thread(() -> got[1] = oneStream(direct, key, model, start + intervalUs / 2, ds));
            tg.start();
            td.start();
            tg.join(120_000);
            td.join(120_000);
            if (got[0] != chunks) bad++;
            if (got[1] != chunks) bad++;
            if (measured) {
                g.addAll(gs);
                d.addAll(ds);
                if (gs.size() == chunks && ds.size() == chunks) {
                    for (int k = 0; k < chunks; k++) paired.add(gs.get(k) - ds.get(k));
                }
            }
            dumped.append("# round ").append(i).append(" start_us ").append(start).append(" interval_us ").append(intervalUs)
                    .append(" (direct events half an interval later)\n");
            for (int k = 0; k < gs.size(); k++) dumped.append(i).append(" gateway ").append(k).append(' ').append(gs.get(k)).append('\n');
            for (int k = 0; k < ds.size(); k++) dumped.append(i).append(" direct ").append(k).append(' ').append(ds.get(k)).append('\n');
        }
        long[] ds = d.stream().mapToLong(Long::longValue).sorted().toArray();
        long[] gs = g.stream().mapToLong(Long::longValue).sorted().toArray();
        System.out.println("sse_chunks_per_stream=" + chunks);
        System.out.println("sse_streams_each=" + streams);
        System.out.println("sse_direct_samples=" + ds.length);
        System.out.println("sse_gateway_samples=" + gs.length);
        System.out.println("sse_incomplete_streams=" + bad);
        for (String[] p : new String[][] {{"p50", "50"}, {"p90", "90"}, {"p99", "99"}, {"max", "100"}}) {
            double q = Double.parseDouble(p[1]);
            System.out.println("sse_direct_" + p[0] + "_ms=" + ms(percentile(ds, q)));
            System.out.println("sse_gateway_" + p[0] + "_ms=" + ms(percentile(gs, q)));
            System.out.println("sse_added_" + p[0] + "_ms=" + ms(percentile(gs, q) - percentile(ds, q)));
        }
        long[] ps = paired.stream().mapToLong(Long::longValue).sorted().toArray();
        System.out.println("sse_paired_samples=" + ps.length);
        System.out.println("sse_paired_p50_ms=" + ms(percentile(ps, 50)));
        System.out.println("sse_paired_p99_ms=" + ms(percentile(ps, 99)));
        int over = 0;
        for (long v : gs) if (v > 2_000) over++;
        System.out.println("sse_gateway_over_2ms=" + over);
        if (dump != null) java.nio.file.Files.writeString(java.nio.file.Path.of(dump), dumped);
    }

    /** One stream; adds arrival - sent (us) per event to sink; returns the number of events seen. */
    static int oneStream(int port, String key, String model, long startUs, List<Long> sink) {
        try {
            return streamOnce(port, key, model, startUs, sink);
        } catch (IOException e) {
            System.err.println("sse-delay: port " + port + ": " + e);
            return -1;
        }
    }

    static int streamOnce(int port, String key, String model, long startUs, List<Long> sink) throws IOException {
        String json = "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"bench\"}],\"stream\":true}";
        String req = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nAuthorization: Bearer " + key
                + "\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nConnection: close\r\n"
                + "x-bench-start-us: " + startUs + "\r\nContent-Length: " + json.length() + "\r\n\r\n" + json;
        int events = 0;
        try (Socket s = new Socket()) {
            s.setTcpNoDelay(true);
            s.setSoTimeout(30_000);
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 5_000);
            s.getOutputStream().write(req.getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[65536];
            StringBuilder head = new StringBuilder();
            Dechunker body = null;
            StringBuilder acc = null; // the decoded body (chunk boundaries are not event boundaries)
            int scan = 0;
            final String marker = "\"sent_us\":";
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                int n = in.read(buf);
                long arrival = nowMicros();
                if (n < 0) break;
                if (body == null) {
                    head.append(new String(buf, 0, n, StandardCharsets.ISO_8859_1));
                    int end = head.indexOf("\r\n\r\n");
                    if (end < 0) continue;
                    if (!head.toString().startsWith("HTTP/1.1 200")) {
                        System.err.println("sse-delay: port " + port + " answered: "
                                + head.substring(0, Math.min(300, head.length())));
                        return events;
                    }
                    body = new Dechunker();
                    acc = body.out;
                    byte[] rest = head.substring(end + 4).getBytes(StandardCharsets.ISO_8859_1);
                    body.feed(rest, 0, rest.length);
                } else {
                    body.feed(buf, 0, n);
                }
                while (true) {
                    int m = acc.indexOf(marker, scan);
                    if (m < 0) break;
                    int start = m + marker.length();
                    int end = acc.indexOf("}", start);
                    if (end < 0) break; // incomplete: wait for the rest
                    long sent = Long.parseLong(acc.substring(start, end).trim());
                    sink.add(arrival - sent);
                    events++;
                    scan = end;
                }
            }
            if (body == null || !body.done) {
                System.err.println("sse-delay: port " + port + ": the stream did not end cleanly");
            }
        }
        return events;
    }

    /** Incremental decoder of an HTTP/1.1 chunked body; decoded bytes go to {@link #out} as ISO-8859-1 chars. */
    static final class Dechunker {
        final StringBuilder out = new StringBuilder();
        private final StringBuilder line = new StringBuilder();
        private int state; // 0 size line, 1 data, 2 CRLF after data, 3 trailer lines
        private long remaining;
        boolean done;
        boolean malformed;

        void feed(byte[] b, int off, int len) {
            int i = off, end = off + len;
            while (i < end && !done && !malformed) {
                switch (state) {
                    case 0:
                    case 2:
                    case 3: {
                        char c = (char) (b[i++] & 0xff);
                        if (c != '\n') {
                            if (c != '\r') line.append(c);
                            continue;
                        }
                        String l = line.toString();
                        line.setLength(0);
                        if (state == 2) {
                            if (!l.isEmpty()) malformed = true;
                            state = 0;
                        } else if (state == 3) {
                            if (l.isEmpty()) done = true;
                        } else {
                            int semi = l.indexOf(';');
                            try {
                                remaining = Long.parseLong((semi >= 0 ? l.substring(0, semi) : l).trim(), 16);
                            } catch (NumberFormatException e) {
                                malformed = true;
                                break;
                            }
                            state = remaining == 0 ? 3 : 1;
                        }
                        break;
                    }
                    default: {
                        int take = (int) Math.min(remaining, end - i);
                        for (int k = 0; k < take; k++) out.append((char) (b[i + k] & 0xff));
                        i += take;
                        remaining -= take;
                        if (remaining == 0) state = 2;
                    }
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // streams

    static final class Conn {
        final int id;
        SocketChannel ch;
        ByteBuffer out;
        final ByteArrayOutputStream in = new ByteArrayOutputStream(1024);
        long tStart, tHead = -1, tEnd = -1;
        int headEnd = -1;
        int status = -1;
        String error;
        boolean finished;

        Conn(int id) {
            this.id = id;
        }
    }

    static void streams(Map<String, String> o) throws IOException {
        int port = intOpt(o, "port", null);
        int n = intOpt(o, "n", null);
        String key = opt(o, "key", null);
        String model = opt(o, "model", null);
        int maxTokens = intOpt(o, "max-tokens", "20");
        double rate = Double.parseDouble(opt(o, "rate", "1000"));
        long deadlineS = Long.parseLong(opt(o, "deadline-s", "60"));
        String prefix = opt(o, "prefix", "streams");
        String extraHeader = o.containsKey("header") ? o.get("header") + "\r\n" : "";
        InetSocketAddress addr = new InetSocketAddress(InetAddress.getLoopbackAddress(), port);

        Selector selector = Selector.open();
        Conn[] conns = new Conn[n];
        ByteBuffer buf = ByteBuffer.allocateDirect(1 << 16);
        byte[] arr = new byte[1 << 16];
        long t0 = System.nanoTime();
        long deadline = t0 + TimeUnit.SECONDS.toNanos(deadlineS);
        int opened = 0;
        int finished = 0;
        int maxOpen = 0;
        long nextSample = t0;
        long lastOpenedAt = t0;
        while (finished < n && System.nanoTime() < deadline) {
            long now = System.nanoTime();
            long due = Math.min(n, (long) ((now - t0) / 1e9 * rate) + 1);
            while (opened < due) {
                Conn c = new Conn(opened);
                conns[opened++] = c;
                lastOpenedAt = now;
                c.tStart = System.nanoTime();
                String body = "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"stream " + c.id
                        + "\"}],\"stream\":true,\"max_tokens\":" + maxTokens + "}";
                String req = "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\nAuthorization: Bearer "
                        + key + "\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nConnection: close\r\n"
                        + extraHeader + "Content-Length: " + body.length() + "\r\n\r\n" + body;
                c.out = ByteBuffer.wrap(req.getBytes(StandardCharsets.US_ASCII));
                try {
                    c.ch = SocketChannel.open();
                    c.ch.configureBlocking(false);
                    c.ch.socket().setTcpNoDelay(true);
                    if (c.ch.connect(addr)) {
                        c.ch.register(selector, SelectionKey.OP_WRITE, c);
                    } else {
                        c.ch.register(selector, SelectionKey.OP_CONNECT, c);
                    }
                } catch (IOException e) {
                    c.error = "connect: " + e;
                    finished += finish(c);
                }
            }
            selector.select(5);
            Iterator<SelectionKey> it = selector.selectedKeys().iterator();
            while (it.hasNext()) {
                SelectionKey k = it.next();
                it.remove();
                Conn c = (Conn) k.attachment();
                try {
                    if (k.isConnectable()) {
                        c.ch.finishConnect();
                        k.interestOps(SelectionKey.OP_WRITE);
                    }
                    if (k.isValid() && k.isWritable()) {
                        c.ch.write(c.out);
                        if (!c.out.hasRemaining()) k.interestOps(SelectionKey.OP_READ);
                    }
                    if (k.isValid() && k.isReadable()) {
                        for (int reads = 0; reads < 16; reads++) {
                            buf.clear();
                            int r = c.ch.read(buf);
                            if (r < 0) {
                                finished += finish(c);
                                k.cancel();
                                break;
                            }
                            if (r == 0) break;
                            buf.flip();
                            buf.get(arr, 0, r);
                            c.in.write(arr, 0, r);
                            if (c.headEnd < 0) parseHead(c);
                        }
                    }
                } catch (IOException e) {
                    c.error = e.toString();
                    finished += finish(c);
                    k.cancel();
                }
            }
            now = System.nanoTime();
            if (now >= nextSample) {
                nextSample = now + TimeUnit.MILLISECONDS.toNanos(100);
                int open = 0;
                for (int i = 0; i < opened; i++) {
                    Conn c = conns[i];
                    if (!c.finished && c.status == 200) open++;
                }
                maxOpen = Math.max(maxOpen, open);
            }
        }
        int hung = 0;
        for (int i = 0; i < opened; i++) {
            if (!conns[i].finished) {
                conns[i].error = "no end before the deadline";
                hung++;
                finished += finish(conns[i]);
            }
        }
        selector.close();

        // classify
        int ok = 0, okIncomplete = 0, shed = 0, shedBadBody = 0, other = 0, errors = 0;
        List<Long> ttfbOk = new ArrayList<>();
        List<Long> durOk = new ArrayList<>();
        List<Long> shedLat = new ArrayList<>();
        TreeMap<String, Integer> otherKinds = new TreeMap<>();
        int expectedEvents = maxTokens + 2; // role event, tokens, [DONE]
        for (int i = 0; i < opened; i++) {
            Conn c = conns[i];
            String text = c.in.toString(StandardCharsets.ISO_8859_1);
            if (c.status == 200) {
                Dechunker body = new Dechunker();
                byte[] raw = c.headEnd >= 0 ? text.substring(c.headEnd).getBytes(StandardCharsets.ISO_8859_1) : new byte[0];
                body.feed(raw, 0, raw.length);
                String bodyText = body.out.toString();
                int events = count(bodyText, "data: ");
                boolean clean = c.error == null && body.done && !body.malformed && bodyText.endsWith("data: [DONE]\n\n")
                        && events == expectedEvents;
                if (clean) {
                    ok++;
                    ttfbOk.add((c.tHead - c.tStart) / 1000);
                    durOk.add((c.tEnd - c.tStart) / 1000);
                } else {
                    okIncomplete++;
                    otherKinds.merge("200 but broken: " + (c.error != null ? c.error : events + " events"), 1, Integer::sum);
                }
            } else if (c.status == 503) {
                shed++;
                shedLat.add((c.tEnd - c.tStart) / 1000);
                String bodyText = c.headEnd >= 0 ? text.substring(c.headEnd) : "";
                boolean json = text.toLowerCase(Locale.ROOT).contains("content-type: application/json");
                if (!json || !bodyText.contains("\"code\":\"overloaded\"")) {
                    shedBadBody++;
                    otherKinds.merge("503 without overloaded JSON: " + bodyText.substring(0, Math.min(120, bodyText.length())), 1, Integer::sum);
                }
            } else if (c.status > 0) {
                other++;
                otherKinds.merge("status " + c.status, 1, Integer::sum);
            } else {
                errors++;
                String e = c.error == null ? "no answer" : c.error;
                otherKinds.merge("error: " + e.replaceAll("[0-9]+", "N"), 1, Integer::sum);
            }
        }
        if (o.containsKey("dump")) {
            StringBuilder sb = new StringBuilder("id start_ms head_ms end_ms status\n");
            for (int i = 0; i < opened; i++) {
                Conn c = conns[i];
                sb.append(c.id).append(' ').append(ms((c.tStart - t0) / 1000)).append(' ')
                        .append(c.tHead < 0 ? "-" : ms((c.tHead - t0) / 1000)).append(' ')
                        .append(c.tEnd < 0 ? "-" : ms((c.tEnd - t0) / 1000)).append(' ').append(c.status).append('\n');
            }
            java.nio.file.Files.writeString(java.nio.file.Path.of(o.get("dump")), sb);
        }
        long[] tt = sorted(ttfbOk), du = sorted(durOk), sl = sorted(shedLat);
        String p = prefix + "_";
        System.out.println(p + "requested=" + n);
        System.out.println(p + "opened=" + opened);
        System.out.println(p + "ramp_s=" + String.format(Locale.ROOT, "%.2f", (lastOpenedAt - t0) / 1e9));
        System.out.println(p + "ok_complete=" + ok);
        System.out.println(p + "ok_broken=" + okIncomplete);
        System.out.println(p + "shed_503=" + shed);
        System.out.println(p + "shed_503_not_overloaded_json=" + shedBadBody);
        System.out.println(p + "other_status=" + other);
        System.out.println(p + "conn_errors=" + errors);
        System.out.println(p + "hung=" + hung);
        System.out.println(p + "max_open_200=" + maxOpen);
        System.out.println(p + "ttfb_p50_ms=" + ms(percentile(tt, 50)));
        System.out.println(p + "ttfb_p99_ms=" + ms(percentile(tt, 99)));
        System.out.println(p + "ttfb_max_ms=" + ms(percentile(tt, 100)));
        System.out.println(p + "duration_p50_ms=" + ms(percentile(du, 50)));
        System.out.println(p + "duration_max_ms=" + ms(percentile(du, 100)));
        System.out.println(p + "shed_latency_p50_ms=" + ms(percentile(sl, 50)));
        System.out.println(p + "shed_latency_max_ms=" + ms(percentile(sl, 100)));
        System.out.println(p + "elapsed_s=" + String.format(Locale.ROOT, "%.2f", (System.nanoTime() - t0) / 1e9));
        for (Map.Entry<String, Integer> e : otherKinds.entrySet()) {
            System.err.println(prefix + ": " + e.getValue() + " x " + e.getKey());
        }
    }

    static long[] sorted(List<Long> l) {
        long[] a = l.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(a);
        return a;
    }

    static int count(String s, String needle) {
        int c = 0;
        for (int i = s.indexOf(needle); i >= 0; i = s.indexOf(needle, i + needle.length())) c++;
        return c;
    }

    static void parseHead(Conn c) {
        byte[] b = c.in.toByteArray();
        for (int i = 3; i < b.length; i++) {
            if (b[i - 3] == '\r' && b[i - 2] == '\n' && b[i - 1] == '\r' && b[i] == '\n') {
                c.headEnd = i + 1;
                c.tHead = System.nanoTime();
                String line = new String(b, 0, Math.min(b.length, 16), StandardCharsets.ISO_8859_1);
                if (line.startsWith("HTTP/1.") && line.length() >= 12) {
                    try {
                        c.status = Integer.parseInt(line.substring(9, 12));
                    } catch (NumberFormatException e) {
                        c.status = 0;
                    }
                }
                return;
            }
        }
    }

    static int finish(Conn c) {
        if (c.finished) return 0;
        c.finished = true;
        c.tEnd = System.nanoTime();
        if (c.ch != null) {
            try {
                c.ch.close();
            } catch (IOException ignored) {
                // closing
            }
        }
        return 1;
    }
}
