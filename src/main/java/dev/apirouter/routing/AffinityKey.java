package dev.apirouter.routing;

import java.util.function.UnaryOperator;

import dev.apirouter.policy.Routing;

/**
 * The affinity key of a request ({@code prefix-affinity}): the hash of the affinity header's value when the request
 * has one, else of its {@code user}, else of the first {@code prefixBytes} bytes of its prompt's beginning (the system
 * prompt and the first user message, as sent: see {@link InferenceRequest#promptStart()}); {@link #NONE} when the
 * request has none of them.
 */
final class AffinityKey {
    static final long NONE = 0;

    private AffinityKey() {
    }

    static long of(Routing routing, UnaryOperator<String> headers, InferenceRequest request, byte[] body) {
        String header = headers.apply(routing.affinityHeader());
        if (header != null && !header.isEmpty()) {
            return nonZero(Hashing.hash(header));
        }
        if (request.user() != null && !request.user().isEmpty()) {
            return nonZero(Hashing.hash(request.user()));
        }
        if (request.hasPrompt()) {
            int end = (int) Math.min(request.promptEnd(), (long) request.promptStart() + routing.prefixBytes());
            return nonZero(Hashing.hash(body, request.promptStart(), end));
        }
        return NONE;
    }

    private static long nonZero(long hash) {
        return hash == NONE ? 1 : hash;
    }
}
