package dev.apirouter.etcd;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.kv.GetResponse;
import io.etcd.jetcd.options.GetOption;
import io.etcd.jetcd.options.OptionsUtil;

/**
 * Reads every key under a prefix as one consistent snapshot: pages of {@value #PAGE} keys in key order, every page
 * after the first read at the first page's revision, each call bounded by the call deadline ({@link
 * EtcdClients#await}). Used by the policy store (its snapshot before watching) and the operator commands.
 */
public final class EtcdPrefixReader {
    static final int PAGE = 500;

    /** The keys under the prefix in key order, and the revision they were read at. */
    public record Snapshot(List<KeyValue> entries, long revision) {
        public Snapshot {
            entries = List.copyOf(entries);
        }
    }

    private final EtcdClients clients;
    private final int pageSize;

    public EtcdPrefixReader(EtcdClients clients) {
        this(clients, PAGE);
    }

    EtcdPrefixReader(EtcdClients clients, int pageSize) {
        this.clients = clients;
        this.pageSize = pageSize;
    }

    public Snapshot read(Client client, String prefix)
            throws ExecutionException, TimeoutException, InterruptedException {
        ByteSequence start = ByteSequence.from(prefix, StandardCharsets.UTF_8);
        ByteSequence end = OptionsUtil.prefixEndOf(start);
        ByteSequence from = start;
        long revision = 0;
        List<KeyValue> all = new ArrayList<>();
        while (true) {
            GetOption.Builder option = GetOption.builder()
                    .withRange(end)
                    .withLimit(pageSize)
                    .withSortField(GetOption.SortTarget.KEY)
                    .withSortOrder(GetOption.SortOrder.ASCEND);
            if (revision != 0) {
                option.withRevision(revision); // every page from the same revision
            }
            GetResponse page = clients.await(client.getKVClient().get(from, option.build()));
            if (revision == 0) {
                revision = page.getHeader().getRevision();
            }
            List<KeyValue> kvs = page.getKvs();
            all.addAll(kvs);
            if (!page.isMore() || kvs.isEmpty()) {
                return new Snapshot(all, revision);
            }
            from = kvs.get(kvs.size() - 1).getKey().concat(ByteSequence.from(new byte[] {0}));
        }
    }
}
