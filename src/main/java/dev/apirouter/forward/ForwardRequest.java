package dev.apirouter.forward;

import java.util.List;
import java.util.Map;

import dev.apirouter.policy.Backend;
import dev.apirouter.policy.Timeouts;
import io.vertx.core.buffer.Buffer;

/**
 * One request to send upstream: the same path on each candidate backend in turn, until one answers.
 *
 * @param pathAndQuery the client's path and query, kept as is
 * @param headers      request headers to consider sending (hop-by-hop and credentials are dropped here)
 * @param observer     sees the answer as it is relayed (tracing); null when nobody needs to
 */
public record ForwardRequest(String method, String pathAndQuery, Map<String, List<String>> headers, byte[] body,
                             List<Backend> candidates, Timeouts timeouts, String requestId, String model,
                             Observer observer) {

    /** Called on the request's event loop; must be cheap and must not keep the chunks. */
    public interface Observer {
        /** A backend answered: its status and content type (null when absent). */
        void onResponse(Backend backend, int status, String contentType);

        /** A chunk of the answer, just written to the client. */
        void onChunk(Buffer chunk);
    }
}
