package dev.apirouter.steps;

import dev.apirouter.auth.KeyAuthorizer;
import dev.apirouter.call.GatewayCall;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.routing.InferenceRequest;
import dev.apirouter.routing.Router;
import io.vertx.core.buffer.Buffer;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

/**
 * {@code policy-enrich}: the body names a model that has a policy and that the key may use; the call gets the
 * model's policy, the routing decision (its backends in the order to try them), and the body to send (the model
 * rewritten when the policy says so).
 */
public final class PolicyEnrich implements Processor {
    public static final String NAME = "policy-enrich";

    private final KeyAuthorizer authorizer;
    private final Router router;

    public PolicyEnrich(KeyAuthorizer authorizer, Router router) {
        this.authorizer = authorizer;
        this.router = router;
    }

    @Override
    public void process(Exchange exchange) {
        GatewayCall call = GatewayCall.of(exchange);
        byte[] body = bodyBytes(exchange);
        InferenceRequest request = InferenceRequest.parse(body);
        ModelPolicy policy = authorizer.authorizedModel(call.keyRecord(), call.policyView(), request.model());
        Message message = exchange.getMessage();
        // the backend gets the upstream model, else the model's own name (not the alias the client used)
        String backendModel = policy.backendModel();
        call.enriched(request, body, policy, router.route(policy, request, body, name -> message.getHeader(name, String.class)),
                backendModel.equals(request.model()) ? body : request.withModel(body, backendModel));
    }

    private static byte[] bodyBytes(Exchange exchange) {
        Object body = exchange.getMessage().getBody();
        if (body == null) {
            return new byte[0];
        }
        if (body instanceof Buffer buffer) {
            return buffer.getBytes();
        }
        byte[] bytes = exchange.getMessage().getBody(byte[].class);
        return bytes == null ? new byte[0] : bytes;
    }
}
