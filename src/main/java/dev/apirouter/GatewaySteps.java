package dev.apirouter;

import java.time.Clock;
import java.util.Map;
import java.util.function.BiConsumer;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.auth.ApiKeys;
import dev.apirouter.auth.KeyAuthorizer;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.ErrorMapper;
import dev.apirouter.error.GatewayException;
import dev.apirouter.policy.KeyRecord;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.PolicyDocuments;
import dev.apirouter.policy.PolicyStore;
import dev.apirouter.policy.PolicyView;
import dev.apirouter.routing.BackendHealth;
import dev.apirouter.routing.BackendSelector;
import dev.apirouter.routing.InferenceRequest;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpServerRequest;
import org.apache.camel.Exchange;
import org.apache.camel.Message;
import org.apache.camel.Processor;
import org.apache.camel.builder.RouteConfigurationBuilder;

/**
 * The gateway's steps, bound in Camel's registry under their names: the YAML routes in {@code routes/} say in what
 * order they run for each public endpoint ({@code - process: {ref: auth-validate}}); these say how each step works,
 * delegating every decision to a small bean.
 * <p>
 * Steps are processors in the public route rather than {@code direct:} sub-routes: each sub-route hop (its unit of
 * work, in-flight accounting and error-handler channel) cost about a quarter of the gateway's CPU per request, and
 * the steps need none of it — errors go to the one error mapper either way.
 */
final class GatewaySteps {
    static final String AUTH_VALIDATE = "auth-validate";
    static final String POLICY_ENRICH = "policy-enrich";
    static final String BACKEND_DISPATCH = "backend-dispatch";
    static final String MODELS_LIST = "models-list";

    private final PolicyStore store;
    private final KeyAuthorizer authorizer;
    private final BackendSelector selector;
    private final BackendHealth health;
    private final Processor dispatch;

    GatewaySteps(PolicyStore store, Clock clock, BackendSelector selector, BackendHealth health,
                  Processor dispatch) {
        this.store = store;
        this.authorizer = new KeyAuthorizer(clock);
        this.selector = selector;
        this.health = health;
        this.dispatch = dispatch;
    }

    /** One error mapper for every route, YAML ones included: each error leaves in the contract's shape. */
    static RouteConfigurationBuilder errorConfiguration() {
        return new RouteConfigurationBuilder() {
            @Override
            public void configuration() {
                routeConfiguration().onException(Exception.class).handled(true)
                        .process(new ErrorMapper()).stop();
            }
        };
    }

    /** Binds each step under its name, for {@code process: {ref: <name>}} in routes. */
    void bindTo(BiConsumer<String, Object> registry) {
        registry.accept(AUTH_VALIDATE, (Processor) this::authValidate);
        registry.accept(POLICY_ENRICH, (Processor) this::policyEnrich);
        registry.accept(BACKEND_DISPATCH, dispatch);
        registry.accept(MODELS_LIST, (Processor) this::modelsList);
    }

    /**
     * The key check on a request's head, before its body is read (see {@code http.AdmissionHandler}): the policy in
     * force and the caller's key record, which {@code auth-validate} then finds on the exchange.
     */
    Map<String, Object> checkHead(HttpServerRequest request) {
        PolicyView view = policyView();
        KeyRecord record = authorizer.authenticate(ApiKeys.extract(request.getHeader(ExchangeKeys.AUTHORIZATION_HEADER),
                request.getHeader(ExchangeKeys.API_KEY_HEADER)), view);
        return Map.of(ExchangeKeys.POLICY_VIEW, view, ExchangeKeys.KEY_RECORD, record);
    }

    private void authValidate(Exchange exchange) {
        Message message = exchange.getMessage();
        if (exchange.getProperty(ExchangeKeys.KEY_RECORD) == null) { // not checked on the head (a route tested alone)
            PolicyView view = policyView();
            var key = ApiKeys.extract(message.getHeader(ExchangeKeys.AUTHORIZATION_HEADER, String.class),
                    message.getHeader(ExchangeKeys.API_KEY_HEADER, String.class));
            exchange.setProperty(ExchangeKeys.POLICY_VIEW, view);
            exchange.setProperty(ExchangeKeys.KEY_RECORD, authorizer.authenticate(key, view));
        }
        message.removeHeader(ExchangeKeys.AUTHORIZATION_HEADER);
        message.removeHeader(ExchangeKeys.API_KEY_HEADER);
    }

    private PolicyView policyView() {
        return store.current().orElseThrow(() -> new GatewayException(ErrorCode.NO_POLICY,
                "No policy has been loaded yet; the gateway cannot serve requests. Retry shortly."));
    }

    private void policyEnrich(Exchange exchange) {
        PolicyView view = exchange.getProperty(ExchangeKeys.POLICY_VIEW, PolicyView.class);
        KeyRecord key = exchange.getProperty(ExchangeKeys.KEY_RECORD, KeyRecord.class);
        byte[] body = bodyBytes(exchange);
        InferenceRequest request = InferenceRequest.parse(body);
        authorizer.authorizeModel(key, request.model());
        ModelPolicy policy = view.model(request.model()).orElseThrow(() -> new GatewayException(
                ErrorCode.MODEL_NOT_FOUND, "The model '" + request.model() + "' does not exist."));
        exchange.setProperty(ExchangeKeys.INFERENCE_REQUEST, request);
        exchange.setProperty(ExchangeKeys.MODEL_POLICY, policy);
        exchange.setProperty(ExchangeKeys.UPSTREAM_BODY,
                policy.upstreamModel().map(upstream -> request.withModel(body, upstream)).orElse(body));
        exchange.setProperty(ExchangeKeys.CANDIDATES, selector.order(policy.backends(), health::isHealthy));
    }

    private void modelsList(Exchange exchange) {
        PolicyView view = exchange.getProperty(ExchangeKeys.POLICY_VIEW, PolicyView.class);
        KeyRecord key = exchange.getProperty(ExchangeKeys.KEY_RECORD, KeyRecord.class);
        ObjectNode list = PolicyDocuments.JSON.createObjectNode().put("object", "list");
        ArrayNode data = list.putArray("data");
        for (String model : view.modelsVisibleTo(key)) {
            data.addObject().put("id", model).put("object", "model").put("owned_by", "api-router");
        }
        Message message = exchange.getMessage();
        message.removeHeaders("*", ExchangeKeys.REQUEST_ID_HEADER);
        message.setHeader(Exchange.HTTP_RESPONSE_CODE, 200);
        message.setHeader(Exchange.CONTENT_TYPE, "application/json");
        message.setBody(list.toString());
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
