package dev.apirouter.call;

/** Names of the request headers the gateway reads or writes itself: the one place they are spelled. */
public final class HeaderNames {
    /** Request header carrying the request id; passed upstream and returned to the client. */
    public static final String REQUEST_ID = "X-Request-Id";
    public static final String AUTHORIZATION = "Authorization";
    public static final String API_KEY = "x-api-key";
    /** Response header naming the model (public name) whose backend answered: another one after a fallback. */
    public static final String ANSWERING_MODEL = "x-api-router-model";

    private HeaderNames() {
    }
}
