package dev.apirouter.health;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.fleet.BackendView;
import dev.apirouter.fleet.VllmMetrics;
import dev.apirouter.policy.PolicyDocuments;

/** One backend's load and routing state as JSON, for {@code /v1/status/policy} and the full readiness answer. */
final class FleetJson {
    private FleetJson() {
    }

    static ObjectNode of(BackendView view) {
        ObjectNode node = PolicyDocuments.JSON.createObjectNode();
        node.put("state", view.state()).put("inFlight", view.inFlight());
        if (view.ejectedForMs() > 0) {
            node.put("ejectedForMs", view.ejectedForMs());
        }
        node.put("ejections", view.ejections());
        VllmMetrics m = view.metrics();
        if (m != null) {
            node.put("running", m.running()).put("waiting", m.waiting());
            if (!Double.isNaN(m.kvCacheUsage())) {
                node.put("kvCacheUsage", m.kvCacheUsage());
            }
            double hitRatio = view.prefixCacheHitRatio();
            if (!Double.isNaN(hitRatio)) {
                node.put("prefixCacheHitRatio", hitRatio);
            }
        }
        if (view.scrapedAgoMs() >= 0) {
            node.put("scrapedAgoMs", view.scrapedAgoMs());
        }
        if (view.scrapeProblem() != null) {
            node.put("metricsProblem", view.scrapeProblem());
        }
        return node;
    }
}
