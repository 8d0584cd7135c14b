package dev.apirouter.policy;

/**
 * Rate limits and a quota ({@code "limits"} of a key record, of one model within it, or of a model policy). Each
 * figure is 0 when that limit is not set.
 *
 * @param rpm          requests per minute (sliding window)
 * @param tpm          tokens per minute, prompt and completion (sliding window)
 * @param maxParallel  requests in flight at once
 * @param tokensPerDay tokens per UTC day (a quota: {@code insufficient_quota} when used up)
 */
public record Limits(long rpm, long tpm, long maxParallel, long tokensPerDay) {
    public static final Limits NONE = new Limits(0, 0, 0, 0);

    public boolean any() {
        return rpm > 0 || tpm > 0 || maxParallel > 0 || tokensPerDay > 0;
    }

    /** Whether a token limit is set: requests then need their token usage counted. */
    public boolean countsTokens() {
        return tpm > 0 || tokensPerDay > 0;
    }
}
