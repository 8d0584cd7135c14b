package dev.apirouter.http;

import dev.apirouter.call.GatewayCall;
import io.vertx.core.http.HttpServerRequest;

/**
 * Decides on a request's head alone, before any byte of its body is read, whether the gateway serves it at all (a
 * usable policy, a valid key). It must not block: it runs on the event loop.
 */
@FunctionalInterface
public interface HeadCheck {
    HeadCheck NONE = (request, call) -> {
    };

    /**
     * Records what it found on {@code call}, so that the steps need not look again.
     *
     * @throws dev.apirouter.error.GatewayException to refuse the request; nothing of its body is read then
     */
    void check(HttpServerRequest request, GatewayCall call);
}
