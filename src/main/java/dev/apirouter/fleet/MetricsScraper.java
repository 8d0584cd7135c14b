package dev.apirouter.fleet;

import java.time.Duration;
import java.util.Collection;
import java.util.Set;
import java.util.function.Supplier;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpClientResponse;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.PoolOptions;
import io.vertx.core.http.RequestOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scrapes every backend's {@code GET /metrics} on an interval, all in parallel, on a Vert.x event loop, never
 * blocking and never on a request's path: each scrape has a connect timeout and a deadline for the whole answer, at
 * most one runs per backend at a time, and its body is capped. A backend whose scrape fails (not vLLM, down, slow)
 * keeps being routed by the in-flight count alone; it is scraped again less and less often (up to
 * {@link #MAX_BACKOFF}) until a scrape succeeds. Scrapes carry no credential (vLLM serves {@code /metrics} without
 * its API key).
 */
public final class MetricsScraper implements AutoCloseable {
    static final int MAX_BODY_BYTES = 4 << 20;
    static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    private static final Logger LOG = LoggerFactory.getLogger(MetricsScraper.class);

    private final Vertx vertx;
    private final Fleet fleet;
    private final Supplier<Set<String>> backendUrls;
    private final Duration interval;
    private final Duration timeout;
    private final HttpClient client;
    private long timer = -1;

    /**
     * @param backendUrls the backends the policy in force names, asked on every round
     * @param timeout     connect timeout, and deadline of a whole scrape
     */
    public MetricsScraper(Vertx vertx, Fleet fleet, Supplier<Set<String>> backendUrls, Duration interval,
                          Duration timeout) {
        this.vertx = vertx;
        this.fleet = fleet;
        this.backendUrls = backendUrls;
        this.interval = interval;
        this.timeout = timeout;
        this.client = vertx.createHttpClient(new HttpClientOptions().setKeepAlive(true).setKeepAliveTimeout(4)
                .setConnectTimeout((int) timeout.toMillis()).setTryUseCompression(false),
                new PoolOptions().setHttp1MaxSize(1));
    }

    /** Starts scraping in the background; returns at once. */
    public void start() {
        timer = vertx.setPeriodic(1, interval.toMillis(), id -> round());
        LOG.info("Backend load: /metrics of each backend scraped every {} ms (deadline {} ms)", interval.toMillis(),
                timeout.toMillis());
    }

    private void round() {
        Collection<String> urls = backendUrls.get();
        fleet.retainOnly(urls);
        long now = System.nanoTime();
        for (String url : urls) {
            BackendState state = fleet.state(url);
            if (!state.scraping && now - state.nextScrapeAt >= 0) {
                state.scraping = true;
                scrape(url, state);
            }
        }
    }

    private void scrape(String url, BackendState state) {
        new Scrape(url, state).start();
    }

    /** One scrape of one backend: ends once, by its answer, its failure or its deadline. */
    private final class Scrape {
        private final String url;
        private final BackendState state;
        private final Buffer body = Buffer.buffer(16 * 1024);
        private HttpClientRequest request;
        private long deadline = -1;
        private boolean done;

        Scrape(String url, BackendState state) {
            this.url = url;
            this.state = state;
        }

        void start() {
            deadline = vertx.setTimer(timeout.toMillis(), id -> {
                deadline = -1;
                fail("no complete answer within " + timeout.toMillis() + " ms");
            });
            client.request(new RequestOptions().setMethod(HttpMethod.GET).setAbsoluteURI(url + "/metrics")
                    .setConnectTimeout(timeout.toMillis()).setFollowRedirects(false)).onComplete(ar -> {
                if (ar.failed()) {
                    fail(ar.cause().toString());
                    return;
                }
                request = ar.result();
                if (done) {
                    request.reset();
                    return;
                }
                request.send().onComplete(r -> {
                    if (r.failed()) {
                        fail(r.cause().toString());
                    } else {
                        read(r.result());
                    }
                });
            });
        }

        private void read(HttpClientResponse response) {
            if (response.statusCode() != 200) {
                fail("HTTP " + response.statusCode());
                return;
            }
            response.handler(chunk -> {
                if (body.length() + chunk.length() > MAX_BODY_BYTES) {
                    fail("answer larger than " + MAX_BODY_BYTES + " bytes");
                } else if (!done) {
                    body.appendBuffer(chunk);
                }
            });
            response.exceptionHandler(t -> fail(t.toString()));
            response.endHandler(v -> succeed());
        }

        private void succeed() {
            if (done) {
                return;
            }
            VllmMetrics metrics = VllmMetrics.parse(body.getBytes(), body.length());
            if (!metrics.hasQueue()) {
                fail("no vllm:num_requests_running/waiting in /metrics (not a vLLM server?)");
                return;
            }
            finish();
            state.scrape = new BackendState.Scrape(metrics, System.nanoTime(), state.inFlight.get());
            if (state.scrapeProblem != null) {
                LOG.info("Backend {}: /metrics scraped again", url);
            }
            state.scrapeProblem = null;
            state.scrapeFailures = 0;
            state.nextScrapeAt = System.nanoTime();
            state.scraping = false;
        }

        private void fail(String why) {
            if (done) {
                return;
            }
            finish();
            if (request != null) {
                request.reset();
            }
            int failures = state.scrapeFailures + 1;
            state.scrapeFailures = failures;
            if (state.scrapeProblem == null) {
                // one line when a backend's metrics go missing, DEBUG while they stay missing
                LOG.info("Backend {}: /metrics not usable ({}); routed by in-flight count until it is", url, why);
            } else {
                LOG.debug("Backend {}: /metrics not usable ({})", url, why);
            }
            state.scrapeProblem = why;
            long backoff = Math.min(MAX_BACKOFF.toNanos(), interval.toNanos() << Math.min(failures, 16));
            state.nextScrapeAt = System.nanoTime() + backoff;
            state.scraping = false;
        }

        private void finish() {
            done = true;
            if (deadline >= 0) {
                vertx.cancelTimer(deadline);
                deadline = -1;
            }
        }
    }

    @Override
    public void close() {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
        client.close();
    }
}
