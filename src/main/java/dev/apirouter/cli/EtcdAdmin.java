package dev.apirouter.cli;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;

import dev.apirouter.config.Settings;
import dev.apirouter.etcd.EtcdClients;
import dev.apirouter.etcd.EtcdKeyValues;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.OptionsUtil;
import io.etcd.jetcd.options.WatchOption;

/**
 * The few etcd operations the operator commands need, on keys relative to the prefix. Every call is bounded by the
 * store's connect timeout and call deadline; a failure ends the command with exit code 3.
 */
final class EtcdAdmin implements AutoCloseable {
    private final Settings.Store settings;
    private final String prefix;
    private final EtcdClients clients;
    private final Client client;
    private final EtcdKeyValues kv;

    EtcdAdmin(Settings.Store settings) {
        this.settings = settings;
        this.prefix = settings.etcdPrefix();
        this.clients = EtcdClients.of(settings);
        this.client = clients.newClient();
        this.kv = new EtcdKeyValues(clients, client, prefix);
    }

    String where() {
        return "etcd " + settings.etcdEndpoints().stream().map(URI::toString).collect(Collectors.joining(","))
                + " prefix " + prefix;
    }

    /** Every entry whose key starts with {@code relativePrefix}, in key order, read at one revision. */
    List<EtcdKeyValues.Entry> list(String relativePrefix) throws CliException {
        return snapshot(relativePrefix).entries();
    }

    Optional<EtcdKeyValues.Entry> get(String relativeKey) throws CliException {
        return call(() -> kv.get(relativeKey));
    }

    /** Puts unconditionally; returns the new revision. */
    long put(String relativeKey, byte[] value) throws CliException {
        return call(() -> kv.put(relativeKey, value));
    }

    /**
     * Puts only if the key is unchanged since {@code modRevision} (0: only if it does not exist). Returns the
     * revision of the change, or 0 when someone else changed the key in between (nothing written).
     */
    long putIfUnchanged(String relativeKey, byte[] value, long modRevision) throws CliException {
        return call(() -> kv.commit(List.of(EtcdKeyValues.Change.put(relativeKey, value, modRevision))));
    }

    /** Deletes only if the key is unchanged since {@code modRevision}: the revision of the change, or 0. */
    long deleteIfUnchanged(String relativeKey, long modRevision) throws CliException {
        return call(() -> kv.commit(List.of(EtcdKeyValues.Change.delete(relativeKey, modRevision))));
    }

    /** Deletes; returns the revision of the change, or 0 when there was no such key (nothing changed). */
    long delete(String relativeKey) throws CliException {
        return call(() -> kv.delete(relativeKey));
    }

    /** Like {@link #list}, with the revision of the read. */
    EtcdKeyValues.Snapshot snapshot(String relativePrefix) throws CliException {
        return call(() -> kv.snapshot(relativePrefix));
    }

    /**
     * The newest policy change: the highest modification revision under {@code models/} and {@code keys/} (a
     * deletion leaves none), 0 when both are empty. A replica that applied it is up to date, whatever the registry
     * wrote since.
     */
    long newestPolicyRevision() throws CliException {
        long newest = 0;
        for (String folder : new String[] {"models/", "keys/"}) {
            ByteSequence start = bytes(prefix + folder);
            GetResponse response = call(client.getKVClient().get(start, GetOption.builder()
                    .withRange(OptionsUtil.prefixEndOf(start)).withKeysOnly(true).withLimit(1)
                    .withSortField(GetOption.SortTarget.MOD).withSortOrder(GetOption.SortOrder.DESCEND).build()));
            for (var kv : response.getKvs()) {
                newest = Math.max(newest, kv.getModRevision());
            }
        }
        return newest;
    }

    /**
     * One range read of a small prefix (no paging), waited for at most {@code maxWaitMs} (and never longer than the
     * call deadline plus a second): for a loop that must end by its own deadline.
     */
    EtcdKeyValues.Snapshot snapshotWithin(String relativePrefix, long maxWaitMs)
            throws ExecutionException, TimeoutException, InterruptedException {
        ByteSequence start = bytes(prefix + relativePrefix);
        CompletableFuture<GetResponse> future = client.getKVClient().get(start, GetOption.builder()
                .withRange(OptionsUtil.prefixEndOf(start))
                .withSortField(GetOption.SortTarget.KEY)
                .withSortOrder(GetOption.SortOrder.ASCEND)
                .build());
        long ms = Math.max(1, Math.min(maxWaitMs, settings.etcdCallTimeout().toMillis() + 1000));
        try {
            GetResponse response = future.get(ms, TimeUnit.MILLISECONDS);
            return new EtcdKeyValues.Snapshot(response.getKvs().stream().map(kv::entry).toList(),
                    response.getHeader().getRevision());
        } catch (TimeoutException | InterruptedException e) {
            future.cancel(true);
            throw e;
        }
    }

    /**
     * Watches every key under {@code relativePrefix} from {@code fromRevision}; the caller closes the watcher. A
     * stream, so no call deadline applies: the caller bounds how long it listens.
     */
    Watch.Watcher watch(String relativePrefix, long fromRevision, Watch.Listener listener) {
        WatchOption option = WatchOption.builder()
                .isPrefix(true)
                .withRevision(fromRevision)
                .withRequireLeader(true)
                .build();
        return client.getWatchClient().watch(bytes(prefix + relativePrefix), option, listener);
    }

    /** The key relative to the prefix. */
    String relative(KeyValue value) {
        return kv.entry(value).key();
    }

    /** A one-line account of an etcd failure (no key material). */
    String describe(Throwable e) {
        return clients.describe(e);
    }

    String prefix() {
        return prefix;
    }

    private <T> T call(CompletableFuture<T> future) throws CliException {
        return call(() -> clients.await(future));
    }

    private <T> T call(EtcdKeyValues.Call<T> etcdCall) throws CliException {
        try {
            return etcdCall.run();
        } catch (ExecutionException | TimeoutException e) {
            throw unreachable(e);
        } catch (InterruptedException e) {
            throw interrupted();
        }
    }

    private CliException unreachable(Exception e) {
        return CliException.unreachable(where() + " did not answer: " + clients.describe(e));
    }

    private CliException interrupted() {
        Thread.currentThread().interrupt();
        return CliException.unreachable("interrupted while waiting for " + where());
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        client.close();
    }
}
