package dev.apirouter.fleet;

import java.time.Duration;
import java.util.Collection;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

import dev.apirouter.policy.Backend;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The load and state of every backend, by URL, shared by all models that name it: the requests this gateway has in
 * flight there (exact, counted by the forwarder), the figures of its last {@code /metrics} scrape (queue, running,
 * KV cache, prefix cache), and its outlier ejection. The forwarder tells it of every attempt (through a
 * {@code FleetObserver}); routing reads it. Read by routing on every request, so every read is a map lookup
 * and a few volatile reads; never waits.
 */
public final class Fleet {
    private static final Logger LOG = LoggerFactory.getLogger(Fleet.class);

    private final Map<String, BackendState> states = new ConcurrentHashMap<>();
    private final Outlier.Rules outlier;
    private final long staleNanos;
    private final LongSupplier nanoTime;

    /**
     * @param staleAfter scraped figures older than this are ignored (the in-flight count alone is used)
     * @param ejectAfter consecutive failures that eject a backend; 0 turns ejection off
     */
    public Fleet(Duration staleAfter, int ejectAfter, Duration baseEjection, Duration maxEjection, LongSupplier nanoTime) {
        this.staleNanos = staleAfter.toNanos();
        this.outlier = new Outlier.Rules(ejectAfter, baseEjection, maxEjection);
        this.nanoTime = nanoTime;
    }

    BackendState state(String url) {
        return states.computeIfAbsent(url, u -> new BackendState(outlier));
    }

    /**
     * How many requests {@code backend} is working on or holding in its queue, as best known now: its last scrape's
     * running plus waiting (which counts other gateways' requests too) moved by the change of this gateway's own
     * in-flight count since then; the own count alone when the scrape is missing or stale. Never below the own count.
     */
    public double load(Backend backend) {
        BackendState state = state(backend.url());
        int own = state.inFlight.get();
        BackendState.Scrape scrape = fresh(state);
        if (scrape == null) {
            return own;
        }
        VllmMetrics m = scrape.metrics();
        return Math.max(own, m.running() + m.waiting() + own - scrape.inFlightThen());
    }

    /** The backend's waiting queue as last scraped, 0 when unknown or stale. */
    public double waiting(Backend backend) {
        BackendState.Scrape scrape = fresh(state(backend.url()));
        return scrape == null ? 0 : scrape.metrics().waiting();
    }

    /** Whether a request may go to {@code backend}: not ejected, or half-open with no trial request under way. */
    public boolean admits(Backend backend) {
        BackendState state = states.get(backend.url());
        return state == null || state.outlier.admits(nanoTime.getAsLong());
    }

    private BackendState.Scrape fresh(BackendState state) {
        BackendState.Scrape scrape = state.scrape;
        if (scrape == null || !scrape.metrics().hasQueue() || nanoTime.getAsLong() - scrape.atNanos() > staleNanos) {
            return null;
        }
        return scrape;
    }

    /** A request is being sent to {@code backend}. */
    public void attemptStarted(Backend backend) {
        BackendState state = state(backend.url());
        state.inFlight.incrementAndGet();
        state.outlier.started(nanoTime.getAsLong());
    }

    /** The request sent to {@code backend} is over; {@code status} is its HTTP status, 0 when none came. */
    public void attemptEnded(Backend backend, AttemptEnd end, int status) {
        BackendState state = state(backend.url());
        state.inFlight.decrementAndGet();
        long now = nanoTime.getAsLong();
        boolean failed = end == AttemptEnd.FAILED || end == AttemptEnd.ANSWERED && status >= 500;
        if (failed) {
            if (state.outlier.failed(now)) {
                LOG.warn("Backend {} ejected for {} ms after {} (ejection {})", backend.url(),
                        state.outlier.remainingNanos(now) / 1_000_000,
                        status > 0 ? "HTTP " + status : "consecutive failures", state.outlier.totalEjections());
            }
        } else if (end == AttemptEnd.ANSWERED) {
            if (state.outlier.succeeded(now)) {
                LOG.info("Backend {} re-admitted after a successful trial request", backend.url());
            }
        } else {
            state.outlier.abandoned();
        }
    }

    /** Forgets backends no policy names any more (those with requests in flight stay until they end). */
    public void retainOnly(Collection<String> urls) {
        states.entrySet().removeIf(e -> !urls.contains(e.getKey()) && e.getValue().inFlight.get() == 0);
    }

    /** Times {@code url}'s backend was ejected since this gateway started (0 when unknown). */
    public long ejections(String url) {
        BackendState state = states.get(url);
        return state == null ? 0 : state.outlier.totalEjections();
    }

    /** Every known backend's figures, by URL, for the status endpoints and metrics. */
    public Map<String, BackendView> view() {
        long now = nanoTime.getAsLong();
        Map<String, BackendView> out = new TreeMap<>();
        states.forEach((url, state) -> out.put(url, BackendView.of(state, fresh(state), now)));
        return out;
    }
}
