package dev.apirouter.auth;

import java.time.Clock;
import java.util.Optional;

import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.policy.KeyRecord;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.PolicyView;

/** Decides whether a presented key may call the gateway, and whether it may use a model. */
public final class KeyAuthorizer {
    private final Clock clock;

    public KeyAuthorizer(Clock clock) {
        this.clock = clock;
    }

    /** The key's record, or a 401 naming why (without any key material). */
    public KeyRecord authenticate(Optional<String> presentedKey, PolicyView view) {
        String key = presentedKey.orElseThrow(() -> new GatewayException(ErrorCode.INVALID_API_KEY, "missing_key",
                "Missing API key: send 'Authorization: Bearer <key>' or 'x-api-key: <key>'."));
        KeyRecord record = view.key(ApiKeys.sha256Hex(key))
                .orElseThrow(() -> new GatewayException(ErrorCode.INVALID_API_KEY, "unknown_key",
                        "Incorrect API key provided."));
        if (record.disabled()) {
            throw new GatewayException(ErrorCode.INVALID_API_KEY, "disabled", "This API key has been disabled.");
        }
        if (record.expiredAt(clock.instant())) {
            throw new GatewayException(ErrorCode.INVALID_API_KEY, "expired", "This API key has expired.");
        }
        return record;
    }

    /**
     * The model the client named ({@code model}: its own name or an alias) if the key may use it
     * ({@link PolicyView#allows}); a 403 when the key may not, a 404 when no model has that name and the key could
     * use it. A name the key does not list and no model has is a 403, as before aliases: a limited key learns nothing
     * of which models exist.
     */
    public ModelPolicy authorizedModel(KeyRecord record, PolicyView view, String model) {
        Optional<ModelPolicy> policy = view.model(model);
        if (policy.isEmpty()) {
            authorizeModel(record, model);
            throw new GatewayException(ErrorCode.MODEL_NOT_FOUND, "The model '" + model + "' does not exist.");
        }
        if (!PolicyView.allows(record, model, policy.get())) {
            throw new GatewayException(ErrorCode.MODEL_NOT_ALLOWED,
                    "This API key is not allowed to use the model '" + model + "'.");
        }
        return policy.get();
    }

    /** A 403 unless the key's model list covers {@code model}. */
    public void authorizeModel(KeyRecord record, String model) {
        if (!record.allowsModel(model)) {
            throw new GatewayException(ErrorCode.MODEL_NOT_ALLOWED,
                    "This API key is not allowed to use the model '" + model + "'.");
        }
    }
}
