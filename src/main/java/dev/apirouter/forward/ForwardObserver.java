package dev.apirouter.forward;

import dev.apirouter.call.TokenUsage;
import dev.apirouter.policy.Backend;

/** What the forwarder tells the rest of the gateway (health, metrics) as a request goes upstream. */
public interface ForwardObserver {
    /** A backend could not be connected to (refused, unreachable, connect timeout). */
    default void connectFailed(Backend backend, Throwable cause) {
    }

    /** The first body chunk of a response was passed to the client, {@code nanos} after forwarding began. */
    default void firstChunk(String model, Backend backend, boolean streamed, long nanos) {
    }

    /** A backend's answer to a request for {@code model} reported token usage. */
    default void tokensUsed(String model, Backend backend, TokenUsage usage) {
    }

    /** A response started (head received) and ended; {@code streamed} for Server-Sent Events. */
    default void streamOpened(boolean streamed) {
    }

    default void streamClosed(boolean streamed) {
    }
}
