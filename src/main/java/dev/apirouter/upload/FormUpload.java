package dev.apirouter.upload;

import java.nio.charset.StandardCharsets;

import dev.apirouter.call.StreamedBody;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.ReadStream;
import io.vertx.core.streams.WriteStream;

/**
 * A {@code multipart/form-data} upload streamed from the client to the backend. First {@link #readModel()} reads the
 * body's leading bytes until its {@code model} field is whole ({@link ModelFieldScanner}), holding them — the form
 * fields before the model, and, when the client sends the file first, the file's bytes so far: at most
 * {@code maxHeld} bytes, each step reserved in the gateway's budget of buffered bodies until they are sent; a model
 * further in is a {@code 400}. Then the client is paused until {@link #pipeTo} sends the bytes held (the model value replaced when
 * the policy says so) and everything after them as it arrives, the client paused whenever the backend's write queue
 * is full. The whole body counts against the upload limit, declared or not (a chunked body is cut at the limit). As
 * it streams past, the scanner watches its part headers: a second model field fails the upload (400).
 * All of it runs on the request's event loop.
 */
public final class FormUpload implements StreamedBody {
    /** The held bytes are reserved in the budget in steps of this many bytes. */
    static final int RESERVE_STEP = 64 * 1024;

    private final ReadStream<Buffer> client;
    private final ModelFieldScanner scanner;
    private final long declaredLength;
    private final long maxBytes;
    private final long maxHeld;
    private final HeldBytes budget;
    private final Promise<String> modelRead = Promise.promise();
    private Buffer held = Buffer.buffer();
    /** Once the body is being sent: the bytes after the model field not scanned yet. */
    private Buffer window;
    private long reserved;
    private long received;
    private boolean ended;
    private boolean abandoned;
    private Throwable failure;
    private byte[] replacement;
    private WriteStream<Buffer> sink;
    private Promise<Void> piped;

    /**
     * @param client         the request body, paused
     * @param boundary       the form's boundary ({@link ModelFieldScanner#boundary})
     * @param declaredLength the body's Content-Length, -1 when it is sent chunked
     * @param maxBytes       the upload limit: a larger body is refused with 413
     * @param maxHeld        the most bytes held before the model field is whole
     * @param budget         where the bytes held are counted, from the first until they are sent
     */
    public FormUpload(ReadStream<Buffer> client, String boundary, long declaredLength, long maxBytes, long maxHeld,
                      HeldBytes budget) {
        this.client = client;
        this.scanner = new ModelFieldScanner(boundary);
        this.declaredLength = declaredLength;
        this.maxBytes = maxBytes;
        this.maxHeld = maxHeld;
        this.budget = budget;
    }

    /** The refusal of an upload over the limit. */
    public static GatewayException tooLarge(long maxBytes) {
        return new GatewayException(ErrorCode.REQUEST_TOO_LARGE,
                "The upload is larger than the limit of " + maxBytes + " bytes.");
    }

    /** Reads the body until its model field is whole; fails with a {@link GatewayException} (400, 413, 503). */
    public Future<String> readModel() {
        client.handler(this::arrived).exceptionHandler(this::broken).endHandler(v -> clientEnded());
        client.resume();
        return modelRead.future();
    }

    @Override
    public String model() {
        return scanner.model();
    }

    @Override
    public void sendModel(String model) {
        this.replacement = model.equals(scanner.model()) ? null : model.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public long length() {
        if (declaredLength < 0) {
            return -1;
        }
        return replacement == null ? declaredLength
                : declaredLength - (scanner.modelEnd() - scanner.modelStart()) + replacement.length;
    }

    @Override
    public long received() {
        return received;
    }

    @Override
    public boolean started() {
        return piped != null;
    }

    @Override
    public Future<Void> pipeTo(WriteStream<Buffer> upstream) {
        if (piped != null) {
            return Future.failedFuture(new IllegalStateException("An upload is sent once"));
        }
        piped = Promise.promise();
        Buffer head = withModelReplaced();
        window = held;
        held = null;
        if (failure == null) {
            watch(null); // the bytes held after the model field
        }
        if (failure != null) {
            piped.tryFail(failure);
            return piped.future();
        }
        upstream.write(head);
        unreserve(); // handed over to the connection: held no more
        if (ended) {
            upstream.end();
            piped.tryComplete();
        } else {
            sink = upstream;
            if (upstream.writeQueueFull()) {
                upstream.drainHandler(v -> client.resume());
            } else {
                client.resume();
            }
        }
        return piped.future();
    }

    @Override
    public void abandon() {
        sink = null;
        fail(new IllegalStateException("The upload was abandoned"));
    }

    private Buffer withModelReplaced() {
        if (replacement == null) {
            return held;
        }
        int start = scanner.modelStart();
        int end = scanner.modelEnd();
        return Buffer.buffer(held.length() - (end - start) + replacement.length)
                .appendBuffer(held, 0, start)
                .appendBytes(replacement)
                .appendBuffer(held, end, held.length() - end);
    }

    private void arrived(Buffer chunk) {
        if (abandoned) {
            return; // the rest of a refused body: dropped until the connection closes
        }
        received += chunk.length();
        if (received > maxBytes) {
            fail(tooLarge(maxBytes));
            return;
        }
        if (sink != null) {
            if (!watch(chunk)) {
                return;
            }
            sink.write(chunk);
            if (sink.writeQueueFull()) {
                client.pause();
                sink.drainHandler(v -> client.resume());
            }
            return;
        }
        held.appendBuffer(chunk);
        if (modelRead.future().isComplete()) {
            return; // arrived after the model, before the send: sent with the held bytes
        }
        scan(false);
    }

    /**
     * Scans what streams past after the model field, keeping only the bytes the scan still needs (a boundary or a part's
     * headers cut by a chunk's end); false when the form turns out to have a second model field.
     */
    private boolean watch(Buffer chunk) {
        if (chunk != null) {
            window.appendBuffer(chunk);
        }
        try {
            scanner.scan(window, false);
        } catch (GatewayException e) {
            fail(e);
            return false;
        }
        int done = scanner.position();
        if (done > 0) {
            window = window.getBuffer(done, window.length());
            scanner.discard(done);
        }
        return true;
    }

    private void scan(boolean whole) {
        try {
            while (reserved < held.length()) {
                if (!budget.reserve(RESERVE_STEP)) {
                    fail(new GatewayException(ErrorCode.OVERLOADED,
                            "The gateway holds as many request bodies in memory as it may; retry shortly."));
                    return;
                }
                reserved += RESERVE_STEP;
            }
            if (scanner.scan(held, whole)) {
                client.pause();
                modelRead.tryComplete(scanner.model());
            } else if (held.length() > maxHeld) {
                fail(ModelFieldScanner.invalid("The form has no 'model' field within its first " + maxHeld
                        + " bytes: send the 'model' field before the file."));
            }
        } catch (GatewayException e) {
            fail(e);
        }
    }

    private void unreserve() {
        budget.unreserve(reserved);
        reserved = 0;
    }

    private void clientEnded() {
        ended = true;
        if (abandoned) {
            return;
        }
        if (sink != null) {
            sink.end();
            piped.tryComplete();
        } else if (!modelRead.future().isComplete()) {
            scan(true);
        }
    }

    private void broken(Throwable cause) {
        fail(cause);
    }

    private void fail(Throwable cause) {
        if (abandoned) {
            return;
        }
        abandoned = true;
        failure = cause;
        held = null;
        window = null;
        unreserve();
        if (!modelRead.tryFail(cause) && piped != null) {
            piped.tryFail(cause);
        }
    }
}
