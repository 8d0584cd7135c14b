package dev.apirouter.steps;

import dev.apirouter.auth.KeyAuthorizer;
import dev.apirouter.call.GatewayCall;
import dev.apirouter.call.StreamedBody;
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
 * rewritten when the policy says so). An upload ({@link StreamedBody}) names its model in a form field, read before the
 * route ran; it is streamed, its model replaced by {@code backend-dispatch}.
 */
public final class PolicyEnrich implements Processor {
    public static final String NAME = "policy-enrich";

    private static final byte[] EMPTY = new byte[0];

    private final KeyAuthorizer authorizer;
    private final Router router;

    public PolicyEnrich(KeyAuthorizer authorizer, Router router) {
        this.authorizer = authorizer;
        this.router = router;
    }

    @Override
    public void process(Exchange exchange) {
        GatewayCall call = GatewayCall.of(exchange);
        if (exchange.getMessage().getBody() instanceof StreamedBody upload) {
            enrichUpload(exchange, call, upload);
            return;
        }
        byte[] body = bodyBytes(exchange);
        InferenceRequest request = InferenceRequest.parse(body);
        ModelPolicy policy = authorizer.authorizedModel(call.keyRecord(), call.policyView(), request.model());
        Message message = exchange.getMessage();
        // the backend gets the upstream model, else the model's own name (not the alias the client used)
        String backendModel = policy.backendModel();
        call.enriched(request, body, policy, router.route(policy, request, body, name -> message.getHeader(name, String.class)),
                backendModel.equals(request.model()) ? body : request.withModel(body, backendModel));
    }

    /** An upload: its model was read from its form; the body goes as it comes, its model replaced when needed. */
    private void enrichUpload(Exchange exchange, GatewayCall call, StreamedBody upload) {
        InferenceRequest request = InferenceRequest.ofModel(upload.model());
        ModelPolicy policy = authorizer.authorizedModel(call.keyRecord(), call.policyView(), request.model());
        Message message = exchange.getMessage();
        call.enriched(request, EMPTY, policy, router.route(policy, request, EMPTY,
                name -> message.getHeader(name, String.class)), EMPTY);
        call.streamed(upload);
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
