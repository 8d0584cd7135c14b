package dev.apirouter.http;

import java.util.Map;

import io.vertx.core.http.HttpServerRequest;

/**
 * Decides on a request's head alone, before any byte of its body is read, whether the gateway serves it at all (a
 * usable policy, a valid key). It must not block: it runs on the event loop.
 */
@FunctionalInterface
public interface HeadCheck {
    HeadCheck NONE = request -> Map.of();

    /**
     * @return what it found, to be set as properties of the request's exchange (so the steps need not look again)
     * @throws dev.apirouter.error.GatewayException to refuse the request; nothing of its body is read then
     */
    Map<String, Object> check(HttpServerRequest request);
}
