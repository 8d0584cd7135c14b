package dev.apirouter.etcd;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.TxnResponse;
import io.etcd.jetcd.op.Cmp;
import io.etcd.jetcd.op.CmpTarget;
import io.etcd.jetcd.op.Op;
import io.etcd.jetcd.options.DeleteOption;
import io.etcd.jetcd.options.PutOption;

/**
 * The store's documents as the writers see them (the operator commands, the admin API): keys relative to the
 * prefix, read whole, and changed in transactions that compare what was read. Every call is bounded by the call
 * deadline ({@link EtcdClients#await}).
 */
public final class EtcdKeyValues {
    /** A key under the prefix (relative to it), its value and the revision that last changed it. */
    public record Entry(String key, byte[] value, long modRevision) {
    }

    /** Entries under a prefix and the store's revision they were read at. */
    public record Snapshot(List<Entry> entries, long revision) {
    }

    /**
     * One key's change, made only if the key is unchanged since {@code expectedModRevision} (0: only if it does not
     * exist); {@code value} null deletes it.
     */
    public record Change(String key, byte[] value, long expectedModRevision) {
        public static Change put(String key, byte[] value, long expectedModRevision) {
            return new Change(key, value, expectedModRevision);
        }

        public static Change delete(String key, long expectedModRevision) {
            return new Change(key, null, expectedModRevision);
        }
    }

    /** One of these calls, for a caller that turns its failures into its own error. */
    public interface Call<T> {
        T run() throws ExecutionException, TimeoutException, InterruptedException;
    }

    private final EtcdClients clients;
    private final Client client;
    private final String prefix;
    private final EtcdPrefixReader reader;

    public EtcdKeyValues(EtcdClients clients, Client client, String prefix) {
        this.clients = clients;
        this.client = client;
        this.prefix = prefix;
        this.reader = new EtcdPrefixReader(clients);
    }

    /** Every entry whose key starts with {@code relativePrefix}, in key order, read at one revision. */
    public Snapshot snapshot(String relativePrefix) throws ExecutionException, TimeoutException, InterruptedException {
        EtcdPrefixReader.Snapshot s = reader.read(client, prefix + relativePrefix);
        return new Snapshot(s.entries().stream().map(this::entry).toList(), s.revision());
    }

    public Optional<Entry> get(String relativeKey) throws ExecutionException, TimeoutException, InterruptedException {
        return clients.await(client.getKVClient().get(bytes(prefix + relativeKey))).getKvs().stream().findFirst()
                .map(this::entry);
    }

    /** Puts unconditionally; returns the new revision. */
    public long put(String relativeKey, byte[] value) throws ExecutionException, TimeoutException, InterruptedException {
        return clients.await(client.getKVClient().put(bytes(prefix + relativeKey), ByteSequence.from(value)))
                .getHeader().getRevision();
    }

    /** Deletes; returns the revision of the change, or 0 when there was no such key (nothing changed). */
    public long delete(String relativeKey) throws ExecutionException, TimeoutException, InterruptedException {
        var response = clients.await(client.getKVClient().delete(bytes(prefix + relativeKey)));
        return response.getDeleted() == 0 ? 0 : response.getHeader().getRevision();
    }

    /**
     * Makes every change in one transaction, or none: returns the revision of the transaction, or 0 when one of the
     * keys changed since it was read (nothing written).
     */
    public long commit(List<Change> changes) throws ExecutionException, TimeoutException, InterruptedException {
        Cmp[] compares = new Cmp[changes.size()];
        Op[] ops = new Op[changes.size()];
        for (int i = 0; i < changes.size(); i++) {
            Change c = changes.get(i);
            ByteSequence key = bytes(prefix + c.key());
            compares[i] = new Cmp(key, Cmp.Op.EQUAL, CmpTarget.modRevision(c.expectedModRevision()));
            ops[i] = c.value() == null ? Op.delete(key, DeleteOption.DEFAULT)
                    : Op.put(key, ByteSequence.from(c.value()), PutOption.DEFAULT);
        }
        TxnResponse response = clients.await(client.getKVClient().txn().If(compares).Then(ops).commit());
        return response.isSucceeded() ? response.getHeader().getRevision() : 0;
    }

    /** The entry of a key value read from etcd, its key relative to the prefix. */
    public Entry entry(KeyValue kv) {
        String key = kv.getKey().toString(StandardCharsets.UTF_8);
        return new Entry(key.startsWith(prefix) ? key.substring(prefix.length()) : key, kv.getValue().getBytes(),
                kv.getModRevision());
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }
}
