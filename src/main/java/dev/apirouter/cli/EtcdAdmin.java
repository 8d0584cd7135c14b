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
import dev.apirouter.etcd.EtcdPrefixReader;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.Watch;
import io.etcd.jetcd.kv.DeleteResponse;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.OptionsUtil;
import io.etcd.jetcd.options.PutOption;
import io.etcd.jetcd.options.WatchOption;

/**
 * The few etcd operations the operator commands need, on keys relative to the prefix. Every call is bounded by the
 * store's connect timeout and call deadline; a failure ends the command with exit code 3.
 */
final class EtcdAdmin implements AutoCloseable {
    /** A key under the prefix (relative to it), its value and the revision that last changed it. */
    record Entry(String key, byte[] value, long modRevision) {
    }

    private final Settings.Store settings;
    private final String prefix;
    private final EtcdClients clients;
    private final Client client;
    private final EtcdPrefixReader reader;

    EtcdAdmin(Settings.Store settings) {
        this.settings = settings;
        this.prefix = settings.etcdPrefix();
        this.clients = EtcdClients.of(settings);
        this.client = clients.newClient();
        this.reader = new EtcdPrefixReader(clients);
    }

    String where() {
        return "etcd " + settings.etcdEndpoints().stream().map(URI::toString).collect(Collectors.joining(","))
                + " prefix " + prefix;
    }

    /** Every entry whose key starts with {@code relativePrefix}, in key order, read at one revision. */
    List<Entry> list(String relativePrefix) throws CliException {
        try {
            return reader.read(client, prefix + relativePrefix).entries().stream().map(this::entry).toList();
        } catch (ExecutionException | TimeoutException e) {
            throw unreachable(e);
        } catch (InterruptedException e) {
            throw interrupted();
        }
    }

    Optional<Entry> get(String relativeKey) throws CliException {
        GetResponse response = call(client.getKVClient().get(bytes(prefix + relativeKey)));
        return response.getKvs().stream().findFirst().map(this::entry);
    }

    /** Puts unconditionally; returns the new revision. */
    long put(String relativeKey, byte[] value) throws CliException {
        return call(client.getKVClient().put(bytes(prefix + relativeKey), ByteSequence.from(value)))
                .getHeader().getRevision();
    }

    /**
     * Puts only if the key is unchanged since {@code modRevision} (0: only if it does not exist). Returns the
     * revision of the change, or 0 when someone else changed the key in between (nothing written).
     */
    long putIfUnchanged(String relativeKey, byte[] value, long modRevision) throws CliException {
        ByteSequence key = bytes(prefix + relativeKey);
        TxnResponse response = call(client.getKVClient().txn()
                .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(modRevision)))
                .Then(Op.put(key, ByteSequence.from(value), PutOption.DEFAULT))
                .commit());
        return response.isSucceeded() ? response.getHeader().getRevision() : 0;
    }

    /** Deletes only if the key is unchanged since {@code modRevision}: the revision of the change, or 0. */
    long deleteIfUnchanged(String relativeKey, long modRevision) throws CliException {
        ByteSequence key = bytes(prefix + relativeKey);
        TxnResponse response = call(client.getKVClient().txn()
                .If(new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(modRevision)))
                .Then(Op.delete(key, DeleteOption.DEFAULT))
                .commit());
        return response.isSucceeded() ? response.getHeader().getRevision() : 0;
    }

    /** Deletes; returns the revision of the change, or 0 when there was no such key (nothing changed). */
    long delete(String relativeKey) throws CliException {
        DeleteResponse response = call(client.getKVClient().delete(bytes(prefix + relativeKey)));
        return response.getDeleted() == 0 ? 0 : response.getHeader().getRevision();
    }

    /** Entries under {@code relativePrefix} and the store's revision they were read at (the header revision). */
    record Snapshot(List<Entry> entries, long revision) {
    }

    /** Like {@link #list}, with the revision of the read. */
    Snapshot snapshot(String relativePrefix) throws CliException {
        try {
            EtcdPrefixReader.Snapshot s = reader.read(client, prefix + relativePrefix);
            return new Snapshot(s.entries().stream().map(this::entry).toList(), s.revision());
        } catch (ExecutionException | TimeoutException e) {
            throw unreachable(e);
        } catch (InterruptedException e) {
            throw interrupted();
        }
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
    Snapshot snapshotWithin(String relativePrefix, long maxWaitMs)
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
            return new Snapshot(response.getKvs().stream().map(this::entry).toList(),
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
    String relative(KeyValue kv) {
        return entry(kv).key();
    }

    /** A one-line account of an etcd failure (no key material). */
    String describe(Throwable e) {
        return clients.describe(e);
    }

    String prefix() {
        return prefix;
    }

    private <T> T call(CompletableFuture<T> future) throws CliException {
        try {
            return clients.await(future);
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

    private Entry entry(KeyValue kv) {
        String key = kv.getKey().toString(StandardCharsets.UTF_8);
        return new Entry(key.startsWith(prefix) ? key.substring(prefix.length()) : key, kv.getValue().getBytes(),
                kv.getModRevision());
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    @Override
    public void close() {
        client.close();
    }
}
