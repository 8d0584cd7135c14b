package dev.apirouter.admin;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

import dev.apirouter.config.Settings;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.etcd.EtcdKeyValues;
import dev.apirouter.policy.PolicyDocuments;
import dev.apirouter.policy.PolicyStore;

/**
 * The admin API over a policy file (or the bundled demo policy): the documents this replica applied can be read;
 * changes are refused with {@code 409 store_read_only}, since the file is the source of truth. Documents the file
 * store rejected are not in the view, so they are not listed (readyz names them).
 */
final class ViewAdminStore implements AdminStore {
    private final PolicyStore store;
    private final Settings.Store settings;

    ViewAdminStore(PolicyStore store, Settings.Store settings) {
        this.store = store;
        this.settings = settings;
    }

    @Override
    public List<Doc> list(String folder) {
        Map<String, Doc> docs = new TreeMap<>();
        store.current().ifPresent(view -> {
            if (folder.equals("models/")) {
                view.models().forEach((name, m) -> docs.put(folder + name,
                        new Doc(folder + name, PolicyDocuments.write(m), view.revision())));
            } else if (folder.equals("keys/")) {
                view.keys().forEach((hash, k) -> docs.put(folder + hash,
                        new Doc(folder + hash, PolicyDocuments.write(k), view.revision())));
            }
        });
        return new ArrayList<>(docs.values());
    }

    @Override
    public Optional<Doc> get(String key) {
        String folder = key.substring(0, key.indexOf('/') + 1);
        return list(folder).stream().filter(d -> d.key().equals(key)).findFirst();
    }

    @Override
    public long commit(List<EtcdKeyValues.Change> changes) {
        String where = settings.policyFile().map(p -> "the policy file " + p + " is the source of truth: change it"
                + " there (it is reloaded when it changes)").orElse("it serves the bundled demo policy, which cannot be"
                + " changed: set ETCD_ENDPOINTS for an editable store");
        throw new GatewayException(ErrorCode.STORE_READ_ONLY, "This gateway cannot change its policy: " + where + ".");
    }

    @Override
    public boolean confirmsChanges() {
        return false;
    }
}
