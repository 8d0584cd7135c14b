package dev.apirouter.call;

/**
 * The token counts a backend reported in its answer's {@code usage} object.
 *
 * @param inputTokens  {@code prompt_tokens}, -1 when not reported
 * @param outputTokens {@code completion_tokens}, -1 when not reported (embeddings have none)
 */
public record TokenUsage(long inputTokens, long outputTokens) {
}
