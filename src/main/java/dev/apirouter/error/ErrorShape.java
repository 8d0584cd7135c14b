package dev.apirouter.error;

/**
 * The shape a gateway error takes, chosen by the request's path: the clients of each API parse their own.
 * <ul>
 * <li>{@link #OPENAI} (every path but those below): {@code {"error":{"message","type","param":null,"code"}}}.</li>
 * <li>{@link #ANTHROPIC} ({@code /v1/messages} and below it: the Anthropic Messages API, whose SDKs read the error's
 * {@code type}): {@code {"type":"error","error":{"type","message"}}}, the type from {@link ErrorCode#anthropicType()}.
 * </li>
 * </ul>
 * The HTTP status and headers ({@code Retry-After}, {@code x-ratelimit-*}) are the same in both shapes.
 */
public enum ErrorShape {
    OPENAI,
    ANTHROPIC;

    private static final String MESSAGES = "/v1/messages";

    /** The shape for a request on {@code path} (its path only, no query); {@link #OPENAI} when unknown (null). */
    public static ErrorShape forPath(String path) {
        if (path != null && path.startsWith(MESSAGES)
                && (path.length() == MESSAGES.length() || path.charAt(MESSAGES.length()) == '/')) {
            return ANTHROPIC;
        }
        return OPENAI;
    }
}
