package dev.apirouter.http;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import dev.apirouter.config.Settings;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vertx.core.http.HttpServerOptions;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The guard alone, in Netty's embedded channel: HTTP objects in, HTTP objects out, the clock passed by hand. */
class ClientGuardTest {
    static final long TIMEOUT_MS = 1000;
    final ClientConnections connections = new ClientConnections(new Settings.Clients(10, 1 << 20,
            Duration.ofMillis(TIMEOUT_MS), Duration.ofMillis(TIMEOUT_MS), Duration.ofMillis(TIMEOUT_MS)),
            new HttpServerOptions());

    EmbeddedChannel channel(ClientGuard guard) {
        return new EmbeddedChannel(guard);
    }

    static HttpRequest post() {
        return new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/chat/completions");
    }

    static long later() {
        return System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(TIMEOUT_MS + 1);
    }

    static void assertRefused(EmbeddedChannel ch, int status, String code) {
        FullHttpResponse response = ch.readOutbound();
        assertEquals(status, response.status().code());
        assertTrue(response.content().toString(java.nio.charset.StandardCharsets.UTF_8).contains("\"code\":\"" + code + "\""));
        assertEquals("close", response.headers().get("connection"));
        ch.runPendingTasks();
        assertFalse(ch.isOpen(), "closed after the refusal");
    }

    @Test
    void aTransferEncodingOtherThanChunkedIsRefusedAndNeverPassedOn() {
        ClientGuard guard = new ClientGuard(connections, false);
        EmbeddedChannel ch = channel(guard);
        HttpRequest request = post();
        request.headers().set("Transfer-Encoding", "xchunked").set("Content-Length", "5");
        ch.writeInbound(request);
        assertNull(ch.readInbound());
        assertRefused(ch, 400, "invalid_request");
    }

    @Test
    void aBrokenPercentEscapeIs400NotADroppedConnection() {
        EmbeddedChannel ch = channel(new ClientGuard(connections, false));
        ch.writeInbound(new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/v1/%zz?x=%4"));
        assertNull(ch.readInbound());
        assertRefused(ch, 400, "invalid_request");
    }

    @Test
    void aRequestLineTooLongIs414() {
        EmbeddedChannel ch = channel(new ClientGuard(connections, false));
        HttpRequest request = post();
        request.setDecoderResult(DecoderResult.failure(new TooLongHttpLineException("line")));
        ch.writeInbound(request);
        assertRefused(ch, 414, "uri_too_long");
    }

    @Test
    void overTheConnectionLimitTheFirstRequestGets503() {
        EmbeddedChannel ch = channel(new ClientGuard(connections, true));
        ch.writeInbound(post());
        assertRefused(ch, 503, "overloaded");
    }

    @Test
    void aStalledMessagesApiBodyIs408InAnthropicsShape() {
        ClientGuard guard = new ClientGuard(connections, false);
        EmbeddedChannel ch = channel(guard);
        ch.writeInbound(new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/messages?beta=true"));
        guard.sweep(later());
        FullHttpResponse response = ch.readOutbound();
        assertEquals(408, response.status().code());
        assertTrue(response.content().toString(java.nio.charset.StandardCharsets.UTF_8)
                .startsWith("{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\""));
    }

    @Test
    void anUpgradeToH2cIsRemoved() {
        EmbeddedChannel ch = channel(new ClientGuard(connections, false));
        HttpRequest request = post();
        request.headers().set("Upgrade", "h2c").set("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA");
        ch.writeInbound(request);
        HttpRequest passed = ch.readInbound();
        assertNull(passed.headers().get("Upgrade"));
        assertNull(passed.headers().get("HTTP2-Settings"));
    }

    @Test
    void noCompleteHeadInTimeIs408() {
        ClientGuard guard = new ClientGuard(connections, false);
        EmbeddedChannel ch = channel(guard);
        guard.sweep(System.nanoTime());
        assertNull(ch.readOutbound(), "not yet");
        guard.sweep(later());
        assertRefused(ch, 408, "request_timeout");
    }

    @Test
    void aStalledBodyIs408ButARequestBeingAnsweredIsNeverTimedOut() {
        ClientGuard stalled = new ClientGuard(connections, false);
        EmbeddedChannel a = channel(stalled);
        a.writeInbound(post());
        assertEquals(ClientGuard.Phase.BODY, stalled.phase());
        stalled.sweep(later());
        assertRefused(a, 408, "request_timeout");

        ClientGuard answering = new ClientGuard(connections, false);
        EmbeddedChannel b = channel(answering);
        b.writeInbound(post(), LastHttpContent.EMPTY_LAST_CONTENT);
        assertEquals(ClientGuard.Phase.ANSWERING, answering.phase());
        answering.sweep(later() + TimeUnit.HOURS.toNanos(1));
        assertNull(b.readOutbound());
        assertTrue(b.isOpen());
    }

    @Test
    void aKeptAliveConnectionIsClosedSilentlyWhenIdleAnd100ContinueIsNotAnAnswer() {
        ClientGuard guard = new ClientGuard(connections, false);
        EmbeddedChannel ch = channel(guard);
        ch.writeInbound(post());
        ch.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
        assertEquals(ClientGuard.Phase.BODY, guard.phase(), "a 100 Continue does not end the exchange");
        ch.writeInbound(LastHttpContent.EMPTY_LAST_CONTENT);
        ch.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
        assertEquals(ClientGuard.Phase.IDLE, guard.phase());
        ch.readOutbound();
        ch.readOutbound();
        guard.sweep(later());
        ch.runPendingTasks();
        assertFalse(ch.isOpen());
        assertNull(ch.readOutbound(), "idle connections are closed without an answer");
    }
}
