import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Multi-turn chat load for a fleet of vLLM backends behind the gateway (bench/fleet.sh; bench only, JDK only).
 *
 * <pre>
 *   FleetLoad --url http://127.0.0.1:P --key K --model M [--mode open|closed] [options]
 * </pre>
 *
 * The workload: sessions of TURNS-MIN..TURNS-MAX turns. Each session uses one of APPS long system prompts
 * (SYSTEM-WORDS whitespace-separated words each, distinct from the first word on) and resends its whole history
 * each turn: system prompt, then user / assistant messages, the assistant text being what the previous answer
 * streamed. User turns are USER-WORDS-MIN..USER-WORDS-MAX words. Every request is {@code "stream": true} with
 * {@code max_tokens} MAX-TOKENS; the SSE answer is parsed: TTFT is the time from sending the request to the first
 * event carrying non-empty content, end-to-end the time to {@code data: [DONE]}. Everything a session does (app,
 * turns, words, think times) comes from SEED and the session's number alone, and the arrival times from SEED and
 * the rate, so every run with the same seed and rate sends the same requests in the same order and timing.
 *
 * <pre>
 *   open   (default) new sessions arrive as a Poisson process of REQ-RATE / mean-turns sessions per second (so
 *          that about REQ-RATE requests/s are offered) during DURATION-S seconds, at most MAX-SESSIONS; a session
 *          thinks THINK-MS on average (exponential, capped at THINK-MAX-MS) between its turns. Nothing is sent
 *          after DEADLINE-S; what is still in flight then is "cut".
 *   closed CONCURRENCY workers each run sessions back to back with no think time for DURATION-S seconds; the
 *          figure is the requests completed per second after WARMUP-S (capacity_req_s).
 * </pre>
 *
 * With {@code --app-urls url,url,...} each app's requests go straight to one backend (app a to url a mod n), not to
 * URL: a static app-to-backend routing, the reference of what perfect prefix affinity gives without a gateway.
 * With {@code --metrics url,url,...} (the backends' /metrics) it scrapes every backend before the first request and
 * after the last, and every 500 ms meanwhile, and prints the deltas of the vLLM prefix-cache counters (summed over
 * backends and label sets), the streams each backend served (completed or cancelled), and its peak and mean
 * running, peak waiting and peak KV-cache usage.
 * Prints key=value lines (each key prefixed by PREFIX) on stdout, a summary of failures on stderr, and with
 * {@code --dump FILE} one line per request. TTFT percentiles are also given without the requests sent in the first
 * STEADY-AFTER-S (10) seconds, when caches are cold. Every loop is bounded in count and time; the process ends by itself.
 */
public final class FleetLoad {

    // ---- options -------------------------------------------------------------------------------------------------
    final String url, key, model, mode, prefix;
    final double reqRate;
    final int concurrency, durationS, warmupS, deadlineS, maxSessions, apps, systemWords, turnsMin, turnsMax;
    final int userWordsMin, userWordsMax, maxTokens, requestTimeoutS, steadyAfterS;
    final long seed, thinkMs, thinkMaxMs;
    final boolean sessionHeader;
    final List<String> metricsUrls;
    final List<String> appUrls; // set: app a's requests go to appUrls[a % n] directly (a static reference routing)
    final String dump;

    final HttpClient client;
    final String[] systemPrompts;
    final String[] vocabulary;
    long t0 = System.nanoTime(); // reset when the schedule starts: every time below is relative to it
    long deadlineNanos;

    // ---- results ---------------------------------------------------------------------------------------------------
    final ConcurrentLinkedQueue<Rec> records = new ConcurrentLinkedQueue<>();
    final AtomicInteger sessionsStarted = new AtomicInteger(), sessionsCompleted = new AtomicInteger();
    final AtomicInteger notSent = new AtomicInteger();
    final AtomicLong maxStartLagMs = new AtomicLong();
    final List<Long> startLags = new ArrayList<>(); // open loop: actual - scheduled start of each session (scheduler thread only)
    final Map<String, AtomicInteger> errors = new TreeMap<>();
    final Map<String, String> errorSamples = new TreeMap<>();

    /** One request: when it started (ms since the start), its outcome and times (-1: not reached). */
    static final class Rec {
        int session, turn, app, promptWords, status;
        long startMs, ttftMs = -1, e2eMs = -1, endMs = -1;
        boolean lowerBound; // cut or timed out: ttftMs (when no token came) and e2eMs are the time waited so far
        String outcome; // ok | status_NNN | broken | error_X | timeout | cut
        transient String text; // the streamed answer, for the session's next turn
    }

    FleetLoad(Map<String, String> o) {
        url = req(o, "url").replaceAll("/+$", "");
        key = req(o, "key");
        model = req(o, "model");
        mode = o.getOrDefault("mode", "open");
        prefix = o.getOrDefault("prefix", "");
        reqRate = Double.parseDouble(o.getOrDefault("req-rate", "10"));
        concurrency = intOpt(o, "concurrency", 64);
        durationS = intOpt(o, "duration-s", 40);
        warmupS = intOpt(o, "warmup-s", 10);
        deadlineS = intOpt(o, "deadline-s", durationS + 20);
        maxSessions = intOpt(o, "max-sessions", 1000);
        apps = intOpt(o, "apps", 6);
        systemWords = intOpt(o, "system-words", 1500);
        turnsMin = intOpt(o, "turns-min", 3);
        turnsMax = intOpt(o, "turns-max", 6);
        userWordsMin = intOpt(o, "user-words-min", 8);
        userWordsMax = intOpt(o, "user-words-max", 24);
        maxTokens = intOpt(o, "max-tokens", 16);
        requestTimeoutS = intOpt(o, "request-timeout-s", 120);
        steadyAfterS = intOpt(o, "steady-after-s", 10);
        seed = Long.parseLong(o.getOrDefault("seed", "42"));
        thinkMs = Long.parseLong(o.getOrDefault("think-ms", "1500"));
        thinkMaxMs = Long.parseLong(o.getOrDefault("think-max-ms", "5000"));
        sessionHeader = "1".equals(o.getOrDefault("session-header", "0"));
        String m = o.getOrDefault("metrics", "");
        metricsUrls = m.isBlank() ? List.of() : Arrays.asList(m.split(","));
        String au = o.getOrDefault("app-urls", "");
        appUrls = au.isBlank() ? List.of() : Arrays.asList(au.replaceAll("/+(,|$)", "$1").split(","));
        dump = o.get("dump");
        if (!mode.equals("open") && !mode.equals("closed")) throw new IllegalArgumentException("--mode open|closed");
        if (turnsMin < 1 || turnsMax < turnsMin || apps < 1 || systemWords < 1 || userWordsMax < userWordsMin
                || userWordsMin < 1 || reqRate <= 0 || durationS < 1 || deadlineS < durationS) {
            throw new IllegalArgumentException("inconsistent options");
        }
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(5)).build();
        vocabulary = vocabulary(new Random(seed));
        systemPrompts = new String[apps];
        for (int a = 0; a < apps; a++) systemPrompts[a] = systemPrompt(a);
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = new HashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) throw new IllegalArgumentException("bad argument: " + args[i]);
            o.put(args[i].substring(2), args[++i]);
        }
        FleetLoad f = new FleetLoad(o);
        f.run();
        System.out.flush();
        System.err.flush();
        System.exit(0); // in-flight requests cut at the deadline must not keep the JVM alive
    }

    // ---- the workload ----------------------------------------------------------------------------------------------

    /** 512 pseudo-words from the seed: a vocabulary for system prompts and user turns. */
    static String[] vocabulary(Random r) {
        String[] syl = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qui", "dor", "ben", "fal",
                "gri", "hum", "jet", "lin", "mor", "nut", "ost", "pel", "rax", "sil", "tor", "ust", "vel", "wim"};
        String[] v = new String[512];
        for (int i = 0; i < v.length; i++) {
            StringBuilder sb = new StringBuilder();
            int n = 1 + r.nextInt(3);
            for (int k = 0; k < n; k++) sb.append(syl[r.nextInt(syl.length)]);
            v[i] = sb.toString();
        }
        return v;
    }

    /** App a's system prompt: exactly systemWords words, different from the first word on. */
    String systemPrompt(int a) {
        Random r = new Random(seed * 7919L + a);
        StringBuilder sb = new StringBuilder(systemWords * 7);
        sb.append("App-").append(a).append(": You are the assistant of application ").append(a).append('.');
        int words = 9;
        while (words < systemWords) {
            sb.append(' ').append(vocabulary[r.nextInt(vocabulary.length)]);
            if (r.nextInt(12) == 0) sb.append('.');
            words++;
        }
        return sb.toString();
    }

    /** What session i does: a function of the seed and i only. */
    final class Session {
        final int idx, app, turns;
        final String[] user;
        final long[] think;

        Session(int idx) {
            this.idx = idx;
            Random r = new Random(seed * 1_000_003L + idx * 31L + 17);
            app = r.nextInt(apps);
            turns = turnsMin + r.nextInt(turnsMax - turnsMin + 1);
            user = new String[turns];
            think = new long[turns];
            for (int t = 0; t < turns; t++) {
                int n = userWordsMin + r.nextInt(userWordsMax - userWordsMin + 1);
                StringBuilder sb = new StringBuilder("Question ").append(t + 1).append(" of session ").append(idx).append(':');
                for (int w = 0; w < n; w++) sb.append(' ').append(vocabulary[r.nextInt(vocabulary.length)]);
                user[t] = sb.append('?').toString();
                double u = r.nextDouble();
                think[t] = Math.min(thinkMaxMs, (long) (-Math.log(1 - u) * thinkMs));
            }
        }
    }

    double meanTurns() {
        return (turnsMin + turnsMax) / 2.0;
    }

    long nowMs() {
        return (System.nanoTime() - t0) / 1_000_000L;
    }

    // ---- running -----------------------------------------------------------------------------------------------------

    void run() throws Exception {
        Metrics before = scrape();
        t0 = System.nanoTime(); // after the first scrape (its HttpClient start-up is not the schedule's)
        deadlineNanos = t0 + TimeUnit.SECONDS.toNanos(deadlineS);
        Sampler sampler = new Sampler();
        Thread st = new Thread(sampler, "metrics-sampler");
        st.setDaemon(true);
        if (!metricsUrls.isEmpty()) st.start();
        long runStart = nowMs();
        double offeredSessionsPerS = 0;
        int scheduled = 0;
        if (mode.equals("open")) {
            // Poisson arrivals: exponential gaps from the seed; the same seed at another rate scales the same gaps
            Random arrivals = new Random(seed);
            offeredSessionsPerS = reqRate / meanTurns();
            List<Long> at = new ArrayList<>();
            double t = 0;
            while (at.size() < maxSessions) {
                t += -Math.log(1 - arrivals.nextDouble()) / offeredSessionsPerS * 1000.0;
                if (t >= durationS * 1000.0) break;
                at.add((long) t);
            }
            scheduled = at.size();
            ExecutorService pool = Executors.newCachedThreadPool(r -> {
                Thread th = new Thread(r, "session");
                th.setDaemon(true);
                return th;
            });
            CountDownLatch done = new CountDownLatch(at.size());
            for (int i = 0; i < at.size(); i++) {
                long due = at.get(i);
                long wait = due - nowMs();
                if (wait > 0) Thread.sleep(wait);
                long lag = nowMs() - due;
                maxStartLagMs.accumulateAndGet(lag, Math::max);
                startLags.add(lag);
                final int idx = i;
                pool.execute(() -> {
                    try {
                        runSession(new Session(idx), true);
                    } finally {
                        done.countDown();
                    }
                });
            }
            done.await(Math.max(0, deadlineNanos - System.nanoTime()) + TimeUnit.SECONDS.toNanos(2), TimeUnit.NANOSECONDS);
        } else {
            deadlineNanos = t0 + TimeUnit.SECONDS.toNanos(durationS);
            AtomicInteger next = new AtomicInteger();
            Thread[] workers = new Thread[concurrency];
            for (int w = 0; w < concurrency; w++) {
                workers[w] = new Thread(() -> {
                    while (System.nanoTime() < deadlineNanos) {
                        int idx = next.getAndIncrement();
                        if (idx >= maxSessions) break;
                        runSession(new Session(idx), false);
                    }
                }, "worker-" + w);
                workers[w].setDaemon(true);
                workers[w].start();
            }
            for (Thread w : workers) w.join(Math.max(1, (deadlineNanos - System.nanoTime()) / 1_000_000L + 2000));
            scheduled = next.get();
        }
        long runEnd = nowMs();
        sampler.stop = true;
        Metrics after = scrape();
        report(before, after, sampler, runStart, runEnd, offeredSessionsPerS, scheduled);
    }

    void runSession(Session s, boolean think) {
        sessionsStarted.incrementAndGet();
        List<String[]> history = new ArrayList<>();
        for (int t = 0; t < s.turns; t++) {
            if (System.nanoTime() >= deadlineNanos) {
                notSent.addAndGet(s.turns - t);
                return;
            }
            Rec rec = send(s, t, history);
            records.add(rec);
            if (rec.outcome == null || !rec.outcome.equals("ok")) {
                notSent.addAndGet(s.turns - t - 1);
                return;
            }
            history.add(new String[] {"user", s.user[t]});
            history.add(new String[] {"assistant", rec.text});
            rec.text = null;
            if (think && t + 1 < s.turns && s.think[t] > 0) {
                long left = (deadlineNanos - System.nanoTime()) / 1_000_000L;
                if (left <= 0) continue; // the check above ends it
                try {
                    Thread.sleep(Math.min(left, s.think[t]));
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
        sessionsCompleted.incrementAndGet();
    }

    Rec send(Session s, int turn, List<String[]> history) {
        Rec rec = new Rec();
        rec.session = s.idx;
        rec.turn = turn;
        rec.app = s.app;
        StringBuilder body = new StringBuilder(systemPrompts[s.app].length() + 4096);
        body.append("{\"model\":").append(quote(model)).append(",\"stream\":true,\"max_tokens\":").append(maxTokens)
                .append(",\"messages\":[{\"role\":\"system\",\"content\":").append(quote(systemPrompts[s.app])).append('}');
        int words = systemWords;
        for (String[] m : history) {
            body.append(",{\"role\":\"").append(m[0]).append("\",\"content\":").append(quote(m[1])).append('}');
            words += countWords(m[1]);
        }
        body.append(",{\"role\":\"user\",\"content\":").append(quote(s.user[turn])).append("}]}");
        words += countWords(s.user[turn]);
        rec.promptWords = words;
        String base = appUrls.isEmpty() ? url : appUrls.get(s.app % appUrls.size());
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(requestTimeoutS))
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + key)
                .POST(HttpRequest.BodyPublishers.ofString(body.toString()));
        if (sessionHeader) b.header("x-session-id", "s" + seed + "-" + s.idx);
        Sse sse = new Sse();
        long start = System.nanoTime();
        sse.start = start;
        rec.startMs = (start - t0) / 1_000_000L;
        CompletableFuture<HttpResponse<Void>> cf = client.sendAsync(b.build(), info -> {
            sse.status = info.statusCode();
            return HttpResponse.BodySubscribers.fromLineSubscriber(sse);
        });
        cf.whenComplete((r, e) -> {
            if (e != null) sse.fail(e);
        });
        long limit = Math.min(deadlineNanos, start + TimeUnit.SECONDS.toNanos(requestTimeoutS));
        boolean finished;
        try {
            finished = sse.done.await(Math.max(0, limit - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            finished = false;
        }
        long end = System.nanoTime();
        rec.status = sse.status;
        if (sse.firstContent > 0) rec.ttftMs = (sse.firstContent - start) / 1_000_000L;
        if (!finished) {
            cf.cancel(true);
            rec.outcome = limit == deadlineNanos && end >= deadlineNanos ? "cut" : "timeout";
            // a request still waiting for its first token at the cut has waited at least this long
            rec.lowerBound = true;
            if (rec.ttftMs < 0) rec.ttftMs = (end - start) / 1_000_000L;
            rec.e2eMs = (end - start) / 1_000_000L;
        } else if (sse.error != null) {
            rec.outcome = "error_" + sse.error.getClass().getSimpleName();
            noteError(rec.outcome, String.valueOf(sse.error.getMessage()));
        } else if (sse.status != 200) {
            rec.outcome = "status_" + sse.status;
            noteError(rec.outcome, sse.body.toString());
        } else if (!sse.sawDone) {
            rec.outcome = "broken";
            noteError(rec.outcome, "200 without data: [DONE] (" + sse.events + " events)");
        } else {
            rec.outcome = "ok";
            rec.e2eMs = (sse.doneAt - start) / 1_000_000L;
            rec.endMs = (sse.doneAt - t0) / 1_000_000L;
            if (rec.ttftMs < 0) {
                rec.outcome = "broken";
                noteError(rec.outcome, "200 and [DONE] but no content");
            }
        }
        if (rec.lowerBound) {
            noteError(rec.outcome, "in flight at the " + (rec.outcome.equals("cut") ? "deadline" : "request timeout"));
        }
        rec.text = sse.text.toString();
        return rec;
    }

    void noteError(String kind, String sample) {
        synchronized (errors) {
            errors.computeIfAbsent(kind, k -> new AtomicInteger()).incrementAndGet();
            errorSamples.putIfAbsent(kind, sample.length() > 200 ? sample.substring(0, 200) : sample);
        }
    }

    /** The SSE answer, line by line as it arrives. */
    static final class Sse implements Flow.Subscriber<String> {
        final CountDownLatch done = new CountDownLatch(1);
        final StringBuilder text = new StringBuilder(), body = new StringBuilder();
        volatile int status;
        volatile long start, firstContent, doneAt;
        volatile boolean sawDone;
        volatile Throwable error;
        int events;

        @Override
        public void onSubscribe(Flow.Subscription s) {
            s.request(Long.MAX_VALUE);
        }

        @Override
        public void onNext(String line) {
            long now = System.nanoTime();
            if (status != 200) {
                if (body.length() < 400) body.append(line);
                return;
            }
            if (!line.startsWith("data:")) return;
            String data = line.substring(5).trim();
            events++;
            if (data.equals("[DONE]")) {
                sawDone = true;
                doneAt = now;
                return;
            }
            String c = content(data);
            if (c != null && !c.isEmpty()) {
                if (firstContent == 0) firstContent = now;
                text.append(c);
            }
        }

        @Override
        public void onError(Throwable t) {
            fail(t);
        }

        @Override
        public void onComplete() {
            done.countDown();
        }

        void fail(Throwable t) {
            if (error == null) error = t;
            done.countDown();
        }
    }

    /** The "content" string of the first choice's delta in an SSE chunk, unescaped; null when there is none. */
    static String content(String json) {
        int d = json.indexOf("\"delta\"");
        if (d < 0) return null;
        int c = json.indexOf("\"content\"", d);
        if (c < 0) return null;
        int i = c + 9;
        while (i < json.length() && (json.charAt(i) == ' ' || json.charAt(i) == ':')) i++;
        if (i >= json.length() || json.charAt(i) != '"') return null; // null content
        StringBuilder sb = new StringBuilder();
        for (i++; i < json.length(); i++) {
            char ch = json.charAt(i);
            if (ch == '"') return sb.toString();
            if (ch == '\\' && i + 1 < json.length()) {
                char e = json.charAt(++i);
                switch (e) {
                    case 'n': sb.append('\n'); break;
                    case 't': sb.append('\t'); break;
                    case 'r': sb.append('\r'); break;
                    case 'b': sb.append('\b'); break;
                    case 'f': sb.append('\f'); break;
                    case 'u':
                        if (i + 4 < json.length()) {
                            sb.append((char) Integer.parseInt(json.substring(i + 1, i + 5), 16));
                            i += 4;
                        }
                        break;
                    default: sb.append(e);
                }
            } else {
                sb.append(ch);
            }
        }
        return sb.toString();
    }

    static String quote(String s) {
        StringBuilder sb = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"': sb.append("\\\""); break;
                case '\\': sb.append("\\\\"); break;
                case '\n': sb.append("\\n"); break;
                case '\r': sb.append("\\r"); break;
                case '\t': sb.append("\\t"); break;
                default:
                    if (c < 0x20) sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    else sb.append(c);
            }
        }
        return sb.append('"').toString();
    }

    static int countWords(String s) {
        int n = 0;
        boolean in = false;
        for (int i = 0; i < s.length(); i++) {
            boolean ws = Character.isWhitespace(s.charAt(i));
            if (!ws && !in) n++;
            in = !ws;
        }
        return n;
    }

    // ---- backends' /metrics --------------------------------------------------------------------------------------------

    /** Per backend: metric name (labels dropped) -> value summed over its label sets. */
    static final class Metrics {
        final List<Map<String, Double>> perBackend = new ArrayList<>();
    }

    /** Streams a backend has ended (completed or cancelled): the requests it served (its request counter counts /metrics too). */
    static double streams(Map<String, Double> m) {
        return m.getOrDefault("vllm_sim_streams_completed_total", 0.0) + m.getOrDefault("vllm_sim_streams_cancelled_total", 0.0);
    }

    /** vLLM's counter NAME, or its name before vLLM 0.9.2 (vllm:gpu_NAME). */
    static double counter(Map<String, Double> m, String name) {
        Double v = m.get("vllm:" + name);
        return v != null ? v : m.getOrDefault("vllm:gpu_" + name, 0.0);
    }

    Metrics scrape() {
        Metrics m = new Metrics();
        for (String u : metricsUrls) m.perBackend.add(scrapeOne(u));
        return m;
    }

    Map<String, Double> scrapeOne(String u) {
        Map<String, Double> out = new HashMap<>();
        try {
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(u)).timeout(Duration.ofSeconds(3)).GET().build(),
                    HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
            if (r.statusCode() != 200) return out;
            for (String line : r.body().split("\n")) {
                line = line.trim();
                if (line.isEmpty() || line.startsWith("#")) continue;
                int sp = line.lastIndexOf(' ');
                if (sp < 0) continue;
                String name = line.substring(0, sp).trim();
                int brace = name.indexOf('{');
                if (brace >= 0) name = name.substring(0, brace);
                try {
                    double v = Double.parseDouble(line.substring(sp + 1).trim());
                    out.merge(name, v, Double::sum);
                } catch (NumberFormatException e) {
                    // a timestamped sample or NaN: not used here
                }
            }
        } catch (IOException | InterruptedException | RuntimeException e) {
            out.put("scrape_failed", 1.0);
        }
        return out;
    }

    /** Every 500 ms: each backend's running, waiting and KV-cache usage (peaks and mean). */
    final class Sampler implements Runnable {
        volatile boolean stop;
        final int n = metricsUrls.size();
        final double[] maxRunning = new double[n], maxWaiting = new double[n], sumRunning = new double[n],
                sumWaiting = new double[n], maxKv = new double[n];
        int samples;

        @Override
        public void run() {
            long end = deadlineNanos + TimeUnit.SECONDS.toNanos(5);
            while (!stop && System.nanoTime() < end) {
                for (int i = 0; i < n; i++) {
                    Map<String, Double> m = scrapeOne(metricsUrls.get(i));
                    double r = m.getOrDefault("vllm:num_requests_running", 0.0);
                    double w = m.getOrDefault("vllm:num_requests_waiting", 0.0);
                    double kv = m.getOrDefault("vllm:kv_cache_usage_perc", m.getOrDefault("vllm:gpu_cache_usage_perc", 0.0));
                    synchronized (this) {
                        maxRunning[i] = Math.max(maxRunning[i], r);
                        maxWaiting[i] = Math.max(maxWaiting[i], w);
                        maxKv[i] = Math.max(maxKv[i], kv);
                        sumRunning[i] += r;
                        sumWaiting[i] += w;
                    }
                }
                synchronized (this) {
                    samples++;
                }
                try {
                    Thread.sleep(500);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }
    }

    // ---- results -------------------------------------------------------------------------------------------------------

    void out(String k, Object v) {
        System.out.println(prefix + k + "=" + v);
    }

    static String f1(double v) {
        return String.format(Locale.ROOT, "%.1f", v);
    }

    static String f3(double v) {
        return String.format(Locale.ROOT, "%.3f", v);
    }

    static long pct(long[] sorted, double p) {
        if (sorted.length == 0) return -1;
        int idx = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, idx))];
    }

    void report(Metrics before, Metrics after, Sampler sampler, long runStart, long runEnd, double sessionsPerS,
                int scheduled) throws IOException {
        List<Rec> all = new ArrayList<>(records);
        all.sort((a, b) -> Long.compare(a.startMs, b.startMs));
        int ok = 0, cut = 0;
        List<Long> ttft = new ArrayList<>(), e2e = new ArrayList<>();
        int lowerBounds = 0;
        Map<String, Integer> outcomes = new TreeMap<>();
        for (Rec r : all) {
            outcomes.merge(r.outcome, 1, Integer::sum);
            if (r.outcome.equals("ok")) {
                ok++;
                ttft.add(r.ttftMs);
                e2e.add(r.e2eMs);
            } else if (r.outcome.equals("cut") || r.outcome.equals("timeout")) {
                cut++;
                // still waiting when the run or the request timed out: counted with the time waited (a lower bound)
                ttft.add(r.ttftMs);
                e2e.add(r.e2eMs);
                lowerBounds++;
            }
        }
        out("mode", mode);
        out("seed", seed);
        out("session_header", sessionHeader ? 1 : 0);
        if (mode.equals("open")) {
            out("offered_req_s", f3(reqRate));
            out("offered_sessions_s", f3(sessionsPerS));
            out("sessions_scheduled", scheduled);
            out("start_lag_p99_ms", pct(startLags.stream().mapToLong(Long::longValue).sorted().toArray(), 99));
            out("start_lag_max_ms", maxStartLagMs.get());
        } else {
            out("concurrency", concurrency);
        }
        out("sessions_started", sessionsStarted.get());
        out("sessions_completed", sessionsCompleted.get());
        out("requests_sent", all.size());
        out("requests_ok", ok);
        out("requests_failed", all.size() - ok);
        out("requests_cut", cut);
        out("turns_not_sent", notSent.get());
        StringBuilder oc = new StringBuilder();
        for (Map.Entry<String, Integer> e : outcomes.entrySet()) {
            if (e.getKey().equals("ok")) continue;
            if (oc.length() > 0) oc.append(' ');
            oc.append(e.getKey()).append(':').append(e.getValue());
        }
        out("failures", oc);
        out("elapsed_s", f1((runEnd - runStart) / 1000.0));
        out("achieved_req_s", f3(ok * 1000.0 / Math.max(1, runEnd - runStart)));
        long[] t = ttft.stream().mapToLong(Long::longValue).sorted().toArray();
        long[] e = e2e.stream().mapToLong(Long::longValue).sorted().toArray();
        out("ttft_samples", t.length);
        out("ttft_lower_bounds", lowerBounds);
        out("ttft_p50_ms", pct(t, 50));
        out("ttft_p90_ms", pct(t, 90));
        out("ttft_p99_ms", pct(t, 99));
        out("ttft_max_ms", pct(t, 100));
        // the same without the requests sent in the first STEADY-AFTER-S seconds (cold caches, cold gateway)
        long[] ts = all.stream().filter(x -> x.startMs >= steadyAfterS * 1000L)
                .filter(x -> x.outcome.equals("ok") || x.lowerBound).mapToLong(x -> x.ttftMs).sorted().toArray();
        out("steady_after_s", steadyAfterS);
        out("ttft_steady_samples", ts.length);
        out("ttft_steady_p50_ms", pct(ts, 50));
        out("ttft_steady_p99_ms", pct(ts, 99));
        out("e2e_p50_ms", pct(e, 50));
        out("e2e_p99_ms", pct(e, 99));
        out("e2e_max_ms", pct(e, 100));
        double pw = 0;
        for (Rec r : all) pw += r.promptWords;
        out("prompt_words_mean", all.isEmpty() ? 0 : (long) (pw / all.size()));
        if (mode.equals("closed")) {
            int inWindow = 0;
            long from = warmupS * 1000L, to = durationS * 1000L;
            for (Rec r : all) {
                if (r.outcome.equals("ok") && r.endMs >= from && r.endMs < to) inWindow++;
            }
            out("capacity_window_s", durationS - warmupS);
            out("capacity_req_s", f3(inWindow / (double) Math.max(1, durationS - warmupS)));
        }
        // backends: prefix cache (tokens), requests received, peaks
        int n = metricsUrls.size();
        if (n > 0) {
            double hits = 0, queries = 0;
            boolean hasPrefix = false;
            StringBuilder reqs = new StringBuilder(), hitsPer = new StringBuilder(), maxW = new StringBuilder(),
                    meanR = new StringBuilder(), maxR = new StringBuilder(), maxKv = new StringBuilder();
            for (int i = 0; i < n; i++) {
                Map<String, Double> b = before.perBackend.get(i), a = after.perBackend.get(i);
                double h = counter(a, "prefix_cache_hits_total") - counter(b, "prefix_cache_hits_total");
                double q = counter(a, "prefix_cache_queries_total") - counter(b, "prefix_cache_queries_total");
                hasPrefix |= a.containsKey("vllm:prefix_cache_queries_total") || a.containsKey("vllm:gpu_prefix_cache_queries_total");
                hits += h;
                queries += q;
                String sep = i == 0 ? "" : "/";
                reqs.append(sep).append((long) (streams(a) - streams(b)));
                hitsPer.append(sep).append(q > 0 ? f3(h / q) : "-");
                synchronized (sampler) {
                    maxW.append(sep).append((long) sampler.maxWaiting[i]);
                    maxR.append(sep).append((long) sampler.maxRunning[i]);
                    meanR.append(sep).append(f1(sampler.samples == 0 ? 0 : sampler.sumRunning[i] / sampler.samples));
                    maxKv.append(sep).append(f3(sampler.maxKv[i]));
                }
            }
            out("backends", n);
            out("backend_streams", reqs);
            if (hasPrefix) {
                out("prefix_cache_hits_tokens", (long) hits);
                out("prefix_cache_queries_tokens", (long) queries);
                out("prefix_cache_hit_ratio", queries > 0 ? f3(hits / queries) : "");
                out("backend_prefix_hit_ratio", hitsPer);
            }
            out("backend_running_max", maxR);
            out("backend_running_mean", meanR);
            out("backend_waiting_max", maxW);
            out("backend_kv_usage_max", maxKv);
            int failedScrapes = 0;
            for (int i = 0; i < n; i++) {
                if (before.perBackend.get(i).containsKey("scrape_failed") || after.perBackend.get(i).containsKey("scrape_failed")) failedScrapes++;
            }
            out("metrics_scrape_failed", failedScrapes);
        }
        synchronized (errors) {
            for (Map.Entry<String, AtomicInteger> x : errors.entrySet()) {
                System.err.println(x.getValue().get() + " x " + x.getKey() + ": " + errorSamples.get(x.getKey()));
            }
        }
        if (dump != null) {
            StringBuilder sb = new StringBuilder("# session turn app start_ms ttft_ms e2e_ms status outcome prompt_words (cut/timeout: times waited so far)\n");
            for (Rec r : all) {
                sb.append(r.session).append(' ').append(r.turn).append(' ').append(r.app).append(' ').append(r.startMs)
                        .append(' ').append(r.ttftMs).append(' ').append(r.e2eMs).append(' ').append(r.status)
                        .append(' ').append(r.outcome).append(' ').append(r.promptWords).append('\n');
            }
            java.nio.file.Files.writeString(java.nio.file.Path.of(dump), sb.toString());
        }
    }

    static String req(Map<String, String> o, String k) {
        String v = o.get(k);
        if (v == null) throw new IllegalArgumentException("--" + k + " is required");
        return v;
    }

    static int intOpt(Map<String, String> o, String k, int def) {
        String v = o.get(k);
        return v == null ? def : Integer.parseInt(v);
    }
}
