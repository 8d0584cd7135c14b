package dev.apirouter.http;

import java.util.List;
import java.util.Locale;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;

import dev.apirouter.call.GatewayCall;
import dev.apirouter.call.HeaderNames;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.upload.FormUpload;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.ext.web.RoutingContext;
import org.apache.camel.Exchange;
import org.apache.camel.ExchangePattern;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.component.platform.http.PlatformHttpEndpoint;
import org.apache.camel.component.platform.http.vertx.VertxPlatformHttpConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A platform-http consumer that routes exchanges asynchronously. The stock consumer holds a Vert.x worker thread
 * for the whole exchange and then writes the message as the response; here the route runs on the request's own
 * event loop (the gateway's steps never block: lookups are in memory; measured 1.8x the requests/s of a hop to a
 * worker thread), and the loop is free again as soon as the route goes asynchronous (the streaming forwarder).
 * This consumer owns writing the response: when the route is done it writes the route's message
 * ({@link ResponseWriter}), unless a backend answered and the forwarder streamed that answer itself
 * ({@link GatewayCall#responseStreamed()}). Each exchange carries the request's {@link GatewayCall}. Route
 * steps added in YAML must therefore not block; a step that must, goes behind Camel's {@code threads}.
 * Requests come admitted (or refused) by the {@link AdmissionHandler}, their bodies read; a refused one is answered
 * here without running the route. An upload (a route with {@code consumes: multipart/form-data}, which takes only
 * those) has its form read here up to its model field ({@link FormUpload}); the route then gets the upload as its body,
 * and the backend dispatch streams it.
 * <p>
 * During a route reload two generations of a route run on the same endpoint: the older consumer hands each new
 * request to the newest ({@link ConsumerHandover}); once retired it is suspended (stopping a consumer would stop
 * its route's processors under the requests still in flight) and counts the requests it accepted until they are
 * answered ({@link #pending()}), so that the reloader removes its route only once they are done.
 */
final class StreamingHttpConsumer extends VertxPlatformHttpConsumer {
    private static final Logger LOG = LoggerFactory.getLogger(StreamingHttpConsumer.class);

    private final RequestObserver observer;
    private final ConsumerHandover handover;
    private final String handoverKey;
    private final AtomicInteger pending = new AtomicInteger();
    /** The route takes multipart/form-data uploads ({@code consumes: multipart/form-data}; Vert.x refuses others). */
    private final boolean takesUploads;

    StreamingHttpConsumer(PlatformHttpEndpoint endpoint, Processor processor, List<Handler<RoutingContext>> handlers,
                          String routerName, ConsumerHandover handover, RequestObserver observer) {
        super(endpoint, processor, handlers, routerName);
        this.handover = handover;
        this.handoverKey = handoverKey(endpoint);
        this.observer = observer;
        this.takesUploads = endpoint.getConsumes() != null && endpoint.getConsumes().contains("multipart/form-data");
    }

    /** Consumers with the same key are generations of one route: same path, methods and content types. */
    static String handoverKey(PlatformHttpEndpoint endpoint) {
        TreeSet<String> methods = new TreeSet<>();
        if (endpoint.getHttpMethodRestrict() != null) {
            for (String m : endpoint.getHttpMethodRestrict().split(",")) {
                methods.add(m.trim().toUpperCase(Locale.ROOT));
            }
        }
        return endpoint.getPath() + (endpoint.isMatchOnUriPrefix() ? "*" : "") + " " + methods + " "
                + endpoint.getConsumes() + " " + endpoint.getProduces();
    }

    /** Requests this consumer accepted that are not answered yet. */
    int pending() {
        return pending.get();
    }

    @Override
    protected void doStart() throws Exception {
        super.doStart();
        handover.started(handoverKey, this);
    }

    @Override
    protected void doStop() throws Exception {
        handover.stopped(handoverKey, this);
        super.doStop();
    }

    /** Suspended (a retired generation): no new requests, while those accepted finish on the running route. */
    @Override
    protected void doSuspend() throws Exception {
        handover.stopped(handoverKey, this);
        super.doSuspend();
    }

    @Override
    protected void doResume() throws Exception {
        super.doResume();
        handover.started(handoverKey, this);
    }

    @Override
    protected void handleRequest(RoutingContext ctx) {
        Admission admission = ctx.get(AdmissionHandler.KEY);
        for (int attempt = 0; attempt < 3; attempt++) {
            StreamingHttpConsumer newest = handover.newest(handoverKey);
            StreamingHttpConsumer target = newest != null ? newest : this;
            if (target.admit()) {
                target.serve(ctx, admission); // the newest generation of this route serves new requests
                return;
            }
            if (newest == null) {
                break;
            }
            // the newest generation was retired meanwhile: look again
        }
        admission.release();
        if (getEndpoint().getCamelContext().isStarted()) {
            ctx.next(); // the route was retired by a reload (not a shutdown): unknown path from now on
            return;
        }
        ErrorResponses.send(ctx.request(), admission.call().requestId(), ErrorCode.SHUTTING_DOWN,
                "The gateway is shutting down; retry the request.");
    }

    /** Counts a request as accepted if this consumer takes requests (checked after counting, for the reloader). */
    private boolean admit() {
        pending.incrementAndGet();
        if (isSuspendingOrSuspended() || !isRunAllowed()) {
            pending.decrementAndGet();
            return false;
        }
        return true;
    }

    /**
     * The message's headers from the request ({@link RequestHeaders}: as platform-http sets them, but never the
     * query's parameters as headers). No body here: the admission read it, and {@link #run} sets it.
     */
    @Override
    protected Future<Void> populateCamelMessage(RoutingContext ctx, Exchange exchange, Message message) {
        RequestHeaders.populate(ctx, message.getHeaders(), exchange, getEndpoint().getHeaderFilterStrategy());
        return Future.succeededFuture();
    }

    /** Routes an admitted request, or answers a refused one. */
    private void serve(RoutingContext ctx, Admission admission) {
        GatewayCall call = admission.call();
        long startNanos = System.nanoTime();
        Exchange exchange = createExchange(false);
        // InOnly: the route's message is the response (steps use getMessage()); with InOut Camel would copy the
        // whole message into a new OUT message at the end of every route, headers included
        exchange.setPattern(ExchangePattern.InOnly);
        call.attachTo(exchange);
        FormUpload upload = admission.upload();
        if (admission.refusal() == null && upload != null && !takesUploads) {
            // (the other way round, Vert.x refuses a request an upload route does not consume before admission)
            admission.refuse(new GatewayException(ErrorCode.INVALID_REQUEST,
                    "This endpoint takes a JSON body, not multipart/form-data."));
        }
        if (admission.refusal() != null) {
            refuse(ctx, exchange, admission, startNanos);
            return;
        }
        if (upload == null) {
            // the body as the admission read it: one array, no copy (null when the request has none)
            run(ctx, exchange, admission, startNanos, admission.body());
            return;
        }
        upload.readModel().onComplete(read -> {
            if (read.succeeded()) {
                run(ctx, exchange, admission, startNanos, upload);
            } else {
                admission.refuse(read.cause() instanceof GatewayException e ? e : new GatewayException(
                        ErrorCode.INVALID_REQUEST, "The upload was not received whole."));
                refuse(ctx, exchange, admission, startNanos);
            }
        });
    }

    /** Runs the route with the request's body: its bytes, or the upload that streams it. */
    private void run(RoutingContext ctx, Exchange exchange, Admission admission, long startNanos, Object body) {
        processHttpRequest(exchange, ctx).onComplete(read -> {
            if (read.failed()) {
                finish(exchange, ctx, admission, read.cause(), startNanos);
                return;
            }
            exchange.getMessage().setBody(body);
            exchange.getMessage().setHeader(HeaderNames.REQUEST_ID, admission.call().requestId());
            try {
                route(exchange, ctx, admission, startNanos);
            } catch (Exception e) {
                finish(exchange, ctx, admission, e, startNanos);
            }
        });
    }

    /**
     * Answers a request refused on its head (or for its body's size). The route runs with its steps skipped
     * ({@link SkipStepsOfRefused}): only its policies, so the refusal is traced like any request, and observers see
     * it like any answered one. Its body was not read, so the connection is closed after the answer (HTTP/1.x).
     */
    private void refuse(RoutingContext ctx, Exchange exchange, Admission admission, long startNanos) {
        GatewayException refusal = admission.refusal();
        closeIfBodyUnread(ctx);
        exchange.setProperty(Exchange.EXCEPTION_CAUGHT, refusal);
        processHttpRequest(exchange, ctx).onComplete(read -> {
            exchange.getMessage().setHeader(Exchange.HTTP_RESPONSE_CODE, refusal.code().status());
            exchange.setProperty(SkipStepsOfRefused.REFUSED, Boolean.TRUE);
            try {
                route(exchange, ctx, admission, startNanos);
            } catch (Exception e) {
                finish(exchange, ctx, admission, e, startNanos);
            }
        });
    }

    /** The request's body is still on the wire, unread: the connection is closed after the answer (HTTP/1.x). */
    private static void closeIfBodyUnread(RoutingContext ctx) {
        if (!ctx.request().isEnded() && ctx.request().version() != HttpVersion.HTTP_2) {
            ctx.response().putHeader(HttpHeaders.CONNECTION, "close");
        }
    }

    private void route(Exchange exchange, RoutingContext ctx, Admission admission, long startNanos) throws Exception {
        createUoW(exchange);
        getAsyncProcessor().process(exchange, doneSync -> finish(exchange, ctx, admission, null, startNanos));
    }

    private void finish(Exchange exchange, RoutingContext ctx, Admission admission, Throwable failure, long startNanos) {
        try {
            if (failure != null) {
                exchange.setException(failure);
            }
            GatewayCall call = admission.call();
            GatewayException refusal = admission.refusal();
            if (admission.upload() != null && !ctx.response().headWritten()) {
                closeIfBodyUnread(ctx); // an upload answered before its end (an error): the rest is not read
            }
            if (refusal != null) {
                ErrorResponses.send(ctx.request(), call.requestId(), refusal.code(), refusal.getMessage());
            } else if (!call.responseStreamed()) {
                ResponseWriter.write(ctx.request(), exchange, call.requestId(), getEndpoint().getHeaderFilterStrategy());
            }
        } catch (RuntimeException e) {
            LOG.error("Writing the response of {} failed", getEndpoint().getPath(), e);
            ctx.response().reset();
        } finally {
            observer.completed(exchange, ctx.response().getStatusCode(), System.nanoTime() - startNanos);
            admission.release();
            if (exchange.getUnitOfWork() != null) {
                doneUoW(exchange);
            }
            releaseExchange(exchange, false);
            pending.decrementAndGet(); // last: the reloader may remove the route once this is 0
        }
    }
}
