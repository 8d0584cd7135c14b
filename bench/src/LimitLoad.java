import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Load for the key-limits benchmark (bench/limits.sh; bench only, JDK only). Every request is the same small
 * non-stream chat completion ({@code max_tokens} 1) with {@code Authorization: Bearer KEY}.
 *
 * <pre>
 *   LimitLoad open   --urls u1,u2,.. --key K --model M --rate R --duration-s D --per-second FILE [options]
 *   LimitLoad closed --url u --key K --model M --concurrency C --duration-s D [--warmup-s W] [options]
 * </pre>
 *
 * <b>open</b>: request i is sent at start + i / R seconds (a constant rate, whatever the answers do), to
 * urls[i mod n] (round-robin), for D seconds: at most R x D requests. Each is counted in the second of its
 * scheduled send (the gateway decides on arrival): 200 (admitted), 429, any other status, or an error (no answer
 * within TIMEOUT-MS, connection failure). FILE gets one line per second: second, epoch second, sent, 200, 429,
 * other, errors, then the 200s per url. Prints {@code PREFIX}-prefixed key=value lines: totals, the 200s of every
 * minute of the run ({@code ok_min_N}, N from 1; a last, partial minute is marked {@code _partial}), and for each
 * {@code --window NAME:FROM:TO} (seconds of the run, TO empty = the end) its 200s, 429s, others and errors and
 * its 200s per minute. {@code --kill-pid PID --kill-at-s S} sends SIGKILL to PID at second S of the run (the Redis
 * of the benchmark; its moment is then exact) and prints when it did.
 * <p>
 * <b>closed</b>: C workers each send one request after the other for W + D seconds; the figures (requests/s,
 * latency p50/p99/max, statuses) are over the last D seconds only (requests sent after the warm-up).
 * <p>
 * Bounded in count and time: every request has a deadline (TIMEOUT-MS, 10000), and the process ends at most
 * TIMEOUT-MS + 5 s after its last send.
 */
public final class LimitLoad {
    static String opt(Map<String, String> o, String k, String def) {
        String v = o.get(k);
        if (v == null && def == null) {
            throw new IllegalArgumentException("--" + k + " is needed");
        }
        return v == null ? def : v;
    }

    public static void main(String[] args) throws Exception {
        if (args.length == 0 || !(args[0].equals("open") || args[0].equals("closed"))) {
            System.err.println("usage: LimitLoad open|closed --option value ... (see the source)");
            System.exit(2);
        }
        Map<String, String> o = new TreeMap<>();
        List<String> windows = new ArrayList<>();
        for (int i = 1; i + 1 < args.length; i += 2) {
            String k = args[i].replaceFirst("^--", "");
            if (k.equals("window")) {
                windows.add(args[i + 1]);
            } else {
                o.put(k, args[i + 1]);
            }
        }
        String key = opt(o, "key", null), model = opt(o, "model", null), prefix = opt(o, "prefix", "");
        int timeoutMs = Integer.parseInt(opt(o, "timeout-ms", "10000"));
        int durationS = Integer.parseInt(opt(o, "duration-s", null));
        ExecutorService pool = Executors.newFixedThreadPool(4, r -> {
            Thread t = new Thread(r, "http");
            t.setDaemon(true);
            return t;
        });
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(pool)
                .connectTimeout(Duration.ofMillis(Math.min(timeoutMs, 5000))).build();
        String body = "{\"model\":\"" + model + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                + "\"max_tokens\":1}";
        if (args[0].equals("open")) {
            open(o, windows, client, key, body, prefix, timeoutMs, durationS);
        } else {
            closed(o, client, key, body, prefix, timeoutMs, durationS);
        }
        System.out.flush();
        System.exit(0); // the client's threads and idle connections are not waited for
    }

    static HttpRequest request(String url, String key, String body, int timeoutMs) {
        return HttpRequest.newBuilder(URI.create(url + "/v1/chat/completions"))
                .timeout(Duration.ofMillis(timeoutMs))
                .header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)).build();
    }

    // ---- open loop ---------------------------------------------------------------------------------------------

    static void open(Map<String, String> o, List<String> windows, HttpClient client, String key, String body,
                     String prefix, int timeoutMs, int durationS) throws Exception {
        String[] urls = opt(o, "urls", null).split(",");
        double rate = Double.parseDouble(opt(o, "rate", null));
        Path perSecond = Path.of(opt(o, "per-second", null));
        long killPid = Long.parseLong(opt(o, "kill-pid", "0"));
        double killAtS = Double.parseDouble(opt(o, "kill-at-s", "-1"));
        int n = urls.length, secs = durationS + 1; // seconds of the epoch clock the sends fall in
        AtomicIntegerArray sent = new AtomicIntegerArray(secs), ok = new AtomicIntegerArray(secs);
        AtomicIntegerArray r429 = new AtomicIntegerArray(secs), other = new AtomicIntegerArray(secs);
        AtomicIntegerArray err = new AtomicIntegerArray(secs), okByUrl = new AtomicIntegerArray(secs * n);
        Map<String, AtomicInteger> otherCodes = new ConcurrentHashMap<>();
        AtomicInteger inFlight = new AtomicInteger();
        AtomicLong lateMaxNanos = new AtomicLong();
        long total = (long) Math.floor(rate * durationS);
        List<CompletableFuture<?>> all = new ArrayList<>();
        long startEpochMs = System.currentTimeMillis();
        long t0 = System.nanoTime();
        boolean killed = false;
        double killedAtS = -1;
        for (long i = 0; i < total; i++) {
            long due = t0 + (long) (i * 1e9 / rate);
            if (!killed && killPid > 0 && killAtS >= 0 && due >= t0 + (long) (killAtS * 1e9)) {
                long killDue = t0 + (long) (killAtS * 1e9);
                sleepUntil(killDue);
                killedAtS = (System.nanoTime() - t0) / 1e9;
                boolean done = ProcessHandle.of(killPid).map(ProcessHandle::destroyForcibly).orElse(false);
                System.err.printf(Locale.ROOT, "LimitLoad: SIGKILL to pid %d at %.3f s: %s%n", killPid, killedAtS,
                        done ? "sent" : "no such process");
                killed = true;
            }
            sleepUntil(due);
            long late = System.nanoTime() - due;
            if (late > lateMaxNanos.get()) {
                lateMaxNanos.set(late);
            }
            // the epoch second of the scheduled send, from the run's first: the gateway's limit windows are minutes
            // of the same (epoch) clock, so minutes of these seconds can be put side by side with them
            int s = (int) Math.min(secs - 1, (startEpochMs + (due - t0) / 1_000_000) / 1000 - startEpochMs / 1000);
            int u = (int) (i % n);
            sent.incrementAndGet(s);
            inFlight.incrementAndGet();
            CompletableFuture<?> f = client.sendAsync(request(urls[u], key, body, timeoutMs),
                            HttpResponse.BodyHandlers.discarding())
                    .handle((resp, ex) -> {
                        inFlight.decrementAndGet();
                        if (ex != null) {
                            err.incrementAndGet(s);
                            otherCodes.computeIfAbsent("error_" + ex.getClass().getSimpleName()
                                    .replaceAll("[^A-Za-z0-9]", ""), k -> new AtomicInteger()).incrementAndGet();
                        } else if (resp.statusCode() == 200) {
                            ok.incrementAndGet(s);
                            okByUrl.incrementAndGet(s * n + u);
                        } else if (resp.statusCode() == 429) {
                            r429.incrementAndGet(s);
                        } else {
                            other.incrementAndGet(s);
                            otherCodes.computeIfAbsent("status_" + resp.statusCode(), k -> new AtomicInteger())
                                    .incrementAndGet();
                        }
                        return null;
                    });
            all.add(f);
        }
        long lastSend = System.nanoTime();
        try {
            CompletableFuture.allOf(all.toArray(new CompletableFuture<?>[0])).get(timeoutMs + 5000L, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            System.err.println("LimitLoad: " + inFlight.get() + " requests unanswered at the end: " + e);
        }
        try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(perSecond))) {
            StringBuilder h = new StringBuilder("# second epoch_s sent ok_200 status_429 other_status errors");
            for (int u = 0; u < n; u++) {
                h.append(" ok_url").append(u + 1);
            }
            w.println(h);
            for (int s = 0; s < secs; s++) {
                StringBuilder l = new StringBuilder();
                l.append(s).append(' ').append(startEpochMs / 1000 + s).append(' ').append(sent.get(s)).append(' ')
                        .append(ok.get(s)).append(' ').append(r429.get(s)).append(' ').append(other.get(s))
                        .append(' ').append(err.get(s));
                for (int u = 0; u < n; u++) {
                    l.append(' ').append(okByUrl.get(s * n + u));
                }
                w.println(l);
            }
        }
        PrintWriter out = new PrintWriter(System.out, true);
        String p = prefix;
        out.printf(Locale.ROOT, "%sstart_epoch_ms=%d%n", p, startEpochMs);
        out.printf(Locale.ROOT, "%srate=%s%n", p, rate);
        out.printf(Locale.ROOT, "%sduration_s=%d%n", p, durationS);
        out.printf(Locale.ROOT, "%ssent=%d%n", p, sum(sent, 0, secs));
        out.printf(Locale.ROOT, "%sok=%d%n", p, sum(ok, 0, secs));
        out.printf(Locale.ROOT, "%sstatus_429=%d%n", p, sum(r429, 0, secs));
        out.printf(Locale.ROOT, "%sother_status=%d%n", p, sum(other, 0, secs));
        out.printf(Locale.ROOT, "%serrors=%d%n", p, sum(err, 0, secs));
        out.printf(Locale.ROOT, "%sunanswered=%d%n", p, inFlight.get());
        for (Map.Entry<String, AtomicInteger> e : new TreeMap<>(otherCodes).entrySet()) {
            out.printf(Locale.ROOT, "%s%s=%d%n", p, e.getKey(), e.getValue().get());
        }
        out.printf(Locale.ROOT, "%ssend_late_max_ms=%.1f%n", p, lateMaxNanos.get() / 1e6);
        out.printf(Locale.ROOT, "%ssend_span_s=%.3f%n", p, (lastSend - t0) / 1e9);
        for (int m = 0; m * 60 < durationS; m++) {
            int from = m * 60, to = Math.min(durationS, from + 60);
            out.printf(Locale.ROOT, "%sok_min_%d%s=%d%n", p, m + 1, to - from < 60 ? "_partial" : "", sum(ok, from, to));
        }
        // minutes of the clock (the limiter's windows): the first is the one the run started in; a minute is whole
        // when every one of its seconds had sends (the run's last second is partial, so is not counted as whole)
        // sends cover [startEpochMs, startEpochMs + D s): the epoch seconds firstSec (partial unless on the second)
        // to firstSec + D (partial, or empty)
        long firstSec = startEpochMs / 1000, endSec = firstSec + secs; // [firstSec, endSec) has every send
        long firstMin = Math.floorDiv(firstSec, 60);
        int wholeAfterFirst = 0, okWholeAfterFirst = 0;
        StringBuilder list = new StringBuilder();
        for (long cm = firstMin; cm * 60 < endSec; cm++) {
            long a = Math.max(cm * 60, firstSec), b = Math.min(cm * 60 + 60, endSec); // [a, b)
            boolean whole = a == cm * 60 && cm * 60 + 60 <= firstSec + durationS
                    && (a > firstSec || startEpochMs % 1000 == 0);
            int c = sum(ok, (int) (a - firstSec), (int) (b - firstSec));
            int idx = (int) (cm - firstMin) + 1;
            out.printf(Locale.ROOT, "%sclock_min_%d_ok=%d%n%sclock_min_%d_seconds=%d%n", p, idx, c, p, idx, b - a);
            list.append(list.length() == 0 ? "" : " ").append(c).append(whole ? "" : "*");
            if (whole && idx > 1) {
                wholeAfterFirst++;
                okWholeAfterFirst += c;
            }
        }
        out.printf(Locale.ROOT, "%sclock_mins=%s%n", p, list);
        out.printf(Locale.ROOT, "%sclock_whole_after_first=%d%n", p, wholeAfterFirst);
        if (wholeAfterFirst > 0) {
            out.printf(Locale.ROOT, "%sclock_whole_after_first_ok_per_min=%.1f%n", p, okWholeAfterFirst / (double) wholeAfterFirst);
        }
        for (int u = 0; u < n; u++) {
            int c = 0;
            for (int s = 0; s < secs; s++) {
                c += okByUrl.get(s * n + u);
            }
            out.printf(Locale.ROOT, "%sok_url%d=%d%n", p, u + 1, c);
        }
        out.printf(Locale.ROOT, "%sok_per_min=%.1f%n", p, sum(ok, 0, secs) * 60.0 / durationS);
        if (killedAtS >= 0) {
            out.printf(Locale.ROOT, "%skilled_at_s=%.3f%n", p, killedAtS);
        }
        for (String win : windows) {
            String[] f = win.split(":", -1);
            int from = Math.max(0, Integer.parseInt(f[1]));
            int to = f.length < 3 || f[2].isEmpty() ? secs : Math.min(secs, Integer.parseInt(f[2]));
            int span = Math.min(to, durationS) - from; // the last (epoch) second is a fraction of one
            String q = p + f[0] + "_";
            out.printf(Locale.ROOT, "%sfrom_s=%d%n%sto_s=%d%n", q, from, q, to);
            out.printf(Locale.ROOT, "%sok=%d%n%sstatus_429=%d%n%sother_status=%d%n%serrors=%d%n", q, sum(ok, from, to),
                    q, sum(r429, from, to), q, sum(other, from, to), q, sum(err, from, to));
            out.printf(Locale.ROOT, "%sok_per_min=%.1f%n", q, span > 0 ? sum(ok, from, to) * 60.0 / span : 0.0);
        }
    }

    static int sum(AtomicIntegerArray a, int from, int to) {
        int c = 0;
        for (int i = from; i < to; i++) {
            c += a.get(i);
        }
        return c;
    }

    static void sleepUntil(long due) throws InterruptedException {
        long d;
        while ((d = due - System.nanoTime()) > 0) {
            if (d > 2_000_000) {
                Thread.sleep((d - 1_000_000) / 1_000_000);
            } else {
                Thread.onSpinWait();
            }
        }
    }

    // ---- closed loop -------------------------------------------------------------------------------------------

    static void closed(Map<String, String> o, HttpClient client, String key, String body, String prefix,
                       int timeoutMs, int durationS) throws Exception {
        String url = opt(o, "url", null);
        int conc = Integer.parseInt(opt(o, "concurrency", "32"));
        int warmupS = Integer.parseInt(opt(o, "warmup-s", "0"));
        long t0 = System.nanoTime();
        long measureFrom = t0 + warmupS * 1_000_000_000L, end = measureFrom + durationS * 1_000_000_000L;
        long[][] lat = new long[conc][];
        int[][] counts = new int[conc][4]; // 200, 429, other, error
        Thread[] ts = new Thread[conc];
        for (int c = 0; c < conc; c++) {
            int me = c;
            ts[c] = new Thread(() -> {
                long[] l = new long[1 << 16];
                int k = 0;
                HttpRequest req = request(url, key, body, timeoutMs);
                while (true) {
                    long st = System.nanoTime();
                    if (st >= end) {
                        break;
                    }
                    int kind;
                    try {
                        int code = client.send(req, HttpResponse.BodyHandlers.discarding()).statusCode();
                        kind = code == 200 ? 0 : code == 429 ? 1 : 2;
                    } catch (IOException e) {
                        kind = 3;
                    } catch (InterruptedException e) {
                        return;
                    }
                    long en = System.nanoTime();
                    if (st >= measureFrom && en <= end) {
                        counts[me][kind]++;
                        if (k == l.length) {
                            l = Arrays.copyOf(l, l.length * 2);
                        }
                        l[k++] = en - st;
                    }
                }
                lat[me] = Arrays.copyOf(l, k);
            }, "worker-" + c);
            ts[c].start();
        }
        for (Thread t : ts) {
            t.join(timeoutMs + (long) (warmupS + durationS) * 1000 + 5000);
        }
        long[] all = Arrays.stream(lat).filter(a -> a != null).flatMapToLong(Arrays::stream).sorted().toArray();
        int[] tot = new int[4];
        for (int[] c : counts) {
            for (int i = 0; i < 4; i++) {
                tot[i] += c[i];
            }
        }
        String p = prefix;
        System.out.printf(Locale.ROOT, "%srequests=%d%n%srps=%.1f%n", p, all.length, p, all.length / (double) durationS);
        System.out.printf(Locale.ROOT, "%sok=%d%n%sstatus_429=%d%n%sother_status=%d%n%serrors=%d%n",
                p, tot[0], p, tot[1], p, tot[2], p, tot[3]);
        if (all.length > 0) {
            System.out.printf(Locale.ROOT, "%sp50_us=%d%n%sp99_us=%d%n%smax_us=%d%n", p,
                    all[(int) Math.min(all.length - 1, Math.ceil(all.length * 0.50) - 1)] / 1000, p,
                    all[(int) Math.min(all.length - 1, Math.ceil(all.length * 0.99) - 1)] / 1000, p,
                    all[all.length - 1] / 1000);
        }
    }
}
