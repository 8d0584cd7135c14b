package dev.apirouter.policy;

import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.watch.WatchEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The contract's key layout under the etcd prefix: {@code models/<model>} and {@code keys/<sha256>}, applied to a
 * {@link PolicyView.Builder} from a snapshot or from watch events. Any other key is ignored (logged once, at debug,
 * by its first segment only: it could be anything, even a pasted key).
 */
final class EtcdDocuments {
    private static final Logger LOG = LoggerFactory.getLogger(EtcdDocuments.class);
    private static final String MODELS = "models/";
    private static final String KEYS = "keys/";
    private static final int MAX_IGNORED_LOGGED = 1000;

    private final String prefix;
    private final Set<String> ignoredLogged = new HashSet<>();

    EtcdDocuments(String prefix) {
        this.prefix = prefix;
    }

    /** {@code base} with exactly the snapshot's documents: absent ones are gone, an invalid one keeps its previous version. */
    PolicyView.Builder snapshot(PolicyView base, List<KeyValue> entries) {
        Set<String> modelNames = new HashSet<>();
        Set<String> keyHashes = new HashSet<>();
        for (KeyValue kv : entries) {
            String rel = relative(kv.getKey());
            if (rel.startsWith(MODELS)) {
                modelNames.add(rel.substring(MODELS.length()));
            } else if (rel.startsWith(KEYS)) {
                keyHashes.add(rel.substring(KEYS.length()));
            }
        }
        PolicyView.Builder builder = base.toBuilder().retainOnly(modelNames, keyHashes);
        for (KeyValue kv : entries) {
            put(builder, relative(kv.getKey()), kv.getValue().getBytes());
        }
        return builder;
    }

    /** Applies watch events in order; returns the highest revision among them and {@code revision}. */
    long apply(PolicyView.Builder builder, List<WatchEvent> events, long revision) {
        long highest = revision;
        for (WatchEvent event : events) {
            KeyValue kv = event.getKeyValue();
            highest = Math.max(highest, kv.getModRevision());
            String rel = relative(kv.getKey());
            switch (event.getEventType()) {
                case PUT -> put(builder, rel, kv.getValue().getBytes());
                case DELETE -> remove(builder, rel);
                default -> LOG.debug("Ignoring watch event {} on {}", event.getEventType(), shortKey(rel));
            }
        }
        return highest;
    }

    /**
     * Whether any of {@code events} is a policy document ({@code models/} or {@code keys/}); the others (the replica
     * registry's {@code replicas/}, anything else) change nothing in the view.
     */
    boolean touchesPolicy(List<WatchEvent> events) {
        return events.stream().anyMatch(e -> isPolicy(relative(e.getKeyValue().getKey())));
    }

    /** The highest modification revision among the policy documents of {@code events} or {@code entries}, else 0. */
    long latestPolicyChange(List<KeyValue> kvs) {
        return kvs.stream().filter(kv -> isPolicy(relative(kv.getKey()))).mapToLong(KeyValue::getModRevision).max()
                .orElse(0);
    }

    private static boolean isPolicy(String rel) {
        return rel.startsWith(MODELS) || rel.startsWith(KEYS);
    }

    private void put(PolicyView.Builder builder, String rel, byte[] value) {
        if (rel.startsWith(MODELS)) {
            builder.putModel(rel.substring(MODELS.length()), value);
        } else if (rel.startsWith(KEYS)) {
            builder.putKey(rel.substring(KEYS.length()), value);
        } else {
            ignored(rel);
        }
    }

    private void remove(PolicyView.Builder builder, String rel) {
        if (rel.startsWith(MODELS)) {
            builder.removeModel(rel.substring(MODELS.length()));
        } else if (rel.startsWith(KEYS)) {
            builder.removeKey(rel.substring(KEYS.length()));
        } else {
            ignored(rel);
        }
    }

    private void ignored(String rel) {
        String shown = shortKey(rel);
        if (ignoredLogged.size() < MAX_IGNORED_LOGGED && ignoredLogged.add(shown)) {
            LOG.debug("Ignoring etcd key {}{}: only models/<model> and keys/<sha256> are read", prefix, shown);
        }
    }

    /** A key outside the layout is shown by its first segment only. */
    static String shortKey(String rel) {
        int slash = rel.indexOf('/');
        String head = slash < 0 ? rel : rel.substring(0, slash + 1);
        if (head.length() > 16) {
            head = head.substring(0, 16);
        }
        return head.length() < rel.length() ? head + "…" : head;
    }

    private String relative(ByteSequence key) {
        String k = key.toString(StandardCharsets.UTF_8);
        return k.startsWith(prefix) ? k.substring(prefix.length()) : k;
    }
}
