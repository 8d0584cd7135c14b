package dev.apirouter.forward;

import java.util.List;
import java.util.Map;

import dev.apirouter.call.StreamedBody;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.Routing;
import dev.apirouter.policy.Timeouts;

/**
 * One request to send upstream: the same path on each candidate backend in turn, until one answers.
 *
 * @param pathAndQuery      the route's path and the client's normalised query ({@link RequestTarget})
 * @param headers           request headers to consider sending (hop-by-hop and credentials are dropped here)
 * @param body              the body, held whole; ignored when {@code streamed} is set
 * @param streamed          an upload, streamed to the backend as it arrives (sent once: see {@link #replayable()});
 *                          null for a body held whole
 * @param model             the public name of the model the request goes to (told to the client in
 *                          {@code x-api-router-model})
 * @param routing           how many backends answering 429/503 are tried, and the wait between them
 * @param failIfUnavailable when the last candidate answers 429/503 too, fail (the caller has a fallback model)
 *                          instead of passing that answer on
 * @param readUsage         read the token usage and model of the answer for this request (tracing), even when the
 *                          forwarder does not read them for every request
 * @param stripUsageChunk   the body asks for a stream's usage on the gateway's behalf, not the client's: the
 *                          usage-only event is removed from the stream the client gets ({@link UsageChunkFilter}),
 *                          and read (it implies {@code readUsage})
 * @param pinModel          null, or the Responses API's ids in a successful answer are pinned to the backend that
 *                          gives it, under this model name ({@link ResponseIds}, {@link ResponseIdRewriter})
 */
public record ForwardRequest(String method, String pathAndQuery, Map<String, List<String>> headers, byte[] body,
                             StreamedBody streamed, List<Backend> candidates, Timeouts timeouts, String requestId,
                             String model, Routing routing, boolean failIfUnavailable, boolean readUsage,
                             boolean stripUsageChunk, String pinModel) {
    /** Whether the body can be sent (again) to another backend: held whole, or an upload none of which went out. */
    public boolean replayable() {
        return streamed == null || !streamed.started();
    }
}
