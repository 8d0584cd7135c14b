package dev.apirouter.etcd;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.options.WatchOption;
import io.etcd.jetcd.watch.WatchEvent;
import io.etcd.jetcd.watch.WatchResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One watch at a time on a prefix, from a given revision, reporting to a {@link Listener} on the owner's worker.
 * jetcd calls back on a Vert.x event loop: those callbacks only hand the response to the worker, never block. Every
 * method is called on the worker; a watch opened again or {@link #discard discarded} has its late callbacks ignored.
 * A watch that etcd does not confirm within the confirmation time counts as failed.
 */
public final class EtcdPrefixWatch {
    private static final Logger LOG = LoggerFactory.getLogger(EtcdPrefixWatch.class);

    /** What the watch reports, always on the worker. */
    public interface Listener {
        /** etcd confirmed the watch, or sent its first changes. */
        void confirmed();

        /** Changes after the confirmed ones, in order. */
        void changed(List<WatchEvent> events);

        /** etcd is at {@code etcdRevision}, behind the revision the watch started from: restored or replaced. */
        void behind(long etcdRevision);

        /** The start revision was compacted away: read the prefix again. */
        void compacted(Throwable error);

        /** The watch failed, ended, or was not confirmed in time; {@code cause} is safe to log. */
        void failed(String cause);
    }

    private final EtcdClients clients;
    private final ByteSequence prefix;
    private final Executor worker;
    private final Duration confirmWithin;
    private final Listener listener;
    private volatile Watch.Watcher watcher;
    private long generation;
    private boolean confirmed;

    /**
     * @param worker the owner's single thread: every report runs there (an executor that drops tasks once its owner
     *               is closed ends the reports)
     */
    public EtcdPrefixWatch(EtcdClients clients, String prefix, Executor worker, Duration confirmWithin,
                           Listener listener) {
        this.clients = clients;
        this.prefix = ByteSequence.from(prefix, StandardCharsets.UTF_8);
        this.worker = worker;
        this.confirmWithin = confirmWithin;
        this.listener = listener;
    }

    /** Watches the prefix from {@code fromRevision} with {@code client}, replacing any watch open before. */
    public void open(Client client, long fromRevision) {
        discard();
        long current = generation;
        WatchOption option = WatchOption.builder()
                .isPrefix(true)
                .withRevision(fromRevision)
                .withCreateNotify(true)
                .withRequireLeader(true)
                .build();
        watcher = client.getWatchClient().watch(prefix, option, new Watch.Listener() {
            @Override
            public void onNext(WatchResponse response) {
                worker.execute(() -> onResponse(current, fromRevision, response));
            }

            @Override
            public void onError(Throwable error) {
                worker.execute(() -> failed(current, error));
            }

            @Override
            public void onCompleted() {
                worker.execute(() -> ended(current, "etcd ended the watch stream"));
            }
        });
        long ms = confirmWithin.toMillis();
        CompletableFuture.delayedExecutor(ms, TimeUnit.MILLISECONDS, worker).execute(() -> {
            if (current == generation && !confirmed) {
                ended(current, "etcd did not confirm the watch within " + ms + " ms");
            }
        });
    }

    /** Closes the watch, if any; its late callbacks are ignored from now on. */
    public void discard() {
        generation++;
        confirmed = false;
        Watch.Watcher w = watcher;
        watcher = null;
        if (w != null) {
            try {
                w.close();
            } catch (RuntimeException e) {
                LOG.debug("Closing the etcd watch failed: {}", e.toString());
            }
        }
    }

    private void onResponse(long current, long fromRevision, WatchResponse response) {
        if (current != generation) {
            return;
        }
        if (response.isCreatedNotify()) {
            long etcdRevision = response.getHeader().getRevision();
            if (etcdRevision < fromRevision - 1) {
                discard();
                listener.behind(etcdRevision);
                return;
            }
            confirm();
            return;
        }
        List<WatchEvent> events = response.getEvents();
        if (!events.isEmpty()) {
            confirm();
            listener.changed(events);
        }
    }

    private void confirm() {
        if (!confirmed) {
            confirmed = true;
            listener.confirmed();
        }
    }

    private void failed(long current, Throwable error) {
        if (current != generation) {
            return;
        }
        discard();
        if (isCompaction(error)) {
            listener.compacted(error);
        } else {
            listener.failed(clients.describe(error));
        }
    }

    private void ended(long current, String cause) {
        if (current != generation) {
            return;
        }
        discard();
        listener.failed(cause);
    }

    static boolean isCompaction(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof CompactedException) {
                return true;
            }
            String m = t.getMessage();
            if (m != null && m.contains("compacted")) {
                return true;
            }
        }
        return false;
    }
}
