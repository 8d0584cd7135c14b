package dev.apirouter.registry;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.LongSupplier;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.config.Settings;
import dev.apirouter.config.Version;
import dev.apirouter.etcd.EtcdClients;
import dev.apirouter.policy.EtcdPolicyStore;
import dev.apirouter.policy.PolicyView;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.lease.LeaseKeepAliveResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.PutOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This process in the replica registry (etcd store only): {@code <prefix>replicas/<id>}, bound to a lease of
 * {@code ROUTER_REPLICA_TTL_MS}, holding a {@link ReplicaRecord}. A crashed replica disappears when its lease
 * expires; a stopping one says {@code draining}, then deletes its key and revokes its lease.
 *
 * <p>All etcd work runs on one thread of its own ({@code replica-registry}), every call bounded by the etcd call
 * deadline ({@link EtcdClients#await}): nothing here ever blocks start-up, serving, a watch or a callback. The thread
 * ticks every {@code ROUTER_REPLICA_UPDATE_MS}: it keeps the lease alive every third of its TTL
 * ({@code keepAliveOnce}), and rewrites the value when the applied revision, the routes generation or the state
 * changed since the last write — at most one write per tick and one in flight, so a burst of changes is coalesced
 * into a few writes. The applied revision it reports is the revision of the policy view in force, which the replica
 * registry's own writes never move (see {@link EtcdPolicyStore#watchedRevision()}): no write feeds another.
 *
 * <p>etcd unreachable: the replica keeps serving; the registry retries with a backoff (200 ms doubling up to 5 s),
 * with a new client each time. The registration counts as lost once the lease cannot have survived (no keep-alive
 * answered within its TTL, or etcd says it expired): one WARN then, one INFO when a new lease holds the key again.
 */
public final class ReplicaRegistry implements AutoCloseable {
    /** The registry's folder under the etcd prefix. */
    public static final String REPLICAS = "replicas/";
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaRegistry.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long BACKOFF_MIN_MS = 200;
    private static final long BACKOFF_MAX_MS = 5000;
    private static final int FLEET_LIMIT = 10_000;

    private final Settings.Store storeSettings;
    private final Settings.Replica settings;
    private final EtcdClients clients;
    private final EtcdPolicyStore store;
    private final LongSupplier routesGeneration;
    private final String managementHost;
    private final int managementPort;
    private final Clock clock;
    private final String id;
    private final String key;
    private final String startedAt;
    private final Instant started;
    private final long ttlSeconds;
    private final long keepAliveEveryNanos;
    private final LagTracker lag;
    private final ScheduledExecutorService worker;
    private volatile boolean closed;
    private volatile boolean draining;

    // owned by the worker thread; volatile where close() or status readers look at them
    private volatile Client client;
    private volatile long leaseId;
    private volatile ReplicaRecord written;
    private volatile boolean registered;
    private volatile long writes;
    private String managementAddress;
    private long confirmedAtNanos;  // the lease was last known alive (grant or keep-alive)
    private long keepAliveAtNanos;
    private long retryAtNanos;
    private int failures;
    private boolean lostReported;
    private boolean everRegistered;

    // the fleet view's reads, from any thread
    private Client readClient;

    /**
     * A registry entry for this process; nothing happens before {@link #start()}.
     *
     * @param store            the etcd store: its applied revision and watch position
     * @param routesGeneration the routes generation served (the reload count)
     * @param managementHost   {@code ROUTER_MANAGEMENT_HOST}; {@code 0.0.0.0} or {@code ::} is replaced by
     *                         {@code POD_IP}, else the address of the host name
     * @param managementPort   the management server's bound port
     */
    public ReplicaRegistry(Settings.Store storeSettings, Settings.Replica settings, EtcdPolicyStore store,
                           LongSupplier routesGeneration, String managementHost, int managementPort, Clock clock) {
        this.storeSettings = storeSettings;
        this.settings = settings;
        this.clients = EtcdClients.of(storeSettings);
        this.store = store;
        this.routesGeneration = routesGeneration;
        this.managementHost = managementHost;
        this.managementPort = managementPort;
        this.clock = clock;
        this.id = replicaId(settings);
        this.key = storeSettings.etcdPrefix() + REPLICAS + id;
        this.started = clock.instant();
        this.startedAt = started.toString();
        this.ttlSeconds = Math.max(1, (settings.ttl().toMillis() + 999) / 1000);
        this.keepAliveEveryNanos = Math.max(TimeUnit.MILLISECONDS.toNanos(100), settings.ttl().toNanos() / 3);
        this.lag = new LagTracker(settings.lagRevisions(), settings.lagTime());
        this.worker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "replica-registry");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * The replica id: {@code POD_NAME} when set, else {@code <hostname>-<pid>} (host name from the environment or
     * the kernel, never a DNS lookup). A {@code /} would make a deeper key: it becomes {@code _}.
     */
    public static String replicaId(Settings.Replica settings) {
        String id = settings.podName().filter(s -> !s.isBlank())
                .orElseGet(() -> hostName() + "-" + ProcessHandle.current().pid());
        return id.replace('/', '_');
    }

    private static String hostName() {
        String h = System.getenv("HOSTNAME");
        if (h != null && !h.isBlank()) {
            return h.trim();
        }
        try {
            java.nio.file.Path etc = java.nio.file.Path.of("/etc/hostname");
            if (java.nio.file.Files.isReadable(etc)) {
                String s = java.nio.file.Files.readString(etc).trim();
                if (!s.isEmpty()) {
                    return s;
                }
            }
        } catch (IOException e) {
            // fall through
        }
        String name = ManagementFactory.getRuntimeMXBean().getName(); // pid@host
        int at = name.indexOf('@');
        return at >= 0 ? name.substring(at + 1) : "replica";
    }

    public String id() {
        return id;
    }

    /** The etcd key of this replica. */
    public String key() {
        return key;
    }

    /** Registers in the background; returns at once. */
    public void start() {
        try {
            worker.scheduleWithFixedDelay(this::tick, 0, settings.updateInterval().toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closed
        }
        LOG.info("Replica registry: registering as {} under {} (lease TTL {} s, updates at most every {} ms)", id,
                key, ttlSeconds, settings.updateInterval().toMillis());
    }

    /** Shutdown begins: the next write says {@code draining} (within one tick; never waits). */
    public void draining() {
        draining = true;
    }

    /** Whether the key is in etcd under a live lease, as far as this process knows. */
    public boolean registered() {
        return registered;
    }

    /** Registry writes (puts of the value) since start, for tests and the idle write rate. */
    public long writes() {
        return writes;
    }

    /** What this replica reports now (the value it would write). */
    public ReplicaRecord record() {
        long applied = store.current().map(PolicyView::revision).orElse(0L);
        String address = managementAddress;
        return new ReplicaRecord(id, Version.current(), startedAt, address != null ? address : managementHost + ":"
                + managementPort, applied, routesGeneration.getAsLong(), draining ? ReplicaRecord.DRAINING
                : ReplicaRecord.SERVING);
    }

    /**
     * This replica's lag, for readyz and metrics.
     *
     * @param appliedRevision the revision of the policy in force
     * @param watchedRevision the watch's position (everything up to it applied or ignored)
     * @param etcdRevision    etcd's newest revision seen by the registry's calls (0: none yet)
     * @param behind          etcdRevision - watchedRevision, at least 0
     * @param lagging         more than {@code ROUTER_REPLICA_LAG_REVISIONS} behind for longer than
     *                        {@code ROUTER_REPLICA_LAG_MS}
     */
    public record Status(String id, boolean registered, long appliedRevision, long watchedRevision, long etcdRevision,
                         long behind, boolean lagging, long lagMillis) {
    }

    public Status status() {
        long watched = store.watchedRevision();
        LagTracker.Lag l = lag.lag(watched, System.nanoTime());
        return new Status(id, registered, store.current().map(PolicyView::revision).orElse(0L), watched,
                l.etcdRevision(), l.behind(), l.lagging(), l.lasting().toMillis());
    }

    // ---------------------------------------------------------------- the worker thread

    private void tick() {
        if (closed) {
            return;
        }
        long now = System.nanoTime();
        if (now < retryAtNanos) {
            return;
        }
        try {
            if (managementAddress == null) {
                managementAddress = managementAddress();
            }
            if (client == null) {
                client = clients.newClient();
            }
            if (leaseId == 0) {
                register();
            } else {
                if (now >= keepAliveAtNanos) {
                    keepAlive();
                }
                if (leaseId != 0) {
                    ReplicaRecord wanted = record();
                    if (!wanted.equals(written)) {
                        put(wanted);
                    }
                }
            }
            if (leaseId != 0 && written != null) {
                recovered();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException | RuntimeException e) {
            if (!closed) {
                failed(e);
            }
        }
    }

    private void register() throws ExecutionException, TimeoutException, InterruptedException {
        long lease = clients.await(client.getLeaseClient().grant(ttlSeconds)).getID();
        leaseId = lease;
        written = null;
        confirmedAtNanos = System.nanoTime();
        keepAliveAtNanos = confirmedAtNanos + keepAliveEveryNanos;
        put(record());
    }

    private void keepAlive() throws ExecutionException, TimeoutException, InterruptedException {
        LeaseKeepAliveResponse response;
        try {
            response = clients.await(client.getLeaseClient().keepAliveOnce(leaseId));
        } catch (ExecutionException e) {
            if (leaseNotFound(e)) {
                leaseExpired();
                return;
            }
            throw e;
        }
        if (response.getTTL() <= 0) {
            leaseExpired();
            return;
        }
        long now = System.nanoTime();
        confirmedAtNanos = now;
        keepAliveAtNanos = now + keepAliveEveryNanos;
        lag.etcdAt(response.getHeader().getRevision(), store.watchedRevision(), now);
    }

    private void put(ReplicaRecord value) throws ExecutionException, TimeoutException, InterruptedException {
        long revision;
        try {
            revision = clients.await(client.getKVClient().put(bytes(key), bytes(value.json()),
                    PutOption.builder().withLeaseId(leaseId).build())).getHeader().getRevision();
        } catch (ExecutionException e) {
            if (leaseNotFound(e)) {
                leaseExpired();
                return;
            }
            throw e;
        }
        writes++;
        written = value;
        registered = true;
        lag.etcdAt(revision, store.watchedRevision(), System.nanoTime());
        LOG.debug("Replica {} registered: {}", id, value.json());
    }

    /** etcd says the lease is gone (expired while we could not reach etcd): register again at once. */
    private void leaseExpired() {
        leaseId = 0;
        written = null;
        registered = false;
        lost("its lease expired");
    }

    private void lost(String why) {
        if (!lostReported) {
            lostReported = true;
            LOG.warn("Replica {} is {} in the registry ({}); serving on, registering again when etcd answers",
                    id, everRegistered ? "no longer" : "not yet", why);
        }
    }

    private void recovered() {
        boolean wasLost = lostReported;
        lostReported = false;
        failures = 0;
        if (wasLost) {
            LOG.info("Replica {} is registered again under {}", id, key);
        } else if (!everRegistered) {
            LOG.info("Replica {} registered under {} (lease TTL {} s)", id, key, ttlSeconds);
        }
        everRegistered = true;
    }

    private void failed(Throwable e) {
        String cause = clients.describe(e);
        failures++;
        long now = System.nanoTime();
        Client c = client;
        client = null;
        closeQuietly(c); // a new client next time: gRPC's reconnect backoff never delays recovery
        if (leaseId == 0 || now - confirmedAtNanos >= TimeUnit.SECONDS.toNanos(ttlSeconds)) {
            // the lease cannot have outlived its TTL: a new one when etcd is back
            leaseId = 0;
            written = null;
            registered = false;
            lost("etcd: " + cause);
        } else {
            LOG.debug("Replica registry: etcd call failed ({}), the lease lives until its TTL", cause);
        }
        retryAtNanos = now + TimeUnit.MILLISECONDS.toNanos(backoffMillis(failures));
    }

    private static long backoffMillis(int attempt) {
        long ceiling = BACKOFF_MIN_MS;
        for (int i = 1; i < attempt && ceiling < BACKOFF_MAX_MS; i++) {
            ceiling *= 2;
        }
        ceiling = Math.min(ceiling, BACKOFF_MAX_MS);
        long half = ceiling / 2;
        return half + ThreadLocalRandom.current().nextLong(ceiling - half + 1);
    }

    private static boolean leaseNotFound(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().contains("lease not found")) {
                return true;
            }
        }
        return false;
    }

    /**
     * {@code host:port} of the management server as other hosts reach it: {@code ROUTER_MANAGEMENT_HOST} as set,
     * unless it listens on every interface ({@code 0.0.0.0}, {@code ::}): then {@code POD_IP}, else the address of
     * the host name (looked up here, on the registry's thread), else the host name itself.
     */
    private String managementAddress() {
        String host = managementHost;
        if (host == null || host.isBlank() || host.equals("0.0.0.0") || host.equals("::") || host.equals("[::]")) {
            host = settings.podIp().filter(s -> !s.isBlank()).orElseGet(() -> {
                try {
                    InetAddress a = InetAddress.getLocalHost();
                    return a instanceof Inet6Address ? a.getHostAddress() : a.getHostAddress();
                } catch (IOException e) {
                    return hostName();
                }
            });
        }
        if (host.contains(":") && !host.startsWith("[")) {
            host = "[" + host + "]";
        }
        return host + ":" + managementPort;
    }

    // ---------------------------------------------------------------- shutdown

    /**
     * Deletes the key and revokes the lease, within {@code budget}; whatever is not done by then is left to the
     * lease's TTL. Never longer than the budget.
     */
    @Override
    public void close() {
        close(Duration.ofMillis(500));
    }

    public void close(Duration budget) {
        if (closed) {
            return;
        }
        closed = true;
        long deadline = System.nanoTime() + budget.toNanos();
        worker.shutdownNow();
        Thread closer = new Thread(() -> deregister(deadline), "replica-registry-close");
        closer.setDaemon(true);
        closer.start();
        try {
            closer.join(Math.max(1, budget.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void deregister(long deadline) {
        try {
            worker.awaitTermination(Math.min(100, remainingMs(deadline) / 4), TimeUnit.MILLISECONDS);
            long lease = leaseId;
            if (lease == 0 && written == null) {
                return;
            }
            Client c = client != null ? client : clients.newClient();
            client = c;
            try {
                c.getKVClient().delete(bytes(key)).get(remainingMs(deadline), TimeUnit.MILLISECONDS);
                registered = false;
                if (lease != 0) {
                    c.getLeaseClient().revoke(lease).get(remainingMs(deadline), TimeUnit.MILLISECONDS);
                }
                LOG.info("Replica {} removed from the registry", id);
            } catch (ExecutionException | TimeoutException e) {
                LOG.info("Replica {} could not remove itself from the registry ({}); its lease expires within {} s",
                        id, clients.describe(e), ttlSeconds);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            closeQuietly(client);
            client = null;
            synchronized (this) {
                closeQuietly(readClient);
                readClient = null;
            }
        }
    }

    private static long remainingMs(long deadlineNanos) {
        return Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime()));
    }

    // ---------------------------------------------------------------- the fleet view

    /**
     * The fleet as etcd has it: every replica under {@code <prefix>replicas/}, sorted by id, read with the etcd
     * call deadline. Never blocks: the answer completes on jetcd's threads; it fails when etcd does not answer.
     */
    public CompletableFuture<Fleet> fleet() {
        Client c;
        synchronized (this) {
            if (closed) {
                return CompletableFuture.failedFuture(new IllegalStateException("the replica registry is closed"));
            }
            if (readClient == null) {
                readClient = clients.newClient();
            }
            c = readClient;
        }
        String prefix = storeSettings.etcdPrefix();
        ByteSequence replicas = bytes(prefix + REPLICAS);
        CompletableFuture<GetResponse> all = c.getKVClient().get(replicas, GetOption.builder().isPrefix(true)
                .withLimit(FLEET_LIMIT).withSortField(GetOption.SortTarget.KEY)
                .withSortOrder(GetOption.SortOrder.ASCEND).build());
        CompletableFuture<GetResponse> models = newest(c, prefix + "models/");
        CompletableFuture<GetResponse> keys = newest(c, prefix + "keys/");
        long timeout = storeSettings.etcdCallTimeout().toMillis() + 1000;
        return CompletableFuture.allOf(all, models, keys).orTimeout(timeout, TimeUnit.MILLISECONDS)
                .thenApply(v -> fleet(all.join(), Math.max(store.latestPolicyChange(),
                        Math.max(newestRevision(models.join()), newestRevision(keys.join())))))
                .whenComplete((f, e) -> {
                    if (e != null) {
                        synchronized (this) {
                            if (readClient == c) {
                                readClient = null;
                            }
                        }
                        closeQuietly(c);
                    }
                });
    }

    /** Describes a failure of {@link #fleet()}: never key material or credentials. */
    public String describe(Throwable e) {
        return clients.describe(e);
    }

    /** The document under {@code folder} modified last (its key only). */
    private static CompletableFuture<GetResponse> newest(Client c, String folder) {
        return c.getKVClient().get(bytes(folder), GetOption.builder().isPrefix(true).withKeysOnly(true).withLimit(1)
                .withSortField(GetOption.SortTarget.MOD).withSortOrder(GetOption.SortOrder.DESCEND).build());
    }

    private static long newestRevision(GetResponse r) {
        return r.getKvs().stream().mapToLong(KeyValue::getModRevision).max().orElse(0);
    }

    private Fleet fleet(GetResponse read, long policyRevision) {
        long storeRevision = read.getHeader().getRevision();
        Instant now = clock.instant();
        List<Fleet.Member> members = new ArrayList<>();
        for (KeyValue kv : read.getKvs()) {
            String k = kv.getKey().toString(StandardCharsets.UTF_8);
            ReplicaRecord r;
            try {
                r = ReplicaRecord.parse(kv.getValue().toString(StandardCharsets.UTF_8));
            } catch (IOException e) {
                LOG.debug("Ignoring the registry entry {}: not JSON", k);
                continue;
            }
            String memberId = r.id().isEmpty() ? k.substring(k.lastIndexOf('/') + 1) : r.id();
            long age;
            try {
                age = Math.max(0, Duration.between(Instant.parse(r.startedAt()), now).toSeconds());
            } catch (RuntimeException e) {
                age = 0;
            }
            members.add(new Fleet.Member(memberId, r.version(), r.state(), r.appliedRevision(),
                    Math.max(0, policyRevision - r.appliedRevision()), r.routesGeneration(), r.managementAddress(),
                    r.startedAt(), age, memberId.equals(id)));
        }
        members.sort(Comparator.comparing(Fleet.Member::id));
        return new Fleet(storeRevision, policyRevision, members);
    }

    /**
     * The fleet view of {@code GET /v1/status/fleet}.
     *
     * @param storeRevision  etcd's revision when the registry was read (the read's header revision)
     * @param policyRevision the newest policy change: the highest modification revision under {@code models/} and
     *                       {@code keys/}, or this replica's watch's newest policy change (deletes) if higher. A
     *                       replica's {@code lag} is measured against it, not against {@code storeRevision}: the
     *                       registry's own writes move etcd's revision but are nothing to apply
     */
    public record Fleet(long storeRevision, long policyRevision, List<Member> replicas) {
        public record Member(String id, String version, String state, long appliedRevision, long lag,
                             long routesGeneration, String managementAddress, String startedAt, long ageSeconds,
                             boolean self) {
        }

        public Optional<Member> member(String id) {
            return replicas.stream().filter(m -> m.id().equals(id)).findFirst();
        }

        public String json() {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("storeRevision", storeRevision);
            out.put("policyRevision", policyRevision);
            List<Map<String, Object>> list = new ArrayList<>();
            for (Member m : replicas) {
                Map<String, Object> r = new LinkedHashMap<>();
                r.put("id", m.id());
                r.put("version", m.version());
                r.put("state", m.state());
                r.put("appliedRevision", m.appliedRevision());
                r.put("lag", m.lag());
                r.put("routesGeneration", m.routesGeneration());
                r.put("managementAddress", m.managementAddress());
                r.put("startedAt", m.startedAt());
                r.put("ageSeconds", m.ageSeconds());
                r.put("self", m.self());
                list.add(r);
            }
            out.put("replicas", list);
            try {
                return JSON.writeValueAsString(out);
            } catch (JsonProcessingException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    private static void closeQuietly(AutoCloseable c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (Exception e) {
            LOG.debug("Closing {} failed: {}", c.getClass().getSimpleName(), e.toString());
        }
    }
}
