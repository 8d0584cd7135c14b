package dev.apirouter.routing;

/** Told of every routing decision (metrics). */
@FunctionalInterface
public interface RoutingObserver {
    RoutingObserver NONE = (model, reason) -> { };

    void decided(String model, Reason reason);
}
