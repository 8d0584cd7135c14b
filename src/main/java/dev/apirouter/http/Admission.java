package dev.apirouter.http;

import dev.apirouter.call.GatewayCall;
import dev.apirouter.error.GatewayException;
import dev.apirouter.upload.FormUpload;
import dev.apirouter.upload.HeldBytes;

/**
 * What a request holds of the gateway from its admission to its answer: one place in the in-flight limit and the
 * body bytes it keeps in memory, its {@link GatewayCall} (created on the head, what the head check found recorded on
 * it) and its body once read — or, for a multipart/form-data upload, the {@link FormUpload} that streams it. Released
 * once, when the request is answered or abandoned.
 */
final class Admission implements HeldBytes {
    private final InflightLimiter limiter;
    private final BodyBudget budget;
    private final boolean holdsPlace;
    private final GatewayCall call;
    private long reservedBytes;
    private boolean released;
    private GatewayException refusal;
    private byte[] body;
    private FormUpload upload;

    private Admission(InflightLimiter limiter, BodyBudget budget, boolean holdsPlace, GatewayCall call) {
        this.limiter = limiter;
        this.budget = budget;
        this.holdsPlace = holdsPlace;
        this.call = call;
    }

    /** A request with a place in the in-flight limit. */
    static Admission admitted(InflightLimiter limiter, BodyBudget budget, GatewayCall call) {
        return new Admission(limiter, budget, true, call);
    }

    /** A request refused before it got anything: the route answers it with {@code refusal}. */
    static Admission refused(InflightLimiter limiter, BodyBudget budget, GatewayCall call, GatewayException refusal) {
        Admission admission = new Admission(limiter, budget, false, call);
        admission.refusal = refusal;
        return admission;
    }

    void refuse(GatewayException e) {
        this.refusal = e;
    }

    GatewayException refusal() {
        return refusal;
    }

    GatewayCall call() {
        return call;
    }

    @Override
    public boolean reserve(long bytes) {
        if (!budget.tryReserve(bytes)) {
            return false;
        }
        reservedBytes += bytes;
        return true;
    }

    /** Gives back {@code bytes} reserved before (an upload sent the bytes it held). */
    @Override
    public void unreserve(long bytes) {
        long given = Math.min(bytes, reservedBytes);
        budget.release(given);
        reservedBytes -= given;
    }

    void body(byte[] body) {
        this.body = body;
    }

    /** The request body as read (null: the request has none). */
    byte[] body() {
        return body;
    }

    void upload(FormUpload upload) {
        this.upload = upload;
    }

    /** The upload, when the request is one (its body is then streamed, not read); else null. */
    FormUpload upload() {
        return upload;
    }

    void release() {
        if (released) {
            return;
        }
        released = true;
        if (holdsPlace) {
            limiter.release();
        }
        budget.release(reservedBytes);
        reservedBytes = 0;
        body = null;
        if (upload != null) {
            upload.abandon(); // a no-op once its body has been sent whole
        }
    }
}
