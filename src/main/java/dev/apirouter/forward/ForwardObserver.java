package dev.apirouter.forward;

import dev.apirouter.call.TokenUsage;
import dev.apirouter.fleet.AttemptEnd;
import dev.apirouter.policy.Backend;

/** What the forwarder tells the rest of the gateway (health, metrics) as a request goes upstream. */
public interface ForwardObserver {
    /** A request is being sent to {@code backend} (one per attempt; each is followed by one {@link #attemptEnded}). */
    default void attemptStarted(Backend backend) {
    }

    /** The attempt on {@code backend} is over; {@code status} is the backend's HTTP status, 0 when none came. */
    default void attemptEnded(Backend backend, AttemptEnd end, int status) {
    }

    /** {@code backend} answered {@code status} (429 or 503) before any byte went to the client: the next is tried. */
    default void retried(String model, Backend backend, int status) {
    }

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
