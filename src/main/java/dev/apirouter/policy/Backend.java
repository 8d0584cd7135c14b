package dev.apirouter.policy;

import java.net.URI;
import java.util.Optional;

/**
 * One vLLM backend of a model: base URL (no trailing slash), routing weight, and the credential the gateway sends
 * to it, if it needs one.
 */
public record Backend(String url, int weight, Optional<BackendAuth> auth) {
    /** A backend that needs no credential. */
    public Backend(String url, int weight) {
        this(url, weight, Optional.empty());
    }

    public URI uri() {
        return URI.create(url);
    }
}
