package dev.apirouter.steps;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.List;

import dev.apirouter.auth.ApiKeys;
import dev.apirouter.auth.KeyAuthorizer;
import dev.apirouter.call.GatewayCall;
import dev.apirouter.call.StreamedBody;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.PolicyView;
import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.WriteStream;
import org.apache.camel.Exchange;
import org.junit.jupiter.api.Test;

import static dev.apirouter.steps.Fixtures.assertRefused;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

class PolicyEnrichTest {
    private final PolicyView view = Fixtures.view();
    private final PolicyEnrich step = new PolicyEnrich(new KeyAuthorizer(Clock.systemUTC()),
            Fixtures.router());

    private Exchange request(String key, Object body) {
        Exchange exchange = Fixtures.exchange();
        GatewayCall.of(exchange).authenticated(view, view.key(ApiKeys.sha256Hex(key)).orElseThrow());
        exchange.getMessage().setBody(body);
        return exchange;
    }

    @Test
    void theCallGetsTheModelsPolicyBackendsAndRewrittenBody() {
        Exchange exchange = request(Fixtures.KEY, Fixtures.utf8("{\"model\":\"m\",\"stream\":true}"));
        step.process(exchange);
        GatewayCall call = GatewayCall.of(exchange);
        assertEquals("m", call.inferenceRequest().model());
        assertEquals(true, call.inferenceRequest().stream());
        assertEquals("m", call.modelPolicy().name());
        assertEquals(List.of("http://b1:1", "http://b2:1"), call.candidates().stream().map(Backend::url).sorted().toList());
        assertEquals("{\"model\":\"up/m\",\"stream\":true}", new String(call.upstreamBody(), StandardCharsets.UTF_8));
    }

    @Test
    void aModelWithoutRewriteSendsTheBodyAsItCame() {
        byte[] body = Fixtures.utf8("{\"model\":\"other\"}");
        Exchange exchange = request(Fixtures.KEY, Buffer.buffer(body));
        step.process(exchange);
        assertEquals("{\"model\":\"other\"}", new String(GatewayCall.of(exchange).upstreamBody(), StandardCharsets.UTF_8));
    }

    /** An upload whose form named {@code model}; nothing of it is read by the step. */
    record Upload(String model) implements StreamedBody {
        @Override
        public void sendModel(String model) {
            throw new AssertionError("the dispatch replaces the model, not policy-enrich");
        }

        @Override
        public long length() {
            return -1;
        }

        @Override
        public long received() {
            return 0;
        }

        @Override
        public boolean started() {
            return false;
        }

        @Override
        public Future<Void> pipeTo(WriteStream<Buffer> upstream) {
            throw new AssertionError("not sent by policy-enrich");
        }

        @Override
        public void abandon() {
        }
    }

    @Test
    void anUploadIsEnrichedByItsFormsModelAndStreamedAsItIs() {
        Upload upload = new Upload("m");
        Exchange exchange = request(Fixtures.KEY, upload);
        step.process(exchange);
        GatewayCall call = GatewayCall.of(exchange);
        assertEquals("m", call.inferenceRequest().model());
        assertEquals("m", call.modelPolicy().name());
        assertSame(upload, call.streamedBody());
        assertEquals(0, call.upstreamBody().length, "no body held");
        assertRefused(ErrorCode.MODEL_NOT_ALLOWED, () -> step.process(request(Fixtures.LIMITED, new Upload("other"))));
        assertRefused(ErrorCode.MODEL_NOT_FOUND, () -> step.process(request(Fixtures.KEY, new Upload("absent"))));
        assertNull(GatewayCall.of(request(Fixtures.KEY, Fixtures.utf8("{\"model\":\"m\"}"))).streamedBody());
    }

    @Test
    void refusals() {
        assertRefused(ErrorCode.MODEL_NOT_ALLOWED, () -> step.process(request(Fixtures.LIMITED, Fixtures.utf8("{\"model\":\"other\"}"))));
        assertRefused(ErrorCode.MODEL_NOT_FOUND, () -> step.process(request(Fixtures.KEY, Fixtures.utf8("{\"model\":\"absent\"}"))));
        assertRefused(ErrorCode.INVALID_REQUEST, () -> step.process(request(Fixtures.KEY, Fixtures.utf8("{\"model\""))));
        assertRefused(ErrorCode.INVALID_REQUEST, () -> step.process(request(Fixtures.KEY, null)));
    }

    @Test
    void aRefusedRequestLeavesTheCallUnenriched() {
        Exchange exchange = request(Fixtures.KEY, Fixtures.utf8("{\"model\":\"absent\"}"));
        assertRefused(ErrorCode.MODEL_NOT_FOUND, () -> step.process(exchange));
        assertNull(GatewayCall.of(exchange).modelPolicy());
    }
}
