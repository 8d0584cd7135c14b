package dev.apirouter.policy;

import java.util.Map;

/**
 * What a store reports about itself.
 *
 * @param kind      {@code file} or {@code etcd}
 * @param connected whether the store's own source is reachable right now (always true for a readable file)
 * @param detail    a human-readable sentence: the last problem, or what is in force
 * @param extra     further facts (endpoints, file path, last error time), safe to publish
 */
public record StoreStatus(String kind, boolean connected, String detail, Map<String, Object> extra) {
    public StoreStatus {
        extra = Map.copyOf(extra);
    }
}
