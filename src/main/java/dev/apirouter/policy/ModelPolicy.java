package dev.apirouter.policy;

import java.util.List;
import java.util.Optional;

/** The routing policy of one public model name. */
public record ModelPolicy(String name, Optional<String> upstreamModel, List<Backend> backends, Timeouts timeouts) {
    public ModelPolicy {
        backends = List.copyOf(backends);
    }
}
