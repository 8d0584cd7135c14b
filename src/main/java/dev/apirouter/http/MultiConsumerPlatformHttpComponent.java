package dev.apirouter.http;

import java.util.Map;

import org.apache.camel.Component;
import org.apache.camel.Endpoint;
import org.apache.camel.MultipleConsumersSupport;
import org.apache.camel.component.platform.http.PlatformHttpComponent;
import org.apache.camel.component.platform.http.PlatformHttpEndpoint;

/**
 * The {@code platform-http} component, with endpoints that accept several consumers: a reloaded route's new
 * generation starts beside the old one on the same endpoint (Camel refuses that for the stock endpoint), and
 * {@link ConsumerHandover} makes the newest serve. Two different routes on one path are refused by the route
 * reloader before they start.
 */
public final class MultiConsumerPlatformHttpComponent extends PlatformHttpComponent {
    public static final String NAME = "platform-http";

    @Override
    protected Endpoint createEndpoint(String uri, String remaining, Map<String, Object> parameters) throws Exception {
        PlatformHttpEndpoint endpoint = new MultiConsumerEndpoint(uri, remaining, this);
        endpoint.setPlatformHttpEngine(getEngine());
        endpoint.setHandleWriteResponseError(isHandleWriteResponseError());
        endpoint.setRequestTimeout(getRequestTimeout());
        setEndpointHeaderFilterStrategy(endpoint);
        setProperties(endpoint, parameters);
        return endpoint;
    }

    static final class MultiConsumerEndpoint extends PlatformHttpEndpoint implements MultipleConsumersSupport {
        MultiConsumerEndpoint(String uri, String remaining, Component component) {
            super(uri, remaining, component);
        }

        @Override
        public boolean isMultipleConsumersSupported() {
            return true;
        }
    }
}
