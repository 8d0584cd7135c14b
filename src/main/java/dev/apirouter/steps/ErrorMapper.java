package dev.apirouter.steps;

import dev.apirouter.call.GatewayCall;
import dev.apirouter.call.HeaderNames;
import dev.apirouter.error.ErrorBody;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.ErrorShape;
import dev.apirouter.error.GatewayException;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.component.platform.http.PlatformHttpEndpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one error mapper, on every route ({@link GatewaySteps#errorConfiguration()}): turns the exception of a failed
 * exchange into the contract's error response, in the error shape of the route's API ({@link ErrorShape}). A
 * {@link GatewayException} says what the client gets; anything else is a gateway bug, logged and answered 500.
 */
final class ErrorMapper implements Processor {
    private static final Logger LOG = LoggerFactory.getLogger(ErrorMapper.class);

    @Override
    public void process(Exchange exchange) {
        Throwable caught = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        GatewayException error = find(caught);
        if (error == null) {
            LOG.error("Request {} failed unexpectedly", GatewayCall.of(exchange).requestId(), caught);
            error = new GatewayException(ErrorCode.INTERNAL_ERROR, "The gateway failed to handle the request.");
        }
        ErrorShape shape = ErrorShape.forPath(routePath(exchange)); // before the headers go
        Message message = exchange.getMessage();
        message.removeHeaders("*", HeaderNames.REQUEST_ID);
        message.setHeader(Exchange.HTTP_RESPONSE_CODE, error.code().status());
        message.setHeader(Exchange.CONTENT_TYPE, ErrorBody.CONTENT_TYPE);
        message.setBody(ErrorBody.of(shape, error));
    }

    /** The path of the route that failed (a route per API, so its path names the API), else the request's. */
    private static String routePath(Exchange exchange) {
        if (exchange.getFromEndpoint() instanceof PlatformHttpEndpoint endpoint) {
            return endpoint.getPath();
        }
        return exchange.getMessage().getHeader(Exchange.HTTP_PATH, String.class);
    }

    private static GatewayException find(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof GatewayException g) {
                return g;
            }
        }
        return null;
    }
}
