package dev.apirouter.steps;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.call.GatewayCall;
import dev.apirouter.call.HeaderNames;
import dev.apirouter.policy.PolicyDocuments;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;

/** {@code models-list}: the models of the policy in force that the caller's key may use, as OpenAI lists them. */
public final class ModelsList implements Processor {
    public static final String NAME = "models-list";

    @Override
    public void process(Exchange exchange) {
        GatewayCall call = GatewayCall.of(exchange);
        ObjectNode list = PolicyDocuments.JSON.createObjectNode().put("object", "list");
        ArrayNode data = list.putArray("data");
        for (String model : call.policyView().modelsVisibleTo(call.keyRecord())) {
            data.addObject().put("id", model).put("object", "model").put("owned_by", "api-router");
        }
        Message message = exchange.getMessage();
        message.removeHeaders("*", HeaderNames.REQUEST_ID);
        message.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        message.setHeader(Exchange.CONTENT_TYPE, "application/json");
        message.setBody(list.toString());
    }
}
