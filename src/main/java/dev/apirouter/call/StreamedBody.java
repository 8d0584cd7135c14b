package dev.apirouter.call;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.streams.WriteStream;

/**
 * A request body that is streamed from the client to the backend as it arrives, never held whole: an upload. It
 * names its model in its leading bytes, which the gateway holds until it has read them; the rest passes through.
 * It can be sent once: a backend attempt that has {@link #started()} it cannot be retried elsewhere.
 */
public interface StreamedBody {
    /** The model the body names. */
    String model();

    /** The backend gets {@code model} in place of the one the client named; before {@link #pipeTo} only. */
    void sendModel(String model);

    /** The length of the body as it will be sent (model replaced), -1 when unknown (the client sends it chunked). */
    long length();

    /** Bytes the client has sent so far. */
    long received();

    /** Whether sending has begun: the body cannot be sent again. */
    boolean started();

    /**
     * Writes the body to {@code upstream}: the bytes held, then the rest as the client sends it, the client paused
     * while {@code upstream}'s write queue is full; {@code upstream} is ended after the last byte. The future fails
     * when the client's body breaks off, or (a {@code GatewayException}) goes over the upload limit.
     */
    Future<Void> pipeTo(WriteStream<Buffer> upstream);

    /** Stops reading the client's body: what is left of it is not sent anywhere. */
    void abandon();
}
