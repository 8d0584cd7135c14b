package dev.apirouter.steps;

import java.util.function.BiConsumer;

import dev.apirouter.auth.KeyAuthorizer;
import dev.apirouter.http.HeadCheck;
import dev.apirouter.policy.PolicyStore;
import dev.apirouter.routing.Router;
import org.apache.camel.Processor;
import org.apache.camel.builder.RouteConfigurationBuilder;

/**
 * The gateway's steps, bound in Camel's registry under their names: the YAML routes in {@code routes/} say in what
 * order they run for each public endpoint ({@code - process: {ref: auth-validate}}); each step's class says how it
 * works, delegating every decision to a small bean. They hand each other one {@link dev.apirouter.call.GatewayCall}.
 * <p>
 * Steps are processors in the public route rather than {@code direct:} sub-routes: each sub-route hop (its unit of
 * work, in-flight accounting and error-handler channel) cost about a quarter of the gateway's CPU per request, and
 * the steps need none of it — errors go to the one error mapper either way.
 */
public final class GatewaySteps {
    private final AuthValidate authValidate;
    private final PolicyEnrich policyEnrich;
    private final RateLimit rateLimit;
    private final Processor backendDispatch;
    private final ModelsList modelsList = new ModelsList();
    private final ModelRetrieve modelRetrieve = new ModelRetrieve();
    private final ResponsePin responsePin = new ResponsePin();

    /** @param backendDispatch the {@code backend-dispatch} step: a {@link BackendDispatch}, or a stand-in (tests) */
    public GatewaySteps(PolicyStore store, KeyAuthorizer authorizer, Router router, RateLimit rateLimit,
                        Processor backendDispatch) {
        this.authValidate = new AuthValidate(store, authorizer);
        this.policyEnrich = new PolicyEnrich(authorizer, router);
        this.rateLimit = rateLimit;
        this.backendDispatch = backendDispatch;
    }

    /** One error mapper for every route, YAML ones included: each error leaves in the contract's shape. */
    public static RouteConfigurationBuilder errorConfiguration() {
        return new RouteConfigurationBuilder() {
            @Override
            public void configuration() {
                routeConfiguration().onException(Exception.class).handled(true)
                        .process(new ErrorMapper()).stop();
            }
        };
    }

    /** Binds each step under its name, for {@code process: {ref: <name>}} (or {@code bean:<name>}) in routes. */
    public void bindTo(BiConsumer<String, Object> registry) {
        registry.accept(AuthValidate.NAME, authValidate);
        registry.accept(PolicyEnrich.NAME, policyEnrich);
        registry.accept(RateLimit.NAME, rateLimit);
        registry.accept(BackendDispatch.NAME, backendDispatch);
        registry.accept(ModelsList.NAME, modelsList);
        registry.accept(ModelRetrieve.NAME, modelRetrieve);
        registry.accept(ResponsePin.NAME, responsePin);
    }

    /** The key check on a request's head, before its body is read: {@code auth-validate}'s. */
    public HeadCheck headCheck() {
        return authValidate;
    }
}
