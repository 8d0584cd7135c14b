package dev.apirouter.forward;

import dev.apirouter.fleet.AttemptEnd;
import dev.apirouter.fleet.Fleet;
import dev.apirouter.policy.Backend;

/** Tells the {@link Fleet} of every attempt: its in-flight counts and outlier ejection follow the data path. */
public final class FleetObserver implements ForwardObserver {
    private final Fleet fleet;

    public FleetObserver(Fleet fleet) {
        this.fleet = fleet;
    }

    @Override
    public void attemptStarted(Backend backend) {
        fleet.attemptStarted(backend);
    }

    @Override
    public void attemptEnded(Backend backend, AttemptEnd end, int status) {
        fleet.attemptEnded(backend, end, status);
    }
}
