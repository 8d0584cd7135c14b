package dev.apirouter.auth;

import java.time.Clock;
import java.util.Optional;

import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.policy.KeyRecord;
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

    /** A 403 unless the key's model list covers {@code model}. */
    public void authorizeModel(KeyRecord record, String model) {
        if (!record.allowsModel(model)) {
            throw new GatewayException(ErrorCode.MODEL_NOT_ALLOWED,
                    "This API key is not allowed to use the model '" + model + "'.");
        }
    }
}
