package dev.apirouter.registry;

import java.time.Duration;

/**
 * Whether this replica lags etcd: etcd's revision (as the registry's own calls see it, in their response headers)
 * was more than {@code bound} revisions ahead of the watch's position, and the watch has not caught up with that
 * revision for longer than {@code window}. A lag that starts is measured against the revision etcd had then, so a
 * steady stream of changes that the watch follows closely never counts as lagging. Thread-safe; time in nanos.
 */
final class LagTracker {
    private final long bound;
    private final long windowNanos;
    private long etcdRevision;      // the newest etcd revision seen, 0 before any
    private long targetRevision;    // the revision etcd had when the current lag started
    private long lagSinceNanos;
    private boolean lagStarted;

    LagTracker(long bound, Duration window) {
        this.bound = bound;
        this.windowNanos = window.toNanos();
    }

    /** etcd answered a call at {@code revision}; {@code watched} is the watch's position. */
    synchronized void etcdAt(long revision, long watched, long nowNanos) {
        if (revision < etcdRevision) {
            // etcd restored or replaced: start over
            lagStarted = false;
        }
        etcdRevision = revision;
        update(watched, nowNanos);
    }

    /** The lag as of now, for {@code watched}. */
    synchronized Lag lag(long watched, long nowNanos) {
        update(watched, nowNanos);
        long behind = Math.max(0, etcdRevision - watched);
        boolean lagging = lagStarted && nowNanos - lagSinceNanos > windowNanos;
        return new Lag(etcdRevision, behind, lagging,
                lagStarted ? Duration.ofNanos(nowNanos - lagSinceNanos) : Duration.ZERO);
    }

    private void update(long watched, long nowNanos) {
        if (lagStarted && watched >= targetRevision - bound) {
            lagStarted = false; // caught up with what etcd had when the lag started
        }
        if (!lagStarted && etcdRevision - watched > bound) {
            lagStarted = true;
            lagSinceNanos = nowNanos;
            targetRevision = etcdRevision;
        }
    }

    /**
     * @param etcdRevision the newest etcd revision seen (0: none yet)
     * @param behind       how far the watch is behind it, in revisions
     * @param lagging      behind by more than the bound for longer than the window
     * @param lasting      how long the current lag has lasted
     */
    record Lag(long etcdRevision, long behind, boolean lagging, Duration lasting) {
    }
}
