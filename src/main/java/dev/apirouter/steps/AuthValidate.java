package dev.apirouter.steps;

import dev.apirouter.auth.ApiKeys;
import dev.apirouter.auth.KeyAuthorizer;
import dev.apirouter.call.GatewayCall;
import dev.apirouter.call.HeaderNames;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.http.HeadCheck;
import dev.apirouter.policy.PolicyStore;
import dev.apirouter.policy.PolicyView;
import io.vertx.core.http.HttpServerRequest;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

/**
 * {@code auth-validate}: a policy is loaded and the caller's API key is known, enabled and not expired. The check
 * runs on the request's head, before its body is read ({@link #check(HttpServerRequest, GatewayCall)}, the HTTP
 * layer's {@link HeadCheck}); the step then only finds its result on the call — or checks now, for a route run
 * without the HTTP layer. Either way the client's credentials leave the message here.
 */
public final class AuthValidate implements Processor, HeadCheck {
    public static final String NAME = "auth-validate";

    private final PolicyStore store;
    private final KeyAuthorizer authorizer;

    public AuthValidate(PolicyStore store, KeyAuthorizer authorizer) {
        this.store = store;
        this.authorizer = authorizer;
    }

    @Override
    public void check(HttpServerRequest request, GatewayCall call) {
        authenticate(call, request.getHeader(HeaderNames.AUTHORIZATION), request.getHeader(HeaderNames.API_KEY));
    }

    @Override
    public void process(Exchange exchange) {
        Message message = exchange.getMessage();
        GatewayCall call = GatewayCall.of(exchange);
        if (call.keyRecord() == null) { // not checked on the head: a route run without the HTTP layer
            authenticate(call, message.getHeader(HeaderNames.AUTHORIZATION, String.class),
                    message.getHeader(HeaderNames.API_KEY, String.class));
        }
        message.removeHeader(HeaderNames.AUTHORIZATION);
        message.removeHeader(HeaderNames.API_KEY);
    }

    private void authenticate(GatewayCall call, String authorization, String apiKey) {
        PolicyView view = store.current().orElseThrow(() -> new GatewayException(ErrorCode.NO_POLICY,
                "No policy has been loaded yet; the gateway cannot serve requests. Retry shortly."));
        call.authenticated(view, authorizer.authenticate(ApiKeys.extract(authorization, apiKey), view));
    }
}
