package dev.apirouter.policy;

import java.util.Optional;

/**
 * The source of model policies and key records. Implementations keep the view in memory and replace it as the
 * source changes; {@link #current()} is called on every request and must never block or do I/O.
 */
public interface PolicyStore extends AutoCloseable {

    /** The view in force, or empty when nothing has been loaded yet. */
    Optional<PolicyView> current();

    /** A short account of the store's state for readiness and status endpoints. */
    StoreStatus status();

    /** Starts loading and watching; never blocks on the network. */
    void start();

    @Override
    void close();
}
