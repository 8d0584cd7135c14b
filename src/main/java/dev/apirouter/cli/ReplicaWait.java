package dev.apirouter.cli;

import java.io.PrintStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;

import dev.apirouter.etcd.EtcdKeyValues;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;

/**
 * {@code --wait}: after a change at revision R, waits until every replica in the registry ({@code <prefix>replicas/})
 * reports {@code appliedRevision >= R}, printing each as it confirms.
 *
 * <p>How: one range read of the registry (its header revision H), then a watch from H + 1, so every change of the
 * registry after the read arrives as an event and nothing is polled. A replica that appears during the wait is
 * waited for too; one whose record disappears (graceful shutdown, or its lease expired) is dropped and said so. As a
 * safety net against a watch that fails or falls silent, the registry is read again (and the watch reopened) after a
 * watch error and at least every {@value #RESYNC_MS} ms. Every read is bounded by the call deadline and by what is
 * left of the timeout; the whole wait ends by the timeout.
 *
 * <p>Output goes to standard error (standard output stays the command's result, e.g. the new key of {@code keys
 * create}). Timeout: exit 4, naming each lagging replica. No replica registered: one line saying nothing was
 * confirmed, exit 0.
 */
final class ReplicaWait {
    static final long RESYNC_MS = 1000;
    private static final long RETRY_MS = 100;

    /** What the registry looks like to the wait, and what the wait has seen; no I/O, so it can be tested alone. */
    static final class Tracker {
        private final long revision;
        private final Map<String, ReplicaRecord> pending = new LinkedHashMap<>(); // key -> last record, not confirmed
        private final Map<String, Long> confirmed = new LinkedHashMap<>(); // key -> ms after the write
        private final List<ReplicaRecord> left = new ArrayList<>();
        private final List<String> lines = new ArrayList<>();

        Tracker(long revision) {
            this.revision = revision;
        }

        /** A replica's record was written (or read) at {@code elapsedMs} after the change. */
        void put(String key, ReplicaRecord record, long elapsedMs) {
            if (confirmed.containsKey(key)) {
                return;
            }
            if (record.hasApplied(revision)) {
                pending.remove(key);
                confirmed.put(key, elapsedMs);
                lines.add(String.format("confirmed  %s  rev %d  after %d ms", record.id(), record.appliedRevision(),
                        elapsedMs));
            } else {
                pending.put(key, record);
            }
        }

        /** A replica's record is gone: shut down or its lease expired. */
        void removed(String key) {
            ReplicaRecord gone = pending.remove(key);
            if (gone != null) {
                left.add(gone);
                lines.add(String.format("left       %s  (left the registry before confirming: shut down or lease"
                        + " expired; last applied rev %s)", gone.id(), gone.appliedText()));
            }
        }

        /** A fresh read of the whole registry: records not in it are gone. */
        void resync(Map<String, ReplicaRecord> all, long elapsedMs) {
            for (String key : new ArrayList<>(pending.keySet())) {
                if (!all.containsKey(key)) {
                    removed(key);
                }
            }
            all.forEach((key, record) -> put(key, record, elapsedMs));
        }

        boolean done() {
            return pending.isEmpty();
        }

        boolean noneSeen() {
            return pending.isEmpty() && confirmed.isEmpty() && left.isEmpty();
        }

        /** Lines to print since the last call. */
        List<String> drainLines() {
            List<String> out = List.copyOf(lines);
            lines.clear();
            return out;
        }

        int confirmedCount() {
            return confirmed.size();
        }

        List<ReplicaRecord> left() {
            return List.copyOf(left);
        }

        List<ReplicaRecord> lagging() {
            return List.copyOf(pending.values());
        }

        long revision() {
            return revision;
        }
    }

    private final EtcdAdmin etcd;
    private final PrintStream err;
    private final LongSupplier nanos;

    ReplicaWait(EtcdAdmin etcd, PrintStream err) {
        this(etcd, err, System::nanoTime);
    }

    ReplicaWait(EtcdAdmin etcd, PrintStream err, LongSupplier nanos) {
        this.etcd = etcd;
        this.err = err;
        this.nanos = nanos;
    }

    /**
     * Waits for the change at {@code revision}, written (acknowledged by etcd) at {@code writtenAtNanos}. Returns
     * normally when every replica confirmed or none is registered; throws exit 4 on timeout.
     */
    void await(long revision, long writtenAtNanos, Duration timeout) throws CliException {
        long deadline = writtenAtNanos + timeout.toNanos();
        Tracker tracker = new Tracker(revision);
        BlockingQueue<Tagged> events = new LinkedBlockingQueue<>();
        int generation = 0; // of the watch; events of a closed watch are ignored
        Watch.Watcher watcher = null;
        String trouble = null; // the last etcd failure, for the timeout message
        boolean first = true;
        try {
            long nextResync = 0; // nanos; 0: read now
            while (true) {
                long now = nanos.getAsLong();
                if (now - deadline >= 0) {
                    break;
                }
                if (nextResync == 0 || now - nextResync >= 0) {
                    try {
                        EtcdKeyValues.Snapshot s = etcd.snapshotWithin(ReplicaRecord.PREFIX, millis(deadline - now));
                        Map<String, ReplicaRecord> all = new LinkedHashMap<>();
                        for (EtcdKeyValues.Entry e : s.entries()) {
                            all.put(e.key(), ReplicaRecord.parse(e.key(), e.value()));
                        }
                        tracker.resync(all, elapsedMs(writtenAtNanos));
                        if (first) {
                            first = false;
                            if (tracker.noneSeen()) {
                                err.println("warning: no replica is registered under " + etcd.prefix()
                                        + ReplicaRecord.PREFIX + ": nothing to confirm (revision " + revision
                                        + " is stored; no gateway on the etcd store has registered)");
                                return;
                            }
                            err.println("waiting for " + (all.size()) + " replica(s) to apply revision " + revision
                                    + " (timeout " + WaitOptions.format(timeout) + ")");
                        }
                        print(tracker);
                        if (tracker.done()) {
                            break;
                        }
                        if (watcher == null) { // every registry change after the read, in order
                            watcher = etcd.watch(ReplicaRecord.PREFIX, s.revision() + 1,
                                    listener(events, ++generation));
                        }
                        trouble = null;
                        nextResync = nanos.getAsLong() + TimeUnit.MILLISECONDS.toNanos(RESYNC_MS);
                    } catch (ExecutionException | TimeoutException e) {
                        trouble = "reading the registry failed: " + etcd.describe(e);
                        nextResync = nanos.getAsLong() + TimeUnit.MILLISECONDS.toNanos(RETRY_MS);
                    }
                    continue;
                }
                Tagged tagged = events.poll(Math.min(deadline - now, nextResync - now), TimeUnit.NANOSECONDS);
                Object item = tagged == null || tagged.generation() != generation || watcher == null ? null
                        : tagged.item();
                if (item instanceof WatchResponse response) {
                    long elapsed = elapsedMs(writtenAtNanos);
                    for (WatchEvent event : response.getEvents()) {
                        String key = etcd.relative(event.getKeyValue());
                        if (event.getEventType() == WatchEvent.EventType.PUT) {
                            tracker.put(key, ReplicaRecord.parse(key, event.getKeyValue().getValue().getBytes()),
                                    elapsed);
                        } else if (event.getEventType() == WatchEvent.EventType.DELETE) {
                            tracker.removed(key);
                        }
                    }
                    print(tracker);
                    if (tracker.done()) {
                        break;
                    }
                } else if (item instanceof Throwable error) { // read everything again, then watch again
                    trouble = "the registry watch failed: " + etcd.describe(error);
                    watcher = close(watcher);
                    events.clear();
                    nextResync = nanos.getAsLong() + TimeUnit.MILLISECONDS.toNanos(RETRY_MS);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CliException(Cli.EXIT_NOT_CONFIRMED, "interrupted while waiting for the replicas");
        } finally {
            close(watcher);
        }
        finish(tracker, timeout, writtenAtNanos, first, trouble);
    }

    private void finish(Tracker tracker, Duration timeout, long writtenAtNanos, boolean neverRead, String trouble)
            throws CliException {
        long revision = tracker.revision();
        String leftNote = tracker.left().isEmpty() ? "" : "; " + tracker.left().size()
                + " left the registry without confirming (" + ids(tracker.left()) + ")";
        if (!neverRead && tracker.done()) {
            if (tracker.confirmedCount() == 0) {
                err.println("warning: every replica left the registry during the wait: nothing confirmed revision "
                        + revision + leftNote);
            } else {
                err.println("confirmed: " + tracker.confirmedCount() + " replica(s) applied revision " + revision
                        + " within " + elapsedMs(writtenAtNanos) + " ms" + leftNote);
            }
            return;
        }
        if (neverRead) {
            throw new CliException(Cli.EXIT_NOT_CONFIRMED, "not confirmed within " + WaitOptions.format(timeout)
                    + ": the registry could not be read (" + (trouble == null ? "no answer" : trouble)
                    + "); revision " + revision + " is stored");
        }
        for (ReplicaRecord r : tracker.lagging()) {
            err.println(String.format("lagging    %s  applied rev %s  %s  (%s, %s)", r.id(), r.appliedText(),
                    r.problem() != null ? "record unreadable: " + r.problem()
                            : (revision - r.appliedRevision()) + " revision(s) behind",
                    r.state() == null ? "state ?" : r.state(),
                    r.managementAddress() == null ? "no management address" : r.managementAddress()));
        }
        throw new CliException(Cli.EXIT_NOT_CONFIRMED, "not confirmed within " + WaitOptions.format(timeout) + ": "
                + tracker.lagging().size() + " replica(s) have not applied revision " + revision + " ("
                + ids(tracker.lagging()) + "); " + tracker.confirmedCount() + " confirmed" + leftNote
                + (trouble == null ? "" : "; " + trouble) + ". The change is stored; replicas apply it when they"
                + " catch up.");
    }

    private void print(Tracker tracker) {
        tracker.drainLines().forEach(err::println);
    }

    private static String ids(List<ReplicaRecord> records) {
        return String.join(", ", records.stream().map(ReplicaRecord::id).toList());
    }

    private long elapsedMs(long since) {
        return TimeUnit.NANOSECONDS.toMillis(nanos.getAsLong() - since);
    }

    private static long millis(long nanos) {
        return Math.max(1, TimeUnit.NANOSECONDS.toMillis(nanos));
    }

    /** A watch callback and the watch it came from. */
    private record Tagged(int generation, Object item) {
    }

    private static Watch.Listener listener(BlockingQueue<Tagged> events, int generation) {
        return new Watch.Listener() {
            @Override
            public void onNext(WatchResponse response) {
                events.add(new Tagged(generation, response));
            }

            @Override
            public void onError(Throwable error) {
                events.add(new Tagged(generation, error));
            }

            @Override
            public void onCompleted() {
                events.add(new Tagged(generation, new IllegalStateException("etcd ended the watch stream")));
            }
        };
    }

    private static Watch.Watcher close(Watch.Watcher watcher) {
        if (watcher != null) {
            try {
                watcher.close();
            } catch (RuntimeException e) {
                // closing is best effort; the client is closed right after
            }
        }
        return null;
    }
}
