package dev.apirouter.policy;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;

import dev.apirouter.config.Settings;
import dev.apirouter.etcd.EtcdClients;
import dev.apirouter.etcd.EtcdPrefixReader;
import dev.apirouter.etcd.EtcdPrefixWatch;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.watch.WatchEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The etcd policy store: reads every document under the prefix (a snapshot), then watches the prefix from the
 * snapshot's revision + 1 and applies each put and delete to the in-memory view. Requests only ever read that view.
 *
 * <p>Nothing here can hang on etcd: the client does not wait for a ready connection, connects with a timeout and
 * puts a deadline on every unary call; a watch that etcd does not confirm in time counts as a failure. All etcd work
 * runs on one thread of this store ({@code etcd-policy-store}); watch callbacks, which jetcd runs on a Vert.x event
 * loop, only hand their response to that thread.
 *
 * <p>When etcd fails, the view in force stays, and the store retries in the background with a jittered exponential
 * backoff (200 ms doubling up to 5 s), rebuilding its client each time so that gRPC's own reconnect backoff (up to
 * two minutes) never delays recovery. A broken watch resumes from the last applied revision + 1; a compacted one is
 * replaced by a new snapshot. Failures are logged as a warning at most every 30 s (even when etcd flaps), except that
 * etcd refusing us (credentials, TLS handshake) is logged at once when it starts during a reported outage, and the
 * recovery of a reported outage once. Refused credentials and untrusted certificates are retried like an
 * unreachable etcd: the operator may fix etcd's side without restarting the gateway.
 *
 * <p>Every applied view is saved as the {@link LastKnownGood last-known-good} copy; when the store starts, a copy
 * saved earlier for the same prefix is served (source {@link PolicySource#LAST_KNOWN_GOOD}) until etcd answers.
 */
public final class EtcdPolicyStore implements PolicyStore {
    static final Duration DEFAULT_BACKOFF_MIN = Duration.ofMillis(200);
    static final Duration DEFAULT_BACKOFF_MAX = Duration.ofSeconds(5);
    static final Duration FAILURE_LOG_INTERVAL = Duration.ofSeconds(30);
    private static final Logger LOG = LoggerFactory.getLogger(EtcdPolicyStore.class);
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(2);
    private static final Duration RETIRE_DELAY = Duration.ofSeconds(1);
    private static final Duration STABLE_CONNECTION = Duration.ofSeconds(10);

    private final Settings.Store settings;
    private final EtcdClients clients;
    private final Clock clock;
    private final LastKnownGood lastKnownGood;
    private final String prefix;
    private final EtcdPrefixReader reader;
    private final EtcdDocuments documents;
    private final EtcdPrefixWatch watch;
    private final String endpoints;
    private final long backoffMinMs;
    private final long backoffMaxMs;
    private final ScheduledExecutorService worker;
    private final AtomicBoolean started = new AtomicBoolean();
    private volatile boolean closed;

    // published state, read by any thread
    private volatile PolicyView view;
    private volatile boolean connected;
    private volatile String problem;
    private volatile Instant unreachableSince;
    private volatile long appliedRevision; // the watch's position: every event up to it is applied or ignored
    private volatile long latestPolicyChange;
    private volatile Instant lastKnownGoodSavedAt;
    private volatile int snapshots;

    // owned by the worker thread (volatile so that close() can release them)
    private volatile Client client;
    private final Set<Client> retiring = ConcurrentHashMap.newKeySet();
    private boolean needSnapshot = true;
    private long connectEpoch;
    private int failures;
    private int compactions;
    private long lastFailureLogNanos;
    private long failuresSinceLog;
    private boolean outageReported;
    private final Set<String> reportedRefusals = new HashSet<>(); // kinds of refusal logged in this outage
    private long confirmedAtNanos;

    /**
     * A store for {@code settings} (endpoints, prefix, timeouts, last-known-good file), timestamps (view updates,
     * outages) from {@code clock}; call {@link #start()}.
     */
    public EtcdPolicyStore(Settings.Store settings, Clock clock) {
        this(settings, clock, DEFAULT_BACKOFF_MIN, DEFAULT_BACKOFF_MAX);
    }

    /** As {@link #EtcdPolicyStore(Settings.Store, Clock)} with the retry backoff bounds given (tests use short ones). */
    EtcdPolicyStore(Settings.Store settings, Clock clock, Duration backoffMin, Duration backoffMax) {
        this.settings = settings;
        this.clients = EtcdClients.of(settings);
        this.clock = clock;
        this.lastKnownGood = new LastKnownGood(settings.lastKnownGoodFile(), clock);
        this.prefix = settings.etcdPrefix();
        this.reader = new EtcdPrefixReader(clients);
        this.documents = new EtcdDocuments(prefix);
        this.endpoints = settings.etcdEndpoints().stream().map(URI::toString).collect(Collectors.joining(","));
        this.backoffMinMs = Math.max(1, backoffMin.toMillis());
        this.backoffMaxMs = Math.max(backoffMinMs, backoffMax.toMillis());
        this.worker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "etcd-policy-store");
            t.setDaemon(true);
            return t;
        });
        this.watch = new EtcdPrefixWatch(clients, prefix, this::submit, settings.etcdCallTimeout(), new WatchReports());
    }

    /** How many full snapshots were read (for tests: tells a resumed watch from a new snapshot). */
    int snapshotsLoaded() {
        return snapshots;
    }

    /**
     * The etcd revision the watch has reached: every change up to it is applied (policy documents, a rejected one
     * included) or ignored (keys outside {@code models/} and {@code keys/}, such as the replica registry's). At or
     * above the view's revision; 0 before the first snapshot. The watch hands each change to the store's thread,
     * which applies it at once: what the watch has seen and what is applied never differ for long.
     */
    public long watchedRevision() {
        return appliedRevision;
    }

    /**
     * The highest etcd revision at which this store saw a policy document change (put or delete, by the watch; or
     * the newest document of a snapshot: a delete before a snapshot is not seen); 0 before any.
     */
    public long latestPolicyChange() {
        return latestPolicyChange;
    }

    @Override
    public Optional<PolicyView> current() {
        return Optional.ofNullable(view);
    }

    @Override
    public void start() {
        if (closed || !started.compareAndSet(false, true)) {
            return;
        }
        // a local file only: never the network
        lastKnownGood.load().ifPresent(copy -> {
            if (!copy.prefix().equals(prefix)) {
                LOG.warn("Ignoring the last-known-good copy {}: it was saved for etcd prefix '{}', not '{}'",
                        lastKnownGood.file(), copy.prefix(), prefix);
                return;
            }
            if (view == null) {
                view = copy.view();
                lastKnownGoodSavedAt = copy.savedAt();
                LOG.info("Serving the last-known-good policy (etcd revision {}, saved {}: {} models, {} keys) from {}"
                                + " until etcd answers", copy.view().revision(), copy.savedAt(),
                        copy.view().models().size(), copy.view().keys().size(), lastKnownGood.file());
            }
        });
        LOG.info("Policy store: etcd {} prefix {} ({}; connect timeout {} ms, call deadline {} ms)", endpoints, prefix,
                clients.describeAccess(), settings.etcdConnectTimeout().toMillis(),
                settings.etcdCallTimeout().toMillis());
        submit(() -> scheduleConnect(0));
    }

    @Override
    public StoreStatus status() {
        PolicyView v = view;
        long revision = v == null ? 0 : v.revision();
        Instant since = unreachableSince;
        String cause = problem;
        StoreStatus.EtcdFacts facts = new StoreStatus.EtcdFacts(endpoints, prefix,
                v == null ? "none" : v.source().label(), revision,
                v != null && !Instant.EPOCH.equals(v.updatedAt()) ? v.updatedAt().toString() : null,
                v == null ? 0 : v.rejected().size(),
                v != null && !v.rejected().isEmpty() ? v.rejected() : null, // document id (hash prefix for keys) -> reason
                lastKnownGood.file().toString(), since != null ? since.toString() : null, cause);
        String detail;
        if (closed) {
            detail = "closed";
        } else if (!started.get()) {
            detail = "not started";
        } else if (connected) {
            detail = "watching etcd prefix " + prefix + " from revision " + (appliedRevision + 1)
                    + "; policy at revision " + revision;
        } else if (cause != null) {
            detail = "etcd unreachable" + (since != null ? " since " + since : "") + ": " + cause + "; "
                    + serving(v);
        } else {
            detail = "connecting to etcd " + endpoints + "; " + serving(v);
        }
        return new StoreStatus("etcd", connected, detail, facts);
    }

    private String serving(PolicyView v) {
        if (v == null) {
            return "no policy loaded yet";
        }
        if (v.source() == PolicySource.LAST_KNOWN_GOOD) {
            Instant saved = lastKnownGoodSavedAt;
            return "serving last-known-good revision " + v.revision() + (saved != null ? " (saved " + saved + ")" : "");
        }
        return "serving the last etcd view (revision " + v.revision() + ") from memory";
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        connected = false;
        worker.shutdownNow();
        try {
            worker.awaitTermination(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // jetcd's close does not wait on the network, but bound it anyway
        List<Client> clients = new ArrayList<>(retiring);
        retiring.clear();
        if (client != null) {
            clients.add(client);
        }
        client = null;
        Thread closer = new Thread(() -> {
            watch.discard();
            clients.forEach(EtcdPolicyStore::closeQuietly);
        }, "etcd-policy-store-close");
        closer.setDaemon(true);
        closer.start();
        try {
            closer.join(CLOSE_WAIT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------- worker thread

    private void submit(Runnable task) {
        try {
            worker.execute(() -> runSafely(task));
        } catch (RejectedExecutionException e) {
            // closed
        }
    }

    private void schedule(Runnable task, long delayMs) {
        try {
            worker.schedule(() -> runSafely(task), delayMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closed
        }
    }

    private void runSafely(Runnable task) {
        if (closed) {
            return;
        }
        try {
            task.run();
        } catch (RuntimeException e) {
            LOG.error("Unexpected error in the etcd policy store; retrying", e);
            failed("unexpected error: " + e);
        }
    }

    /** Snapshot if needed, then watch from the last applied revision + 1. */
    private void connect() {
        try {
            if (client == null) {
                client = clients.newClient();
            }
            if (needSnapshot) {
                loadSnapshot();
                needSnapshot = false;
            }
            watch.open(client, appliedRevision + 1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            if (closed) {
                return;
            }
            failed(describe(e));
        }
    }

    private void loadSnapshot() throws ExecutionException, TimeoutException, InterruptedException {
        EtcdPrefixReader.Snapshot snapshot = reader.read(client, prefix);
        long revision = snapshot.revision();
        PolicyView.Builder builder = documents.snapshot(view != null ? view : PolicyView.empty(PolicySource.ETCD),
                snapshot.entries());
        snapshots++;
        latestPolicyChange = Math.max(latestPolicyChange, documents.latestPolicyChange(snapshot.entries()));
        PolicyView applied = publish(builder, revision);
        LOG.info("Policy loaded from etcd {} prefix {} at revision {}: {} models, {} keys, {} rejected documents",
                endpoints, prefix, revision, applied.models().size(), applied.keys().size(), applied.rejected().size());
    }

    /** The watch's reports, on the worker thread. */
    private final class WatchReports implements EtcdPrefixWatch.Listener {
        @Override
        public void confirmed() {
            EtcdPolicyStore.this.confirmed();
        }

        @Override
        public void changed(List<WatchEvent> events) {
            apply(events);
        }

        @Override
        public void behind(long etcdRevision) {
            // etcd went back in time (restored from a backup, or a new cluster): start over
            LOG.warn("etcd is at revision {}, behind the applied revision {} (restored or replaced?); "
                    + "re-reading the whole prefix", etcdRevision, appliedRevision);
            needSnapshot = true;
            scheduleConnect(0);
        }

        @Override
        public void compacted(Throwable error) {
            // only a watch that starts behind the compacted revision gets this: read everything again, at once the
            // first times (compaction raced the snapshot at worst), with backoff should it keep happening
            compactions++;
            LOG.info("The etcd watch from revision {} was compacted away ({}); re-reading the whole prefix",
                    appliedRevision + 1, describe(error));
            needSnapshot = true;
            scheduleConnect(compactions <= 3 ? 0 : backoffMillis(compactions - 3));
        }

        @Override
        public void failed(String cause) {
            EtcdPolicyStore.this.failed(cause);
        }
    }

    private void apply(List<WatchEvent> events) {
        if (!documents.touchesPolicy(events)) {
            // the replica registry (or another key outside the layout): the view stays as it is, its revision too —
            // else every replica's registry write would look like a new policy to every replica, and be written again
            appliedRevision = Math.max(appliedRevision,
                    events.stream().mapToLong(e -> e.getKeyValue().getModRevision()).max().orElse(0));
            compactions = 0;
            return;
        }
        latestPolicyChange = Math.max(latestPolicyChange,
                documents.latestPolicyChange(events.stream().map(WatchEvent::getKeyValue).toList()));
        PolicyView.Builder builder = view.toBuilder();
        long revision = documents.apply(builder, events, appliedRevision);
        publish(builder, revision);
        compactions = 0;
        LOG.debug("Applied {} etcd changes up to revision {}", events.size(), revision);
    }

    private void confirmed() {
        if (connected) {
            return;
        }
        connected = true;
        confirmedAtNanos = System.nanoTime();
        if (problem != null) {
            Instant since = unreachableSince;
            String message = "etcd {} is reachable again after {} failed attempts{}; watching prefix {} from revision {}";
            Object[] args = {endpoints, failures, since != null ? " (since " + since + ")" : "", prefix,
                    appliedRevision + 1};
            if (outageReported) {
                LOG.info(message, args);
            } else {
                LOG.debug(message, args); // a short outage inside the quiet period of the failure log
            }
        } else {
            LOG.info("Watching etcd prefix {} from revision {}", prefix, appliedRevision + 1);
        }
        problem = null;
        unreachableSince = null;
        outageReported = false;
        reportedRefusals.clear();
    }

    /**
     * Drops the watch and the client, then retries after a backoff; the view in force stays. Logged as a warning at
     * most every 30 s, whether etcd stays down or keeps flapping, except that a refusal (credentials, TLS handshake)
     * during a reported outage is logged at once, once per kind; the backoff starts again only after a connection
     * that lasted.
     */
    private void failed(String cause) {
        if (closed) {
            return;
        }
        long now = System.nanoTime();
        boolean newOutage = problem == null;
        if (newOutage) {
            unreachableSince = clock.instant();
            if (confirmedAtNanos == 0 || now - confirmedAtNanos >= STABLE_CONNECTION.toNanos()) {
                failures = 0;
            }
        }
        connected = false;
        watch.discard();
        discardClient();
        failures++;
        problem = cause;
        Optional<String> refusal = EtcdClients.refusal(cause);
        boolean newRefusal = outageReported && refusal.isPresent() && !reportedRefusals.contains(refusal.get());
        if (newRefusal || lastFailureLogNanos == 0 || now - lastFailureLogNanos >= FAILURE_LOG_INTERVAL.toNanos()) {
            if (newOutage) {
                LOG.warn("etcd {} unreachable: {}; {}. Retrying in the background.", endpoints, cause, serving(view));
            } else {
                LOG.warn("etcd {} still unreachable since {} ({} failed attempts, {} since the last report): {}; {}",
                        endpoints, unreachableSince, failures, failuresSinceLog + 1, cause, serving(view));
            }
            lastFailureLogNanos = now;
            failuresSinceLog = 0;
            outageReported = true;
            refusal.ifPresent(reportedRefusals::add);
        } else {
            failuresSinceLog++;
            LOG.debug("etcd attempt {} failed: {}", failures, cause);
        }
        scheduleConnect(backoffMillis(failures));
    }

    /** Schedules the next connection attempt; an attempt scheduled earlier and not yet run is dropped. */
    private void scheduleConnect(long delayMs) {
        long epoch = ++connectEpoch;
        schedule(() -> {
            if (epoch == connectEpoch) {
                connect();
            }
        }, delayMs);
    }

    long backoffMillis(int attempt) {
        long ceiling = backoffMinMs;
        for (int i = 1; i < attempt && ceiling < backoffMaxMs; i++) {
            ceiling *= 2;
        }
        ceiling = Math.min(ceiling, backoffMaxMs);
        // "equal jitter": half fixed, half random, so replicas do not retry in step
        long half = ceiling / 2;
        return half + ThreadLocalRandom.current().nextLong(ceiling - half + 1);
    }

    /**
     * Drops the client. It is closed a little later: jetcd reschedules a failed watch on the client's own executor
     * right after our listener returns, and closing the client before that makes gRPC log the rejected task as
     * SEVERE. The watch itself is already closed, so the rescheduled resume does nothing.
     */
    private void discardClient() {
        Client c = client;
        client = null;
        if (c != null) {
            retiring.add(c);
            schedule(() -> {
                if (retiring.remove(c)) {
                    closeQuietly(c);
                }
            }, RETIRE_DELAY.toMillis());
        }
    }

    private PolicyView publish(PolicyView.Builder builder, long revision) {
        builder.newRejections().forEach(r ->
                LOG.error("Policy document rejected, its previous version stays: {}", r));
        PolicyView applied = builder.build(PolicySource.ETCD, revision, clock.instant());
        view = applied;
        appliedRevision = revision;
        if (lastKnownGood.save(applied, prefix)) {
            lastKnownGoodSavedAt = clock.instant();
        }
        return applied;
    }

    private String describe(Throwable error) {
        return clients.describe(error);
    }

    private static void closeQuietly(AutoCloseable closeable) {
        if (closeable == null) {
            return;
        }
        try {
            closeable.close();
        } catch (Exception e) {
            LOG.debug("Closing {} failed: {}", closeable.getClass().getSimpleName(), e.toString());
        }
    }
}
