package dev.apirouter.fleet;

import java.time.Duration;

/**
 * Outlier ejection of one backend, from what the data path sees: {@code failuresToEject} consecutive failures
 * (connections that fail, 5xx answers, first-byte timeouts) eject it for an interval that doubles with each
 * ejection ({@code baseEjection} up to {@code maxEjection}). When the interval is over the backend is half-open: one
 * request at a time is let through; a success re-admits it, a failure ejects it again for the next interval. An
 * ejection count goes back to zero once the backend has served for {@code maxEjection} without being ejected.
 * Times are {@link System#nanoTime()} values passed in, so the state machine is tested without a clock.
 * Thread-safe (synchronized: the calls are rare next to a request's cost).
 */
final class Outlier {
    /** What routing sees. */
    enum State {
        SERVING, EJECTED, HALF_OPEN
    }

    private final Rules rules;
    private int consecutiveFailures;
    private int ejections;
    private long ejectedUntil;
    private long readmittedAt;
    private boolean ejected;
    private boolean trialInFlight;
    private long totalEjections;

    /** @param failuresToEject 0 turns ejection off */
    record Rules(int failuresToEject, Duration baseEjection, Duration maxEjection) {
        long intervalNanos(int ejections) {
            long max = maxEjection.toNanos();
            long interval = baseEjection.toNanos();
            for (int i = 1; i < ejections && interval < max; i++) {
                interval *= 2;
            }
            return Math.min(interval, max);
        }
    }

    Outlier(Rules rules) {
        this.rules = rules;
    }

    synchronized State state(long now) {
        if (!ejected) {
            return State.SERVING;
        }
        return now - ejectedUntil < 0 ? State.EJECTED : State.HALF_OPEN;
    }

    /** Whether a new request may go to this backend now: serving, or half-open with no trial under way. */
    synchronized boolean admits(long now) {
        State state = state(now);
        return state == State.SERVING || state == State.HALF_OPEN && !trialInFlight;
    }

    /** A request was sent: when half-open, it is the trial. */
    synchronized void started(long now) {
        if (state(now) == State.HALF_OPEN) {
            trialInFlight = true;
        }
    }

    /** A request ended well (an answer that is not a 5xx): counts reset; a half-open backend is re-admitted. */
    synchronized boolean succeeded(long now) {
        consecutiveFailures = 0;
        trialInFlight = false;
        if (ejected && state(now) == State.HALF_OPEN) {
            ejected = false;
            readmittedAt = now;
            return true;
        }
        return false;
    }

    /** A request failed because of the backend; returns whether it is ejected by this failure. */
    synchronized boolean failed(long now) {
        if (rules.failuresToEject() <= 0) {
            return false;
        }
        boolean trial = trialInFlight;
        trialInFlight = false;
        if (ejected) {
            if (state(now) == State.HALF_OPEN && trial) {
                eject(now); // the trial failed: out again, for longer
                return true;
            }
            return false; // an answer to a request sent before the ejection
        }
        consecutiveFailures++;
        if (consecutiveFailures >= rules.failuresToEject()) {
            eject(now);
            return true;
        }
        return false;
    }

    /** A request that ended without telling anything about the backend (the client left): a trial is over. */
    synchronized void abandoned() {
        trialInFlight = false;
    }

    private void eject(long now) {
        if (readmittedAt != 0 && now - readmittedAt > rules.maxEjection().toNanos()) {
            ejections = 0; // served well for long enough: start again from the base interval
        }
        ejections++;
        totalEjections++;
        ejected = true;
        consecutiveFailures = 0;
        ejectedUntil = now + rules.intervalNanos(ejections);
    }

    /** Nanoseconds until the ejection ends (0 when not ejected). */
    synchronized long remainingNanos(long now) {
        return ejected ? Math.max(0, ejectedUntil - now) : 0;
    }

    synchronized long totalEjections() {
        return totalEjections;
    }
}
