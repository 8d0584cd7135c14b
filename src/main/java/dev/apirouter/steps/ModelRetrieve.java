package dev.apirouter.steps;

import dev.apirouter.call.GatewayCall;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.PolicyDocuments;
import dev.apirouter.policy.PolicyView;
import org.apache.camel.Exchange;

/**
 * {@code model-retrieve}: {@code GET /v1/models/{id}}, the OpenAI SDKs' {@code models.retrieve}. The model object
 * when a model has that name or alias and the caller's key may call it by that name ({@link PolicyView#allows}),
 * else {@code 404 model_not_found}: a key learns nothing of the models it may not use.
 */
public final class ModelRetrieve implements org.apache.camel.Processor {
    public static final String NAME = "model-retrieve";
    /** The route's path parameter ({@code platform-http:/v1/models/{id}}), a header of the exchange. */
    public static final String ID = "id";

    @Override
    public void process(Exchange exchange) {
        GatewayCall call = GatewayCall.of(exchange);
        String id = exchange.getMessage().getHeader(ID, String.class);
        PolicyView view = call.policyView();
        ModelPolicy policy = id == null ? null : view.model(id).orElse(null);
        if (policy == null || !PolicyView.allows(call.keyRecord(), id, policy)) {
            throw new GatewayException(ErrorCode.MODEL_NOT_FOUND, "The model '" + id + "' does not exist.");
        }
        ModelsList.answer(exchange, ModelsList.modelObject(PolicyDocuments.JSON.createObjectNode(), id));
    }

}
