package dev.apirouter.steps;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.call.GatewayCall;
import dev.apirouter.call.HeaderNames;
import dev.apirouter.policy.PolicyDocuments;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

/**
 * {@code models-list}: the names the caller's key may call models by, as OpenAI lists them: each model's own name
 * and each alias is an entry of its own, as clients list models and pick one.
 */
public final class ModelsList implements Processor {
    public static final String NAME = "models-list";

    @Override
    public void process(Exchange exchange) {
        GatewayCall call = GatewayCall.of(exchange);
        ObjectNode list = PolicyDocuments.JSON.createObjectNode().put("object", "list");
        ArrayNode data = list.putArray("data");
        for (String model : call.policyView().modelsVisibleTo(call.keyRecord())) {
            modelObject(data.addObject(), model);
        }
        answer(exchange, list);
    }

    /** One model object of the OpenAI shape. */
    static ObjectNode modelObject(ObjectNode node, String id) {
        return node.put("id", id).put("object", "model").put("owned_by", "api-router");
    }

    /** A 200 JSON answer; of the request's headers only the request id is kept. */
    static void answer(Exchange exchange, ObjectNode json) {
        Message message = exchange.getMessage();
        message.removeHeaders("*", HeaderNames.REQUEST_ID);
        message.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        message.setHeader(Exchange.CONTENT_TYPE, "application/json");
        message.setBody(json.toString());
    }
}
