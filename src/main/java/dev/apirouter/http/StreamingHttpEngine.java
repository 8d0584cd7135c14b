package dev.apirouter.http;

import org.apache.camel.Consumer;
import org.apache.camel.Processor;
import org.apache.camel.component.platform.http.PlatformHttpEndpoint;
import org.apache.camel.component.platform.http.spi.PlatformHttpConsumer;
import org.apache.camel.component.platform.http.spi.PlatformHttpConsumerAware;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpEngine;

/**
 * The platform-http engine of the gateway: Vert.x, with a consumer that lets the streaming forwarder write the
 * response itself and that releases its worker thread while a stream is in flight. Bound in the registry as
 * {@code platform-http-engine}, so every {@code platform-http:} route (YAML ones included) uses it.
 */
public final class StreamingHttpEngine extends VertxPlatformHttpEngine {
    private final String routerName;
    private final RequestObserver observer;
    private final ConsumerHandover handover = new ConsumerHandover();

    public StreamingHttpEngine(String routerName, RequestObserver observer) {
        this.routerName = routerName;
        this.observer = observer;
    }

    @Override
    public PlatformHttpConsumer createConsumer(PlatformHttpEndpoint endpoint, Processor processor) {
        return new StreamingHttpConsumer(endpoint, processor, getHandlers(), routerName, handover, observer);
    }

    /**
     * Requests accepted by a route's platform-http consumer and not answered yet (streams included); 0 for any other
     * consumer. The route reloader removes a retired route once this and the route's in-flight count are 0.
     */
    public static int pendingRequests(Consumer routeConsumer) {
        Consumer consumer = routeConsumer instanceof PlatformHttpConsumerAware aware
                ? aware.getPlatformHttpConsumer() : routeConsumer;
        return consumer instanceof StreamingHttpConsumer streaming ? streaming.pending() : 0;
    }
}
