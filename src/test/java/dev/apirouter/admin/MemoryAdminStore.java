package dev.apirouter.admin;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import dev.apirouter.etcd.EtcdKeyValues;
import dev.apirouter.policy.InvalidDocumentException;
import dev.apirouter.policy.PolicyDocuments;

/** An {@link AdminStore} in memory with etcd's transaction rule: every compare holds, or nothing is written. */
final class MemoryAdminStore implements AdminStore {
    private final Map<String, byte[]> values = new TreeMap<>();
    private final Map<String, Long> revisions = new TreeMap<>();
    private long revision = 1;
    /** Commits to refuse as if another writer got there first. */
    int conflictsToSimulate;
    int commits;

    synchronized void seed(String key, String json) {
        revision++;
        values.put(key, json.getBytes());
        revisions.put(key, revision);
    }

    synchronized String raw(String key) {
        return values.containsKey(key) ? new String(values.get(key)) : null;
    }

    @Override
    public synchronized List<Doc> list(String folder) {
        List<Doc> docs = new ArrayList<>();
        values.keySet().stream().filter(k -> k.startsWith(folder)).forEach(k -> docs.add(doc(k)));
        return docs;
    }

    @Override
    public synchronized Optional<Doc> get(String key) {
        return values.containsKey(key) ? Optional.of(doc(key)) : Optional.empty();
    }

    @Override
    public synchronized long commit(List<EtcdKeyValues.Change> changes) {
        commits++;
        if (conflictsToSimulate > 0) {
            conflictsToSimulate--;
            return 0;
        }
        for (EtcdKeyValues.Change c : changes) {
            if (revisions.getOrDefault(c.key(), 0L) != c.expectedModRevision()) {
                return 0;
            }
        }
        revision++;
        for (EtcdKeyValues.Change c : changes) {
            if (c.value() == null) {
                values.remove(c.key());
                revisions.remove(c.key());
            } else {
                values.put(c.key(), c.value());
                revisions.put(c.key(), revision);
            }
        }
        return revision;
    }

    @Override
    public boolean confirmsChanges() {
        return true;
    }

    private Doc doc(String key) {
        try {
            return new Doc(key, PolicyDocuments.readJson(values.get(key)), revisions.get(key));
        } catch (InvalidDocumentException e) {
            return new Doc(key, null, revisions.get(key));
        }
    }
}
