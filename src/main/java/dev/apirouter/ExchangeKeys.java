package dev.apirouter;

/** Names of the headers and exchange properties the gateway's steps share: the one place they are spelled. */
public final class ExchangeKeys {
    /** Request header carrying the request id; passed upstream and returned to the client. */
    public static final String REQUEST_ID_HEADER = "X-Request-Id";
    public static final String AUTHORIZATION_HEADER = "Authorization";
    public static final String API_KEY_HEADER = "x-api-key";

    /** {@code io.vertx.core.http.HttpServerResponse} of the client, for the streaming forwarder. */
    public static final String CLIENT_RESPONSE = "apirouter.clientResponse";
    /** {@code io.vertx.core.Context} the client request arrived on; upstream calls run on it. */
    public static final String CLIENT_CONTEXT = "apirouter.clientContext";
    /** Boolean: the response was written directly to the client (streamed); nothing is left to write. */
    public static final String RESPONSE_COMMITTED = "apirouter.responseCommitted";
    /** String: the request id of this exchange. */
    public static final String REQUEST_ID = "apirouter.requestId";
    /** {@code PolicyView} read once per request, so that every step sees the same one. */
    public static final String POLICY_VIEW = "apirouter.policyView";
    /** {@code KeyRecord} of the authenticated caller. */
    public static final String KEY_RECORD = "apirouter.keyRecord";
    /** {@code InferenceRequest}: model and stream flag read from the body. */
    public static final String INFERENCE_REQUEST = "apirouter.inferenceRequest";
    /** {@code ModelPolicy} of the requested model. */
    public static final String MODEL_POLICY = "apirouter.modelPolicy";
    /** {@code List<Backend>}: the backends to try, in order. */
    public static final String CANDIDATES = "apirouter.candidates";
    /** byte[]: the body to send upstream (model rewritten when the policy says so). */
    public static final String UPSTREAM_BODY = "apirouter.upstreamBody";
    /** {@code Backend} that answered. */
    public static final String CHOSEN_BACKEND = "apirouter.chosenBackend";

    private ExchangeKeys() {
    }
}
