package dev.apirouter.policy;

import java.util.Map;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The facts render as the fields readiness has always published: in this order, absent ones left out. */
class StoreStatusTest {
    private static String json(StoreStatus.Facts facts) {
        return PolicyDocuments.JSON.valueToTree(facts).toString();
    }

    @Test
    void etcdFactsInTheirPublishedOrderWithoutTheAbsentOnes() {
        assertEquals("{\"endpoints\":\"http://e:2379\",\"prefix\":\"/p/\",\"source\":\"etcd\",\"revision\":7,"
                + "\"lastUpdate\":\"2026-01-01T00:00:00Z\",\"rejected\":1,\"rejectedDocuments\":{\"models/m\":\"bad\"},"
                + "\"lastKnownGoodFile\":\"lkg.json\",\"unreachableSince\":\"2026-01-02T00:00:00Z\",\"lastError\":\"refused\"}",
                json(new StoreStatus.EtcdFacts("http://e:2379", "/p/", "etcd", 7, "2026-01-01T00:00:00Z", 1,
                        Map.of("models/m", "bad"), "lkg.json", "2026-01-02T00:00:00Z", "refused")));
        assertEquals("{\"endpoints\":\"http://e:2379\",\"prefix\":\"/p/\",\"source\":\"none\",\"revision\":0,"
                + "\"rejected\":0,\"lastKnownGoodFile\":\"lkg.json\"}",
                json(new StoreStatus.EtcdFacts("http://e:2379", "/p/", "none", 0, null, 0, null, "lkg.json", null, null)));
    }

    @Test
    void theOtherKinds() {
        assertEquals("{\"file\":\"/etc/policy.yaml\"}", json(new StoreStatus.FileFacts("/etc/policy.yaml")));
        assertEquals("{\"reason\":\"none\"}", json(new StoreStatus.UnconfiguredFacts("none")));
        assertEquals("{}", json(new StoreStatus("test", true, "").facts()));
    }
}
