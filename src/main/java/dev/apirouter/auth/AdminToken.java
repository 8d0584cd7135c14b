package dev.apirouter.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Optional;

import dev.apirouter.config.Setting;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;

/**
 * The bearer token of the admin endpoints. Without one configured they are closed, never open. The token is kept
 * only as its SHA-256, and a presented token is compared digest to digest with {@link MessageDigest#isEqual}, so the
 * time a check takes says nothing about how much of the token was right.
 */
public final class AdminToken {
    private final byte[] digest;

    public AdminToken(Optional<String> token) {
        this.digest = token.map(AdminToken::sha256).orElse(null);
    }

    public boolean configured() {
        return digest != null;
    }

    /**
     * Returns when {@code authorization} is {@code Bearer <the token>}; otherwise throws {@code 403 admin_disabled}
     * when no token is configured, else {@code 401 unauthorized}.
     */
    public void authorize(String authorization) {
        if (digest == null) {
            throw new GatewayException(ErrorCode.ADMIN_DISABLED, "The admin endpoints are disabled: no admin token "
                    + "is configured (set " + Setting.ADMIN_TOKEN.envVar() + ").");
        }
        Optional<String> presented = ApiKeys.extract(authorization, null);
        if (presented.isEmpty() || !MessageDigest.isEqual(digest, sha256(presented.get()))) {
            throw new GatewayException(ErrorCode.UNAUTHORIZED,
                    "This endpoint needs 'Authorization: Bearer <admin token>'.");
        }
    }

    private static byte[] sha256(String token) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
