package dev.apirouter.http;

import java.util.List;
import java.util.concurrent.TimeUnit;

import dev.apirouter.call.HeaderNames;
import dev.apirouter.error.ErrorBody;
import dev.apirouter.error.ErrorShape;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpStatusClass;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches one HTTP/1.x client connection, between Netty's codec and Vert.x: what a client may do before its request
 * reaches any route. It answers what the decoder could not read (414, 431, 400: with HTTP/1.1 and the contract's
 * error shape), refuses ambiguous framing ({@code Transfer-Encoding} other than {@code chunked}) and, past the
 * connection limit, answers 503 instead of serving; it removes {@code Upgrade: h2c} (the "h2c smuggling" bypass of
 * ingress path rules); and it keeps the connection's clock, which {@link ClientConnections} reads on a sweep:
 * <ul>
 * <li>no complete first request head within the header timeout: 408, closed;</li>
 * <li>a request body that stalls longer than the body timeout between two reads: 408, closed;</li>
 * <li>keep-alive with no request in progress longer than the idle timeout: closed.</li>
 * </ul>
 * A request that has been read and is being answered (a stream sending tokens, a backend still thinking) is never
 * timed out here: the backend deadlines of its policy govern it. All of it runs on the connection's event loop.
 */
final class ClientGuard extends ChannelDuplexHandler {
    static final String NAME = "apirouter-client-guard";
    private static final Logger LOG = LoggerFactory.getLogger(ClientGuard.class);

    /** What the connection is waiting for. */
    enum Phase {
        /** its first request head */
        HEAD,
        /** the rest of the body of the request being read */
        BODY,
        /** the gateway's answer: no client deadline */
        ANSWERING,
        /** a next request on a kept-alive connection */
        IDLE
    }

    private final ClientConnections connections;
    private final boolean overLimit;
    private ChannelHandlerContext ctx;
    private Phase phase = Phase.HEAD;
    private long sinceNanos = System.nanoTime();
    private int unanswered;
    private boolean refused;
    /** The error shape of the request being read (its path's API); the OpenAI shape before any. */
    private ErrorShape shape = ErrorShape.OPENAI;

    ClientGuard(ClientConnections connections, boolean overLimit) {
        this.connections = connections;
        this.overLimit = overLimit;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    Phase phase() {
        return phase;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (refused) {
            ReferenceCountUtil.release(msg); // the rest of a refused request: read and dropped until the close
            return;
        }
        if (msg instanceof HttpRequest request) {
            shape = ErrorShape.forPath(PercentEncoding.rawPath(request.uri()));
            GatewayException refusal = refusal(request);
            if (refusal != null) {
                ReferenceCountUtil.release(msg);
                refuse(refusal.code(), refusal.getMessage());
                return;
            }
            unanswered++;
            phase = Phase.BODY;
            sinceNanos = System.nanoTime();
        } else if (msg instanceof HttpContent) {
            sinceNanos = System.nanoTime();
        }
        if (msg instanceof LastHttpContent && phase == Phase.BODY) {
            phase = Phase.ANSWERING;
        }
        ctx.fireChannelRead(msg);
    }

    /** Why this request head is refused before anything else sees it, or null. */
    private GatewayException refusal(HttpRequest request) {
        if (overLimit) {
            return new GatewayException(ErrorCode.OVERLOADED, "The gateway is at its limit of "
                    + connections.maxConnections() + " client connections; retry shortly.");
        }
        if (request.decoderResult().isFailure()) {
            return malformed(request.decoderResult().cause());
        }
        if (!PercentEncoding.valid(request.uri())) {
            return new GatewayException(ErrorCode.INVALID_REQUEST, PercentEncoding.MESSAGE);
        }
        List<String> encodings = request.headers().getAll(HttpHeaderNames.TRANSFER_ENCODING);
        if (!encodings.isEmpty() && (encodings.size() > 1
                || !HttpHeaderValues.CHUNKED.contentEqualsIgnoreCase(encodings.get(0).trim()))) {
            return new GatewayException(ErrorCode.INVALID_REQUEST, "Transfer-Encoding must be 'chunked' alone.");
        }
        String upgrade = request.headers().get(HttpHeaderNames.UPGRADE);
        if (upgrade != null && upgrade.toLowerCase(java.util.Locale.ROOT).contains("h2c")) {
            request.headers().remove(HttpHeaderNames.UPGRADE).remove("HTTP2-Settings");
        }
        return null;
    }

    /** A request the decoder could not read: its line or headers too long, or its framing ambiguous or broken. */
    static GatewayException malformed(Throwable cause) {
        if (cause instanceof TooLongHttpLineException) {
            return new GatewayException(ErrorCode.URI_TOO_LONG,
                    "The request line is longer than " + GatewayHttpServer.MAX_REQUEST_LINE_BYTES + " bytes.");
        }
        if (cause instanceof TooLongHttpHeaderException) {
            return new GatewayException(ErrorCode.HEADERS_TOO_LARGE, "The request headers are too large.");
        }
        if (cause != null && StrictRequestDecoder.AMBIGUOUS_FRAMING.equals(cause.getMessage())) {
            return new GatewayException(ErrorCode.INVALID_REQUEST,
                    "The request has both Content-Length and Transfer-Encoding: its framing is ambiguous.");
        }
        return new GatewayException(ErrorCode.INVALID_REQUEST, "The request is malformed (bad request line or header).");
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof LastHttpContent && !(msg instanceof HttpResponse response
                && response.status().codeClass() == HttpStatusClass.INFORMATIONAL)) {
            unanswered = Math.max(0, unanswered - 1);
            if (unanswered == 0) {
                phase = Phase.IDLE;
                sinceNanos = System.nanoTime();
            }
        }
        ctx.write(msg, promise);
    }

    /** Applies the connection's deadline, if it is past; called on the connection's event loop. */
    void sweep(long nowNanos) {
        if (refused) {
            return;
        }
        long waitedMs = TimeUnit.NANOSECONDS.toMillis(nowNanos - sinceNanos);
        switch (phase) {
            case HEAD -> {
                if (waitedMs >= connections.limits().headerTimeout().toMillis()) {
                    LOG.debug("Client {}: no complete request head within {} ms; closing", ctx.channel().remoteAddress(), waitedMs);
                    refuse(ErrorCode.REQUEST_TIMEOUT, "No complete request head arrived within "
                            + connections.limits().headerTimeout().toMillis() + " ms.");
                }
            }
            case BODY -> {
                // only the request being read counts: a pipelined one waits behind an answer, unread on purpose
                if (unanswered == 1 && waitedMs >= connections.limits().bodyTimeout().toMillis()) {
                    LOG.debug("Client {}: request body stalled for {} ms; closing", ctx.channel().remoteAddress(), waitedMs);
                    refuse(ErrorCode.REQUEST_TIMEOUT, "The request body stalled for more than "
                            + connections.limits().bodyTimeout().toMillis() + " ms.");
                }
            }
            case IDLE -> {
                if (waitedMs >= connections.limits().idleTimeout().toMillis()) {
                    refused = true;
                    ctx.close();
                }
            }
            case ANSWERING -> {
                // governed by the policy's backend deadlines
            }
        }
    }

    /** Answers with an error of the contract's shape, straight through the encoder, and closes the connection. */
    private void refuse(ErrorCode code, String message) {
        refused = true;
        FullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.valueOf(code.status()), Unpooled.wrappedBuffer(ErrorBody.of(shape, code, message)));
        response.headers()
                .set(HttpHeaderNames.CONTENT_TYPE, ErrorBody.CONTENT_TYPE)
                .set(HttpHeaderNames.CONTENT_LENGTH, response.content().readableBytes())
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE)
                .set(HeaderNames.REQUEST_ID, RequestIds.from(null));
        ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
    }
}
