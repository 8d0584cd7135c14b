package dev.apirouter.call;

import dev.apirouter.policy.Backend;

/**
 * How a forwarded request ended once a backend had answered. The response belongs to the forwarder from then on:
 * it has been written to the client, or the client connection was closed.
 *
 * @param status        the backend's HTTP status, 0 when the client went away before any backend answered
 * @param streamed      the answer was a stream of Server-Sent Events
 * @param usage         the token usage the backend reported, null when it reported none (or was not read)
 * @param responseModel the {@code model} of the backend's answer, null when absent (or not read)
 */
public record ForwardResult(Backend backend, int status, Outcome outcome, boolean streamed, TokenUsage usage,
                            String responseModel) {
    public enum Outcome {
        /** The whole response reached the client. */
        COMPLETED,
        /** The client disconnected; the upstream request was cancelled. */
        CLIENT_GONE,
        /** The backend failed mid-response; the client connection was closed so that it sees the break. */
        UPSTREAM_BROKEN,
        /** The backend went silent mid-response for longer than the idle timeout; both sides were closed. */
        IDLE_TIMEOUT
    }
}
