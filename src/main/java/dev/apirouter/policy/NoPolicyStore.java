package dev.apirouter.policy;

import java.util.Optional;

import dev.apirouter.config.Setting;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * No store configured: neither {@code ROUTER_POLICY_FILE} nor {@code ETCD_ENDPOINTS}, and no {@code ROUTER_DEMO=1}.
 * Nothing is ever loaded, so the API answers {@code 503 no_policy} and readiness is down; the start-up log (one line)
 * and readyz's store check say why. The demo policy is never served unless asked for.
 */
public final class NoPolicyStore implements PolicyStore {
    public static final String KIND = "none";
    public static final String REASON = "No policy store configured: set " + Setting.POLICY_FILE.envVar() + " or "
            + Setting.ETCD_ENDPOINTS.envVar() + " (or " + Setting.DEMO.envVar()
            + "=1 for the demo policy); serving 503 no_policy";
    private static final Logger LOG = LoggerFactory.getLogger(NoPolicyStore.class);

    @Override
    public Optional<PolicyView> current() {
        return Optional.empty();
    }

    @Override
    public StoreStatus status() {
        return new StoreStatus(KIND, false, REASON, new StoreStatus.UnconfiguredFacts(REASON));
    }

    @Override
    public void start() {
        LOG.warn(REASON);
    }

    @Override
    public void close() {
        // nothing to release
    }
}
