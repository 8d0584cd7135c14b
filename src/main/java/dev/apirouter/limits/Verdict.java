package dev.apirouter.limits;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The limiter's answer for one request: admitted (with what it reserved) or refused (which limit, and in how long
 * to retry), and the {@code x-ratelimit-*} headers that go on its response either way.
 *
 * @param refusedLimit {@code rpm}, {@code tpm}, {@code maxParallel} or {@code tokensPerDay} when refused, else null
 * @param retryAfterMillis when refused, in how long the request would be admitted; -1 when never (it asks more tokens
 *                     than the limit allows at all)
 * @param headers      the {@code x-ratelimit-*} headers, in order
 */
public record Verdict(Reservation reservation, String refusedLimit, String scope, long retryAfterMillis,
                      Map<String, String> headers) {
    public static final Verdict UNLIMITED = new Verdict(Reservation.NONE, null, null, 0, Map.of());

    public boolean admitted() {
        return refusedLimit == null;
    }

    /** The daily quota is used up ({@code insufficient_quota}), rather than a rate ({@code rate_limit_exceeded}). */
    public boolean quotaExhausted() {
        return "tokensPerDay".equals(refusedLimit);
    }

    static Map<String, String> newHeaders() {
        return new LinkedHashMap<>();
    }
}
