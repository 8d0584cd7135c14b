package dev.apirouter.http;

import java.util.Arrays;

import dev.apirouter.call.GatewayCall;
import dev.apirouter.call.HeaderNames;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.upload.FormUpload;
import dev.apirouter.upload.ModelFieldScanner;
import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.ext.web.RoutingContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first handler of every API route, in place of Vert.x's body handler: a request is admitted on its head alone —
 * a place in the in-flight limit, the {@link HeadCheck} (policy loaded, key valid) when it carries a body, its
 * declared size under the body limit and under the budget of body bytes all requests may hold — and only then is its
 * body read, into one array of its declared size. The request's {@link GatewayCall} is created here, on its head:
 * the head check records on it what it found. A refused request's body is never read: the route answers it at once
 * (with the connection closed, since its body is still on the wire). The answer, refused or not, is the route's to write
 * ({@link StreamingHttpConsumer}), which also releases the {@link Admission}.
 * <p>
 * A {@code multipart/form-data} request (an upload) is admitted the same way on its head, under the upload limit
 * instead of the body limit and without a reservation in the budget; its body is not read here: it gets a
 * {@link FormUpload}, which the route's consumer uses to read the form's model field and which then streams the body
 * to the backend.
 */
final class AdmissionHandler implements Handler<RoutingContext> {
    static final String KEY = "apirouter.admission";
    /** A body of unknown length (chunked, HTTP/2) reserves its budget in steps of this many bytes. */
    static final int RESERVE_STEP = 64 * 1024;
    private static final Logger LOG = LoggerFactory.getLogger(AdmissionHandler.class);

    private final InflightLimiter limiter;
    private final BodyBudget budget;
    private final long maxBodyBytes;
    private final long maxUploadBytes;
    private final HeadCheck check;

    AdmissionHandler(InflightLimiter limiter, BodyBudget budget, long maxBodyBytes, long maxUploadBytes,
                     HeadCheck check) {
        this.limiter = limiter;
        this.budget = budget;
        this.maxBodyBytes = maxBodyBytes;
        this.maxUploadBytes = maxUploadBytes;
        this.check = check;
    }

    @Override
    public void handle(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        long length = declaredLength(request);
        GatewayCall call = new GatewayCall(RequestIds.from(request.getHeader(HeaderNames.REQUEST_ID)),
                request.response(), ctx.vertx().getOrCreateContext());
        String contentType = request.getHeader(HttpHeaders.CONTENT_TYPE);
        boolean upload = ModelFieldScanner.isMultipartForm(contentType);
        Admission admission = admit(request, length, call, upload);
        ctx.put(KEY, admission);
        if (admission.refusal() != null || request.isEnded()) {
            ctx.next();
            return;
        }
        if (upload) {
            try {
                admission.upload(new FormUpload(request, ModelFieldScanner.boundary(contentType), length,
                        maxUploadBytes, maxBodyBytes, admission));
            } catch (GatewayException e) {
                admission.refuse(e);
                ctx.next();
                return;
            }
        }
        if (request.version() != HttpVersion.HTTP_1_0 && "100-continue".equalsIgnoreCase(request.getHeader(HttpHeaders.EXPECT))) {
            request.response().writeContinue();
        }
        if (upload) {
            ctx.next(); // the route's consumer reads the form's model field, then streams the body
        } else {
            new BodyRead(ctx, admission, length).start();
        }
    }

    private Admission admit(HttpServerRequest request, long length, GatewayCall call, boolean upload) {
        if (!limiter.tryAcquire()) {
            return Admission.refused(limiter, budget, call, new GatewayException(ErrorCode.OVERLOADED,
                    "The gateway is at its limit of " + limiter.limit() + " requests in flight; retry shortly."));
        }
        Admission admission = Admission.admitted(limiter, budget, call);
        if (hasBody(request, length)) {
            try {
                check.check(request, call);
            } catch (GatewayException e) {
                admission.refuse(e);
                return admission;
            }
        }
        if (upload) {
            if (length > maxUploadBytes) {
                admission.refuse(FormUpload.tooLarge(maxUploadBytes));
            } else if (length == 0 || request.isEnded()) {
                admission.refuse(new GatewayException(ErrorCode.INVALID_REQUEST, "The multipart form is empty."));
            }
        } else if (length > maxBodyBytes) {
            admission.refuse(tooLarge());
        } else if (length > 0 && !admission.reserve(length)) {
            admission.refuse(bodiesAtLimit());
        }
        return admission;
    }

    /**
     * A request that carries a body is checked on its head, whatever its route: no unauthenticated client gets a
     * byte of body read. One without a body (a GET) costs nothing to hold, and is left to its route's steps: an
     * integrator's route without {@code auth-validate} can serve it without a key.
     */
    private static boolean hasBody(HttpServerRequest request, long length) {
        return length > 0 || length < 0 && !request.isEnded()
                && (request.headers().contains(HttpHeaders.TRANSFER_ENCODING) || request.version() == HttpVersion.HTTP_2);
    }

    /** The body's declared length; -1 when it comes chunked or as HTTP/2 frames (length unknown until the end). */
    private static long declaredLength(HttpServerRequest request) {
        String value = request.getHeader(HttpHeaders.CONTENT_LENGTH);
        if (value == null) {
            return -1;
        }
        try {
            return Long.parseLong(value.trim()); // the decoder has refused anything but one non-negative number
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private GatewayException tooLarge() {
        return new GatewayException(ErrorCode.REQUEST_TOO_LARGE,
                "The request body is larger than the limit of " + maxBodyBytes + " bytes.");
    }

    private GatewayException bodiesAtLimit() {
        return new GatewayException(ErrorCode.OVERLOADED,
                "The gateway holds as many request bodies in memory as it may; retry shortly.");
    }

    /** Reads one admitted request's body, on its event loop. */
    private final class BodyRead {
        private final RoutingContext ctx;
        private final Admission admission;
        private final boolean knownLength;
        private byte[] bytes;
        private int size;
        private boolean done;

        BodyRead(RoutingContext ctx, Admission admission, long length) {
            this.ctx = ctx;
            this.admission = admission;
            this.knownLength = length >= 0;
            this.bytes = new byte[knownLength ? (int) length : 0];
        }

        void start() {
            HttpServerRequest request = ctx.request();
            request.handler(this::append)
                    .exceptionHandler(this::failed)
                    .endHandler(v -> complete())
                    .resume();
        }

        private void append(Buffer chunk) {
            if (done) {
                return; // the rest of a refused body, dropped until the connection closes
            }
            int n = chunk.length();
            if (size + n > bytes.length) {
                if (knownLength || size + (long) n > maxBodyBytes) {
                    refuse(tooLarge());
                    return;
                }
                if (!grow(size + n)) {
                    refuse(bodiesAtLimit());
                    return;
                }
            }
            chunk.getBytes(0, n, bytes, size);
            size += n;
        }

        /** Room for {@code needed} bytes of a body of unknown length, reserved in steps, never past the body limit. */
        private boolean grow(int needed) {
            int capacity = (int) Math.min(maxBodyBytes, Math.max(needed, (long) bytes.length + RESERVE_STEP));
            if (!admission.reserve(capacity - bytes.length)) {
                return false;
            }
            bytes = Arrays.copyOf(bytes, capacity);
            return true;
        }

        private void refuse(GatewayException e) {
            done = true;
            bytes = null;
            admission.refuse(e);
            ctx.next();
        }

        private void complete() {
            if (done) {
                return;
            }
            done = true;
            admission.body(size == bytes.length ? bytes : Arrays.copyOf(bytes, size));
            bytes = null;
            ctx.next();
        }

        private void failed(Throwable cause) {
            if (done) {
                return;
            }
            done = true;
            bytes = null;
            // a client that goes away mid-upload, or a body that stalled (ClientGuard answered 408): routine
            LOG.debug("Request body of {} {} not read to its end: {}", ctx.request().method(), ctx.request().path(),
                    cause.toString());
            admission.release();
        }
    }
}
