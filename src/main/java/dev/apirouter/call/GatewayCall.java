package dev.apirouter.call;

import java.util.List;

import dev.apirouter.limits.Reservation;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.KeyRecord;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.PolicyView;
import dev.apirouter.routing.Decision;
import dev.apirouter.routing.InferenceRequest;
import dev.apirouter.routing.Reason;
import io.vertx.core.Context;
import io.vertx.core.http.HttpServerResponse;
import org.apache.camel.Exchange;

/**
 * Everything the gateway knows about one API request, from its admission to its answer: the one object the steps
 * hand each other, stored once on the Camel exchange and read with {@link #of(Exchange)}.
 * <ol>
 * <li>The HTTP layer creates it on the request's head: request id, client response and the Vert.x context the
 * request arrived on; the head check fills in the policy view and the caller's key record (for a request without
 * a body, {@code auth-validate} does).</li>
 * <li>{@code policy-enrich} adds the inference request, the model's policy, the routing decision (the candidate
 * backends in order, and why) and the body to send upstream; {@code backend-dispatch} replaces the last three when
 * it falls back to another model.</li>
 * <li>{@code backend-dispatch} records how the backend that answered did (backend, status, streamed, token
 * usage): the response is then the forwarder's to write ({@link #backendAnswered}).</li>
 * </ol>
 * <b>Who writes the response.</b> The HTTP consumer writes the route's message as the response when the route is
 * done — unless {@link #responseStreamed()}: then a backend answered and the forwarder streamed that answer to the
 * client itself, and the consumer writes nothing.
 * <p>
 * <b>Usage always known.</b> A step before {@code backend-dispatch} that must count the tokens of the answer (a
 * per-key token limit) calls {@link #requireUsage()}. The dispatch then reads the usage of every answer
 * ({@link ForwardResult#usage()}), streams included: a stream whose client did not ask for its usage
 * ({@code stream_options.include_usage}) is sent with it asked for ({@link InferenceRequest#rewrite}), and the
 * usage-only chunk the backend ends it with is removed from what the client gets, so the client sees the stream it
 * asked for. Without the call, the body goes as the client sent it (the model rewritten when the policy says so).
 * <p>
 * <b>Extending it.</b> A later step that decides something per request (the routing decision, the limit reservation
 * to release when the request ends) adds its own typed field here, set by that step and read by those after it —
 * never a new exchange property.
 * <p>
 * Not thread-safe: a request's steps run one after the other, on the request's event loop.
 */
public final class GatewayCall {
    private static final String PROPERTY = "apirouter.call";

    private final String requestId;
    private final HttpServerResponse clientResponse;
    private final Context clientContext;
    private PolicyView policyView;
    private KeyRecord keyRecord;
    private InferenceRequest inferenceRequest;
    private ModelPolicy modelPolicy;
    private Decision decision;
    private byte[] requestBody;
    private byte[] upstreamBody;
    private StreamedBody streamedBody;
    private ForwardResult answer;
    private Reservation reservation = Reservation.NONE;
    private boolean limitsChecked;
    private Runnable whenAnswered;
    private boolean usageRequired;
    private String responseIdsModel;
    private String upstreamPath;

    /**
     * @param clientResponse the client's response, null when the route runs without the HTTP layer (a test)
     * @param clientContext  the context the request arrived on, where upstream calls run; null likewise
     */
    public GatewayCall(String requestId, HttpServerResponse clientResponse, Context clientContext) {
        this.requestId = requestId;
        this.clientResponse = clientResponse;
        this.clientContext = clientContext;
    }

    /**
     * The call of {@code exchange}. An exchange that did not come through the HTTP layer (a route run alone, from
     * {@code direct:} in a test) gets one on first use, its request id from the {@code X-Request-Id} header.
     */
    public static GatewayCall of(Exchange exchange) {
        if (exchange.getProperty(PROPERTY) instanceof GatewayCall call) {
            return call;
        }
        GatewayCall call = new GatewayCall(exchange.getMessage().getHeader(HeaderNames.REQUEST_ID, String.class),
                null, null);
        call.attachTo(exchange);
        return call;
    }

    /** Stores this call on {@code exchange}, once, when the exchange is created. */
    public void attachTo(Exchange exchange) {
        exchange.setProperty(PROPERTY, this);
    }

    public String requestId() {
        return requestId;
    }

    public HttpServerResponse clientResponse() {
        return clientResponse;
    }

    public Context clientContext() {
        return clientContext;
    }

    /** What the key check found: the policy in force for this request (every step sees the same) and the key. */
    public void authenticated(PolicyView view, KeyRecord key) {
        this.policyView = view;
        this.keyRecord = key;
    }

    public PolicyView policyView() {
        return policyView;
    }

    /** The caller's key record; null until the key has been checked. */
    public KeyRecord keyRecord() {
        return keyRecord;
    }

    /** What {@code policy-enrich} decided: where the request goes and what is sent there. */
    public void enriched(InferenceRequest request, byte[] requestBody, ModelPolicy policy, Decision decision,
                         byte[] upstreamBody) {
        this.inferenceRequest = request;
        this.requestBody = requestBody;
        rerouted(policy, decision, upstreamBody);
    }

    /** The request goes to another model now (a fallback): its policy, its decision and the body for it. */
    public void rerouted(ModelPolicy policy, Decision decision, byte[] upstreamBody) {
        this.modelPolicy = policy;
        this.decision = decision;
        this.upstreamBody = upstreamBody;
    }

    /** Model and stream flag read from the body; null before {@code policy-enrich}. */
    public InferenceRequest inferenceRequest() {
        return inferenceRequest;
    }

    /**
     * A request for a stored response ({@code response-pin}): it goes to {@code backend} of {@code policy} alone
     * (no other backend, no fallback), on {@code upstreamPath} (the backend's own id in it), without a body; the ids
     * of its answer are pinned again under {@code model}, the name the response was created through.
     */
    public void pinned(ModelPolicy policy, Backend backend, String upstreamPath, String model) {
        rerouted(policy, new Decision(List.of(backend), Reason.PINNED), new byte[0]);
        this.upstreamPath = upstreamPath;
        pinResponseIds(model);
    }

    /** The response ids of a successful answer name the backend that gave it, under this model name. */
    public void pinResponseIds(String model) {
        this.responseIdsModel = model;
    }

    /** The model name response ids are pinned under ({@link #pinResponseIds}); null: they are not. */
    public String responseIdsModel() {
        return responseIdsModel;
    }

    /** The path the backend gets when a step decided it ({@link #pinned}); null: the route's. */
    public String upstreamPath() {
        return upstreamPath;
    }

    /** The policy of the model the request goes to (after a fallback, the fallback's); null before {@code policy-enrich}. */
    public ModelPolicy modelPolicy() {
        return modelPolicy;
    }

    /** The backends to try, in order. */
    public List<Backend> candidates() {
        return decision.candidates();
    }

    /** The routing decision, null before {@code policy-enrich}. */
    public Decision decision() {
        return decision;
    }

    /** What {@code policy-enrich} found: the body is an upload, streamed to the backend rather than held. */
    public void streamed(StreamedBody body) {
        this.streamedBody = body;
    }

    /** The upload to stream to the backend; null for a body held whole ({@link #upstreamBody()}). */
    public StreamedBody streamedBody() {
        return streamedBody;
    }

    /** The body as the client sent it (of an upload: empty). */
    public byte[] requestBody() {
        return requestBody;
    }

    /**
     * The body to send upstream (the model rewritten when the policy says so); when {@link #usageRequired()},
     * {@code backend-dispatch} sends it with the stream's usage requested.
     */
    public byte[] upstreamBody() {
        return upstreamBody;
    }

    /** What {@code rate-limit} reserved of the key's and model's limits, settled when the request ends. */
    public void reserved(Reservation reservation) {
        this.reservation = reservation;
    }

    /** {@code rate-limit} has run for this request (it runs once, whether the route names it or not). */
    public void limitsChecked() {
        this.limitsChecked = true;
    }

    public boolean wereLimitsChecked() {
        return limitsChecked;
    }

    /** The limits reserved; {@link Reservation#NONE} for a request without limits. */
    public Reservation reservation() {
        return reservation;
    }

    /**
     * The answer's token usage must be read, streams included (see "Usage always known" above); called before
     * {@code backend-dispatch}.
     */
    public void requireUsage() {
        this.usageRequired = true;
    }

    /** Whether {@link #requireUsage()} was called. */
    public boolean usageRequired() {
        return usageRequired;
    }

    /**
     * A backend answered; the forwarder has streamed its answer to the client (or closed the connection) — all but
     * the response's very end, which it writes right after this: what {@link #whenAnswered} asked runs now.
     */
    public void backendAnswered(ForwardResult answer) {
        this.answer = answer;
        if (whenAnswered != null) {
            whenAnswered.run();
        }
    }

    /** Runs {@code action} as soon as a backend's answer is over, before the client sees its end (one action). */
    public void whenAnswered(Runnable action) {
        this.whenAnswered = action;
    }

    /** How the backend's answer went; null when no backend answered. */
    public ForwardResult answer() {
        return answer;
    }

    /** The backend that answered; null when none did. */
    public Backend chosenBackend() {
        return answer != null ? answer.backend() : null;
    }

    /** Whether the forwarder wrote the response (so the HTTP consumer must not). */
    public boolean responseStreamed() {
        return answer != null;
    }
}
