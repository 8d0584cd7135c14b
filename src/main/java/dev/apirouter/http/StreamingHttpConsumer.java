package dev.apirouter.http;

import java.util.List;

import dev.apirouter.ExchangeKeys;
import dev.apirouter.error.ErrorCode;
import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangePattern;
import org.apache.camel.Processor;
import org.apache.camel.component.platform.http.PlatformHttpEndpoint;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A platform-http consumer that routes exchanges asynchronously. The stock consumer holds a Vert.x worker thread
 * for the whole exchange and then writes the message as the response; here the route starts on a worker thread
 * (routes may block), the thread is released as soon as the route goes asynchronous (the streaming forwarder),
 * and a response that the forwarder has already written ({@link ExchangeKeys#RESPONSE_COMMITTED}) is left alone.
 * Requests beyond the in-flight limit are shed with a 503 before an exchange is created.
 */
final class StreamingHttpConsumer extends VertxPlatformHttpConsumer {
    private static final Logger LOG = LoggerFactory.getLogger(StreamingHttpConsumer.class);

    private final InflightLimiter limiter;
    private final RequestObserver observer;

    StreamingHttpConsumer(PlatformHttpEndpoint endpoint, Processor processor, List<Handler<RoutingContext>> handlers,
                          String routerName, InflightLimiter limiter, RequestObserver observer) {
        super(endpoint, processor, handlers, routerName);
        this.limiter = limiter;
        this.observer = observer;
    }

    @Override
    protected void handleRequest(RoutingContext ctx) {
        String requestId = RequestIds.from(ctx.request().getHeader(ExchangeKeys.REQUEST_ID_HEADER));
        if (isSuspended() || !isRunAllowed()) {
            ErrorResponses.send(ctx.response(), requestId, ErrorCode.SHUTTING_DOWN,
                    "The gateway is shutting down; retry the request.");
            return;
        }
        if (!limiter.tryAcquire()) {
            ErrorResponses.send(ctx.response(), requestId, ErrorCode.OVERLOADED,
                    "The gateway is at its limit of " + limiter.limit() + " requests in flight; retry shortly.");
            return;
        }
        long startNanos = System.nanoTime();
        Exchange exchange = createExchange(false);
        exchange.setPattern(ExchangePattern.InOut);
        Context context = ctx.vertx().getOrCreateContext();
        processHttpRequest(exchange, ctx).onComplete(read -> {
            if (read.failed()) {
                limiter.release();
                releaseExchange(exchange, false);
                ctx.fail(read.cause());
                return;
            }
            if (exchange.getMessage().getBody() == null && ctx.body().buffer() != null) {
                // platform-http leaves form-encoded bodies out; the API takes JSON whatever the content type says
                exchange.getMessage().setBody(ctx.body().buffer());
            }
            exchange.getMessage().setHeader(ExchangeKeys.REQUEST_ID_HEADER, requestId);
            exchange.setProperty(ExchangeKeys.REQUEST_ID, requestId);
            exchange.setProperty(ExchangeKeys.CLIENT_RESPONSE, ctx.response());
            exchange.setProperty(ExchangeKeys.CLIENT_CONTEXT, context);
            context.executeBlocking(() -> route(exchange, ctx, startNanos), false)
                    .onFailure(t -> finish(exchange, ctx, t, startNanos));
        });
    }

    private Void route(Exchange exchange, RoutingContext ctx, long startNanos) throws Exception {
        createUoW(exchange);
        getAsyncProcessor().process(exchange, doneSync -> finish(exchange, ctx, null, startNanos));
        return null;
    }

    private void finish(Exchange exchange, RoutingContext ctx, Throwable failure, long startNanos) {
        try {
            if (failure != null) {
                exchange.setException(failure);
            }
            if (!exchange.getProperty(ExchangeKeys.RESPONSE_COMMITTED, false, Boolean.class)) {
                ResponseWriter.write(ctx.response(), exchange, getEndpoint().getHeaderFilterStrategy());
            }
        } catch (RuntimeException e) {
            LOG.error("Writing the response of {} failed", getEndpoint().getPath(), e);
            ctx.response().reset();
        } finally {
            observer.completed(exchange, ctx.response().getStatusCode(), System.nanoTime() - startNanos);
            limiter.release();
            doneUoW(exchange);
            releaseExchange(exchange, false);
        }
    }
}
