package dev.apirouter.policy;

import java.net.URI;

/** One vLLM backend of a model: base URL (no trailing slash) and routing weight. */
public record Backend(String url, int weight) {
    public URI uri() {
        return URI.create(url);
    }
}
