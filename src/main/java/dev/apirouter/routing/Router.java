package dev.apirouter.routing;

import java.util.ArrayList;
import java.util.List;
import java.util.function.DoubleSupplier;
import java.util.function.UnaryOperator;

import dev.apirouter.fleet.Fleet;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.Routing;

/**
 * The routing decision of one request: which of the model's backends to try, in what order, by the model's
 * strategy ({@link Routing.Strategy}). Only available backends are candidates: weight above 0, healthy (active
 * probes) and not ejected (outlier detection). When none is, a model with fallbacks gets no candidate (its
 * fallbacks are next); one without still tries its backends, as a last resort, rather than refuse the request.
 * Costs a few microseconds and never waits: every figure it reads is already in memory.
 */
public final class Router {
    private final Weighted weighted;
    private final LeastLoad leastLoad;
    private final PrefixAffinity prefixAffinity;
    private final BackendHealth health;
    private final Fleet fleet;
    private final RoutingObserver observer;

    public Router(Fleet fleet, BackendHealth health, DoubleSupplier random, RoutingObserver observer) {
        this.weighted = new Weighted(random);
        this.leastLoad = new LeastLoad(fleet, random);
        this.prefixAffinity = new PrefixAffinity(fleet);
        this.health = health;
        this.fleet = fleet;
        this.observer = observer;
    }

    /**
     * @param headers the request's headers by name (case-insensitive), for the affinity header
     * @param body    the request body as the client sent it (the prompt's beginning is hashed from it)
     */
    public Decision route(ModelPolicy policy, InferenceRequest request, byte[] body, UnaryOperator<String> headers) {
        Decision decision = decide(policy, request, body, headers);
        observer.decided(policy.name(), decision.reason());
        return decision;
    }

    /** The decision for a fallback model: its own strategy's candidates, reported (and labelled) as a fallback. */
    public Decision routeFallback(ModelPolicy fallback, InferenceRequest request, byte[] body,
                                  UnaryOperator<String> headers) {
        Decision decision = new Decision(decide(fallback, request, body, headers).candidates(), Reason.FALLBACK);
        observer.decided(fallback.name(), Reason.FALLBACK);
        return decision;
    }

    /**
     * The last resort of a model none of whose backends is available and none of whose fallbacks can be used (the
     * key may use none, or none exists): all its backends with a weight, in weighted order, rather than no answer.
     */
    public Decision lastResort(ModelPolicy policy) {
        List<Backend> weighted = new ArrayList<>(policy.backends().size());
        for (Backend b : policy.backends()) {
            if (b.weight() > 0) {
                weighted.add(b);
            }
        }
        return new Decision(this.weighted.order(weighted), Reason.UNAVAILABLE);
    }

    private Decision decide(ModelPolicy policy, InferenceRequest request, byte[] body, UnaryOperator<String> headers) {
        List<Backend> all = policy.backends();
        Routing routing = policy.routing();
        Reason natural = switch (routing.strategy()) {
            case WEIGHTED -> Reason.WEIGHTED;
            case LEAST_LOAD -> Reason.LEAST_LOAD;
            case PREFIX_AFFINITY -> Reason.AFFINITY;
        };
        if (all.size() == 1) { // the common case, on every request: no copies
            Backend only = all.get(0);
            // without fallbacks the one backend is tried whatever its state: no need to look it up
            if (only.weight() > 0 && (policy.fallbacks().isEmpty() || available(only))) {
                return new Decision(all, natural);
            }
            return new Decision(List.of(), Reason.UNAVAILABLE);
        }
        List<Backend> pool = pool(all, policy);
        if (pool.isEmpty()) {
            return new Decision(pool, Reason.UNAVAILABLE);
        }
        return switch (routing.strategy()) {
            case WEIGHTED -> new Decision(weighted.order(pool), Reason.WEIGHTED);
            case LEAST_LOAD -> new Decision(leastLoad.order(pool), Reason.LEAST_LOAD);
            case PREFIX_AFFINITY -> {
                long key = AffinityKey.of(routing, headers, request, body);
                yield key == AffinityKey.NONE ? new Decision(leastLoad.order(pool), Reason.LEAST_LOAD)
                        : prefixAffinity.order(all, pool, key, routing.loadFactor());
            }
        };
    }

    /** The available backends; when there are none: all those with weight, unless the model has fallbacks. */
    private List<Backend> pool(List<Backend> all, ModelPolicy policy) {
        List<Backend> available = new ArrayList<>(all.size());
        List<Backend> weighted = new ArrayList<>(all.size());
        for (Backend b : all) {
            if (b.weight() > 0) {
                weighted.add(b);
                if (available(b)) {
                    available.add(b);
                }
            }
        }
        if (!available.isEmpty() || !policy.fallbacks().isEmpty()) {
            return available;
        }
        return weighted;
    }

    private boolean available(Backend b) {
        return health.isHealthy(b) && fleet.admits(b);
    }
}
