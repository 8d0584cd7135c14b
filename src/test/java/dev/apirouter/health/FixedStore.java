package dev.apirouter.health;

import java.util.Optional;

import dev.apirouter.policy.PolicyStore;
import dev.apirouter.policy.PolicyView;
import dev.apirouter.policy.StoreStatus;

/** A store that holds one view and reports one status, for the status endpoints' tests. */
record FixedStore(PolicyView view, StoreStatus status) implements PolicyStore {
    /** A fleet nothing was sent to yet. */
    static dev.apirouter.fleet.Fleet fleet() {
        return new dev.apirouter.fleet.Fleet(java.time.Duration.ofSeconds(2), 5, java.time.Duration.ofSeconds(5),
                java.time.Duration.ofMinutes(5), System::nanoTime);
    }

    static FixedStore etcd(PolicyView view) {
        return new FixedStore(view, new StoreStatus("etcd", false, "etcd unreachable: http://etcd-0.internal:2379 "
                + "refused", new StoreStatus.EtcdFacts("[http://etcd-0.internal:2379]", "/api-router/", "etcd", 7, null, 0, null,
                "lkg.json", null, "refused")));
    }

    @Override
    public Optional<PolicyView> current() {
        return Optional.ofNullable(view);
    }

    @Override
    public void start() {
    }

    @Override
    public void close() {
    }
}
