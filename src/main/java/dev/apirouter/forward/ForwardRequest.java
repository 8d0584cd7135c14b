package dev.apirouter.forward;

import java.util.List;
import java.util.Map;

import dev.apirouter.policy.Backend;
import dev.apirouter.policy.Timeouts;

/**
 * One request to send upstream: the same path on each candidate backend in turn, until one answers.
 *
 * @param pathAndQuery the route's path and the client's normalised query ({@link RequestTarget})
 * @param headers      request headers to consider sending (hop-by-hop and credentials are dropped here)
 * @param readUsage    read the token usage and model of the answer for this request (tracing), even when the
 *                     forwarder does not read them for every request
 */
public record ForwardRequest(String method, String pathAndQuery, Map<String, List<String>> headers, byte[] body,
                             List<Backend> candidates, Timeouts timeouts, String requestId, String model,
                             boolean readUsage) {
}
