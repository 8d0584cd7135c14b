package dev.apirouter.policy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class NoPolicyStoreTest {
    @Test
    void nothingIsEverLoadedAndTheStatusSaysWhy() {
        try (NoPolicyStore store = new NoPolicyStore()) {
            store.start();
            assertTrue(store.current().isEmpty());
            StoreStatus status = store.status();
            assertEquals("none", status.kind());
            assertFalse(status.connected());
            assertEquals(NoPolicyStore.REASON, status.detail());
            assertEquals(NoPolicyStore.REASON, ((StoreStatus.UnconfiguredFacts) status.facts()).reason());
            for (String variable : new String[] {"ROUTER_POLICY_FILE", "ETCD_ENDPOINTS", "ROUTER_DEMO=1", "503"}) {
                assertTrue(NoPolicyStore.REASON.contains(variable), NoPolicyStore.REASON);
            }
        }
    }
}
