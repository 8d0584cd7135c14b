package dev.apirouter.admin;

import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import dev.apirouter.etcd.EtcdKeyValues;

/**
 * The documents as the admin API reads and changes them, by key relative to the store's prefix ({@code models/x},
 * {@code keys/<hash>}). Failures are {@link dev.apirouter.error.GatewayException}s: {@code 503 etcd_unavailable},
 * or {@code 409 store_read_only} for a change where the store is a file.
 */
interface AdminStore {
    /** A stored document: its JSON ({@code null} when it is not JSON) and the revision that last changed it. */
    record Doc(String key, JsonNode json, long revision) {
    }

    /** Every document under {@code folder} ({@code "keys/"}, {@code "models/"}), in key order, read at once. */
    List<Doc> list(String folder);

    Optional<Doc> get(String key);

    /**
     * Makes every change in one transaction, or none: the revision of the change, or 0 when a document changed
     * since it was read (nothing written: read again and retry).
     */
    long commit(List<EtcdKeyValues.Change> changes);

    /** Whether the replica registry can confirm changes (etcd). */
    boolean confirmsChanges();
}
