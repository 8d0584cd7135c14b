package dev.apirouter.admin;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.registry.ReplicaRegistry;

/**
 * {@code ?wait=true}: waits, on the calling worker thread, until every replica in the registry reports an applied
 * revision at or above a change's, reading the registry every {@link #POLL}; bounded by the caller's timeout. Each
 * replica's confirmation time is measured from the change.
 */
final class FleetConfirm {
    static final Duration POLL = Duration.ofMillis(50);
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    static final Duration MAX_TIMEOUT = Duration.ofMinutes(5);

    private final Supplier<ReplicaRegistry> registry;

    FleetConfirm(Supplier<ReplicaRegistry> registry) {
        this.registry = registry;
    }

    /**
     * Adds {@code "replicas": [{"id", "appliedRevision", "confirmedMs"}]} to {@code answer} once all confirmed;
     * {@code 504 fleet_timeout} naming the replicas that lag when {@code timeout} passes first.
     */
    void await(long revision, long changedAtNanos, Duration timeout, ObjectNode answer) {
        ReplicaRegistry r = registry.get();
        if (r == null) {
            throw new GatewayException(ErrorCode.ETCD_UNAVAILABLE, "The replica registry has not started yet: the"
                    + " change (revision " + revision + ") is made, but cannot be confirmed.");
        }
        long deadline = changedAtNanos + timeout.toNanos();
        Map<String, Long> confirmed = new LinkedHashMap<>();
        Map<String, Long> lagging = new LinkedHashMap<>();
        Map<String, Long> lastLagging = Map.of();
        while (true) {
            lagging.clear();
            long left = deadline - System.nanoTime();
            ReplicaRegistry.Fleet fleet = read(r, Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
            long now = System.nanoTime();
            if (fleet == null) { // not read in time: what was seen before stands
                if (now >= deadline) {
                    throw late(revision, timeout, lastLagging.isEmpty() ? "the registry did not answer in time"
                            : describe(lastLagging));
                }
                continue;
            }
            for (ReplicaRegistry.Fleet.Member m : fleet.replicas()) {
                if (m.appliedRevision() >= revision) {
                    confirmed.putIfAbsent(m.id(), TimeUnit.NANOSECONDS.toMillis(now - changedAtNanos));
                } else {
                    lagging.put(m.id(), m.appliedRevision());
                }
            }
            if (lagging.isEmpty() && !fleet.replicas().isEmpty()) {
                ArrayNode list = answer.putArray("replicas");
                for (ReplicaRegistry.Fleet.Member m : fleet.replicas()) {
                    list.addObject().put("id", m.id()).put("appliedRevision", m.appliedRevision())
                            .put("confirmedMs", confirmed.get(m.id()));
                }
                return;
            }
            if (now + POLL.toNanos() > deadline) {
                throw late(revision, timeout, lagging.isEmpty() ? "no replica is registered" : describe(lagging));
            }
            lastLagging = new LinkedHashMap<>(lagging);
            pause();
        }
    }

    /** The registry, or null when it did not answer within {@code maxMs} (or failed: then after a poll's pause). */
    private static ReplicaRegistry.Fleet read(ReplicaRegistry r, long maxMs) {
        try {
            return r.fleet().get(maxMs, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return null;
        } catch (ExecutionException e) {
            pause();
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GatewayException(ErrorCode.FLEET_TIMEOUT, "Interrupted while waiting for the fleet.");
        }
    }

    private static void pause() {
        try {
            Thread.sleep(POLL.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new GatewayException(ErrorCode.FLEET_TIMEOUT, "Interrupted while waiting for the fleet.");
        }
    }

    private static String describe(Map<String, Long> lagging) {
        List<String> late = new ArrayList<>();
        lagging.forEach((id, applied) -> late.add(id + " (applied revision " + applied + ")"));
        return String.join(", ", late);
    }

    private static GatewayException late(long revision, Duration timeout, String who) {
        return new GatewayException(ErrorCode.FLEET_TIMEOUT, "The change is made (revision " + revision + ") but not"
                + " every replica confirmed it within " + timeout.toMillis() + " ms: " + who + ".");
    }

    /** {@code 30s}, {@code 500ms}, {@code 2m}: a wait timeout, at most {@link #MAX_TIMEOUT}. */
    static Duration timeout(String raw) {
        if (raw == null || raw.isBlank()) {
            return DEFAULT_TIMEOUT;
        }
        Duration d = AdminApi.duration(raw.trim(), "timeout");
        if (d.isZero() || d.compareTo(MAX_TIMEOUT) > 0) {
            throw KeysApi.invalid("'timeout' must be above 0 and at most 5m.");
        }
        return d;
    }
}
