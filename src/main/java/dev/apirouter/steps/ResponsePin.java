package dev.apirouter.steps;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.databind.JsonNode;
import dev.apirouter.call.GatewayCall;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.forward.ResponseIds;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.PolicyDocuments;
import dev.apirouter.policy.PolicyView;
import dev.apirouter.routing.Decision;
import dev.apirouter.routing.Reason;
import org.apache.camel.Exchange;
import org.apache.camel.Processor;

/**
 * {@code response-pin}: vLLM keeps a stored response on the backend that created it, so the Responses API's ids
 * name that backend ({@link ResponseIds}): any gateway replica can send a later request for the response there,
 * without shared state.
 * <ul>
 * <li>On a create ({@code POST /v1/responses}, after {@code policy-enrich}): the ids of the answer will name the
 * backend that gives it and the model as the client called it. A {@code previous_response_id} the gateway gave out
 * sends the request to the backend that holds that response (it must be one of the model's), with the backend's own
 * id in the body.</li>
 * <li>On a request for a response (a route with the path parameter {@code {id}}: {@code GET}/{@code DELETE
 * /v1/responses/{id}}, {@code POST /v1/responses/{id}/cancel}; after {@code auth-validate}): the id is decoded, the
 * model it names must exist and the key may use it, the backend must still be one of that model's; the call goes to
 * that backend alone, on the request's path with the backend's own id. Anything else is {@code 404 not_found}: a key
 * learns nothing of the responses it cannot reach.</li>
 * </ul>
 */
public final class ResponsePin implements Processor {
    public static final String NAME = "response-pin";
    /** The route's path parameter, a header of the exchange. */
    public static final String ID = "id";
    private static final byte[] PREVIOUS = "\"previous_response_id\"".getBytes(StandardCharsets.US_ASCII);

    @Override
    public void process(Exchange exchange) {
        GatewayCall call = GatewayCall.of(exchange);
        String id = exchange.getMessage().getHeader(ID, String.class);
        if (id == null) {
            create(call);
            return;
        }
        ResponseIds.Pinned pinned = ResponseIds.decode(id).orElseThrow(() -> notFound(id));
        ModelPolicy policy = allowedModel(call, pinned).orElseThrow(() -> notFound(id));
        Backend backend = backendOf(policy, pinned);
        String path = exchange.getMessage().getHeader(Exchange.HTTP_PATH, String.class);
        int at = path == null ? -1 : path.indexOf("/" + id);
        if (backend == null || at < 0) {
            throw notFound(id);
        }
        call.pinned(policy, backend, path.substring(0, at + 1) + pinned.responseId()
                + path.substring(at + 1 + id.length()), pinned.model());
    }

    private static void create(GatewayCall call) {
        if (call.inferenceRequest() == null) {
            throw new IllegalStateException(NAME + " runs after policy-enrich on a route without an {id}");
        }
        call.pinResponseIds(call.inferenceRequest().model());
        String previous = previousResponseId(call.requestBody());
        ResponseIds.Pinned pinned = previous == null ? null : ResponseIds.decode(previous).orElse(null);
        if (pinned == null) {
            return; // none, or not one the gateway gave out: the backend judges it
        }
        // the key may use the model the previous response was created through; its backend serves this model too
        Backend backend = allowedModel(call, pinned).isPresent() ? backendOf(call.modelPolicy(), pinned) : null;
        if (backend == null) {
            throw new GatewayException(ErrorCode.NOT_FOUND, "The previous response '" + previous
                    + "' does not exist for model '" + call.inferenceRequest().model() + "'.");
        }
        byte[] body = replace(call.upstreamBody(), quoted(previous), quoted(pinned.responseId()));
        call.rerouted(call.modelPolicy(), new Decision(List.of(backend), Reason.PINNED), body);
    }

    /** The model a pinned id names, when it exists and the caller's key may use it by that name. */
    private static Optional<ModelPolicy> allowedModel(GatewayCall call, ResponseIds.Pinned pinned) {
        return call.policyView().model(pinned.model())
                .filter(policy -> call.keyRecord() == null || PolicyView.allows(call.keyRecord(), pinned.model(), policy));
    }

    private static Backend backendOf(ModelPolicy policy, ResponseIds.Pinned pinned) {
        return policy.backends().stream().filter(pinned::isOn).findFirst().orElse(null);
    }

    /** The body's top-level {@code previous_response_id} when it is a string; read only when the body names it. */
    private static String previousResponseId(byte[] body) {
        if (body == null || indexOf(body, PREVIOUS, 0) < 0) {
            return null;
        }
        try {
            JsonNode value = PolicyDocuments.JSON.readTree(body).get("previous_response_id");
            return value != null && value.isTextual() ? value.textValue() : null;
        } catch (IOException e) {
            return null; // policy-enrich has parsed it: not reached
        }
    }

    private static byte[] quoted(String s) {
        return ('"' + s + '"').getBytes(StandardCharsets.UTF_8);
    }

    /** {@code body} with the first {@code from} replaced by {@code to}; as it is when it has none. */
    static byte[] replace(byte[] body, byte[] from, byte[] to) {
        int at = indexOf(body, from, 0);
        if (at < 0) {
            return body;
        }
        byte[] out = Arrays.copyOf(body, body.length - from.length + to.length);
        System.arraycopy(to, 0, out, at, to.length);
        System.arraycopy(body, at + from.length, out, at + to.length, body.length - at - from.length);
        return out;
    }

    private static int indexOf(byte[] bytes, byte[] key, int from) {
        outer:
        for (int i = from; i + key.length <= bytes.length; i++) {
            for (int j = 0; j < key.length; j++) {
                if (bytes[i + j] != key[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static GatewayException notFound(String id) {
        return new GatewayException(ErrorCode.NOT_FOUND, "No response with id '" + id + "' was found.");
    }
}
