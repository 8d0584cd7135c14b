package dev.apirouter.upload;

import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.atomic.AtomicLong;

import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import io.vertx.core.AsyncResult;
import io.vertx.core.Future;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.core.streams.WriteStream;
import org.junit.jupiter.api.Test;

import static dev.apirouter.upload.ModelFieldScannerTest.B;
import static dev.apirouter.upload.ModelFieldScannerTest.END;
import static dev.apirouter.upload.ModelFieldScannerTest.field;
import static dev.apirouter.upload.ModelFieldScannerTest.file;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FormUploadTest {
    /** A client body: chunks are delivered at once unless paused, then when resumed. */
    static final class Client implements ReadStream<Buffer> {
        private final Deque<Object> pending = new ArrayDeque<>();
        private Handler<Buffer> handler;
        private Handler<Void> endHandler;
        private Handler<Throwable> exceptionHandler;
        boolean paused = true;

        void send(String chunk) {
            pending.add(Buffer.buffer(chunk));
            deliver();
        }

        void end() {
            pending.add("end");
            deliver();
        }

        void fail(Throwable t) {
            exceptionHandler.handle(t);
        }

        private void deliver() {
            while (!paused && !pending.isEmpty()) {
                Object next = pending.poll();
                if (next instanceof Buffer b) {
                    handler.handle(b);
                } else {
                    endHandler.handle(null);
                }
            }
        }

        @Override
        public ReadStream<Buffer> exceptionHandler(Handler<Throwable> h) {
            exceptionHandler = h;
            return this;
        }

        @Override
        public ReadStream<Buffer> handler(Handler<Buffer> h) {
            handler = h;
            return this;
        }

        @Override
        public ReadStream<Buffer> pause() {
            paused = true;
            return this;
        }

        @Override
        public ReadStream<Buffer> resume() {
            paused = false;
            deliver();
            return this;
        }

        @Override
        public ReadStream<Buffer> fetch(long amount) {
            return resume();
        }

        @Override
        public ReadStream<Buffer> endHandler(Handler<Void> h) {
            endHandler = h;
            return this;
        }
    }

    /** The backend's side: collects what is written; its queue is full while told so. */
    static final class Sink implements WriteStream<Buffer> {
        final Buffer written = Buffer.buffer();
        boolean ended;
        boolean full;
        Handler<Void> drain;

        void drained() {
            full = false;
            Handler<Void> h = drain;
            drain = null;
            h.handle(null);
        }

        @Override
        public Future<Void> write(Buffer data) {
            written.appendBuffer(data);
            return Future.succeededFuture();
        }

        @Override
        public void write(Buffer data, Handler<AsyncResult<Void>> handler) {
            write(data);
        }

        @Override
        public void end(Handler<AsyncResult<Void>> handler) {
            ended = true;
        }

        @Override
        public WriteStream<Buffer> exceptionHandler(Handler<Throwable> handler) {
            return this;
        }

        @Override
        public WriteStream<Buffer> setWriteQueueMaxSize(int maxSize) {
            return this;
        }

        @Override
        public boolean writeQueueFull() {
            return full;
        }

        @Override
        public WriteStream<Buffer> drainHandler(Handler<Void> handler) {
            drain = handler;
            return this;
        }
    }

    /** A budget of {@code limit} bytes; counts what is reserved now and the most ever reserved. */
    static final class Budget implements HeldBytes {
        final long limit;
        final AtomicLong reserved = new AtomicLong();
        final AtomicLong peak = new AtomicLong();

        Budget(long limit) {
            this.limit = limit;
        }

        @Override
        public boolean reserve(long bytes) {
            if (reserved.get() + bytes > limit) {
                return false;
            }
            peak.accumulateAndGet(reserved.addAndGet(bytes), Math::max);
            return true;
        }

        @Override
        public void unreserve(long bytes) {
            reserved.addAndGet(-bytes);
        }
    }

    final Client client = new Client();
    Budget budget;

    FormUpload upload(long declared, long maxBytes, long maxHeld, long limit) {
        budget = new Budget(limit);
        return new FormUpload(client, B, declared, maxBytes, maxHeld, budget);
    }

    static int length(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }

    @Test
    void theModelIsReadThenTheBodyStreamsWithTheModelReplaced() {
        String head = field("model", "whisper") + "--" + B;
        String rest = "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nAUDIO\r\n" + END;
        FormUpload upload = upload(length(head + rest), 1000, 500, 1 << 20);
        Future<String> model = upload.readModel();
        client.send(head);
        assertEquals("whisper", model.result());
        assertTrue(client.paused, "paused until the backend is chosen");
        client.send(rest.substring(0, 10)); // queued: the client is paused
        upload.sendModel("openai/whisper-large-v3");
        assertEquals(length(head + rest) + "openai/whisper-large-v3".length() - "whisper".length(), upload.length());
        Sink sink = new Sink();
        Future<Void> piped = upload.pipeTo(sink);
        assertTrue(upload.started());
        client.send(rest.substring(10));
        assertFalse(piped.isComplete());
        client.end();
        assertTrue(piped.succeeded());
        assertTrue(sink.ended);
        assertEquals((head + rest).replace("whisper", "openai/whisper-large-v3"), sink.written.toString());
        assertEquals(length(head + rest), upload.received());
        assertEquals(FormUpload.RESERVE_STEP, budget.peak.get(), "only the held bytes were reserved");
        assertEquals(0, budget.reserved.get(), "and given back once sent");
    }

    @Test
    void aModelAfterTheFileIsFoundAndTheFileHeldUntilThen() {
        String body = file("x".repeat(3000)) + field("model", "m") + END;
        FormUpload upload = upload(-1, 10_000, 5000, 1 << 20);
        Future<String> model = upload.readModel();
        for (int i = 0; i < body.length(); i += 100) {
            client.send(body.substring(i, Math.min(body.length(), i + 100)));
        }
        client.end();
        assertEquals("m", model.result());
        upload.sendModel("m");
        assertEquals(-1, upload.length(), "chunked: the length is not known");
        Sink sink = new Sink();
        assertTrue(upload.pipeTo(sink).succeeded());
        assertEquals(body, sink.written.toString());
        assertTrue(sink.ended);
    }

    @Test
    void aModelPastTheHeldLimitIsABadRequest() {
        FormUpload upload = upload(-1, 100_000, 2000, 1 << 20);
        Future<String> model = upload.readModel();
        client.send(file("x".repeat(3000)));
        assertEquals(ErrorCode.INVALID_REQUEST, ((GatewayException) model.cause()).code());
        assertTrue(model.cause().getMessage().contains("send the 'model' field before the file"));
    }

    @Test
    void aChunkedUploadOverTheLimitFailsWhileStreaming() {
        FormUpload upload = upload(-1, 1000, 500, 1 << 20);
        upload.readModel();
        client.send(field("model", "m") + "--" + B);
        upload.sendModel("m");
        Sink sink = new Sink();
        Future<Void> piped = upload.pipeTo(sink);
        client.send("\r\n\r\n" + "y".repeat(1000));
        assertEquals(ErrorCode.REQUEST_TOO_LARGE, ((GatewayException) piped.cause()).code());
        assertFalse(sink.ended);
    }

    @Test
    void theClientIsPausedWhileTheBackendsQueueIsFull() {
        FormUpload upload = upload(-1, 100_000, 500, 1 << 20);
        upload.readModel();
        client.send(field("model", "m") + "--" + B);
        Sink sink = new Sink();
        upload.pipeTo(sink);
        sink.full = true;
        client.send("\r\n\r\nfirst");
        assertTrue(client.paused);
        client.send("second");
        assertFalse(sink.written.toString().contains("second"));
        sink.drained();
        assertFalse(client.paused);
        assertTrue(sink.written.toString().endsWith("firstsecond"));
    }

    @Test
    void noRoomInTheBudgetIsOverloadedAndABrokenClientFailsTheSend() {
        FormUpload refused = upload(-1, 100_000, 50_000, FormUpload.RESERVE_STEP);
        Future<String> model = refused.readModel();
        client.send(file("z".repeat(FormUpload.RESERVE_STEP + 10)));
        assertEquals(ErrorCode.OVERLOADED, ((GatewayException) model.cause()).code());
        assertEquals(0, budget.reserved.get(), "a refused upload gives back what it reserved");

        Client other = new Client();
        FormUpload upload = new FormUpload(other, B, -1, 100_000, 500, new Budget(1 << 20));
        upload.readModel();
        other.send(field("model", "m") + "--" + B);
        Future<Void> piped = upload.pipeTo(new Sink());
        other.fail(new IllegalStateException("connection reset"));
        assertEquals("connection reset", piped.cause().getMessage());
    }

    @Test
    void aSecondModelFieldFailsTheUploadHeldOrStreamed() {
        FormUpload held = upload(-1, 100_000, 5000, 1 << 20);
        held.readModel();
        client.send(field("model", "m") + field("model", "other") + END);
        Sink untouched = new Sink();
        Future<Void> refused = held.pipeTo(untouched);
        assertEquals(ErrorCode.INVALID_REQUEST, ((GatewayException) refused.cause()).code());
        assertEquals(0, untouched.written.length(), "nothing was sent");

        Client other = new Client();
        FormUpload streamed = new FormUpload(other, B, -1, 100_000, 500, new Budget(1 << 20));
        streamed.readModel();
        other.send(field("model", "m") + "--" + B);
        Sink sink = new Sink();
        Future<Void> piped = streamed.pipeTo(sink);
        other.send("\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n" + "x".repeat(2000));
        other.send("\r\n" + field("model", "other").substring(0, 20));
        assertFalse(piped.isComplete());
        other.send(field("model", "other").substring(20) + END);
        assertTrue(piped.cause().getMessage().contains("more than one 'model'"), String.valueOf(piped.cause()));
        assertFalse(sink.written.toString().contains("other"), "the chunk with the second model is not sent");
    }
}
