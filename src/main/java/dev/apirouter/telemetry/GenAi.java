package dev.apirouter.telemetry;

import io.opentelemetry.api.common.AttributeKey;

/**
 * Span attribute names: OpenTelemetry's {@code gen_ai.*}, {@code server.*}, {@code http.*} semantic conventions
 * where they fit, {@code apirouter.*} for the rest.
 */
public final class GenAi {
    public static final AttributeKey<String> OPERATION_NAME = AttributeKey.stringKey("gen_ai.operation.name");
    public static final AttributeKey<String> REQUEST_MODEL = AttributeKey.stringKey("gen_ai.request.model");
    public static final AttributeKey<String> RESPONSE_MODEL = AttributeKey.stringKey("gen_ai.response.model");
    public static final AttributeKey<Long> INPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.input_tokens");
    public static final AttributeKey<Long> OUTPUT_TOKENS = AttributeKey.longKey("gen_ai.usage.output_tokens");
    public static final AttributeKey<String> SERVER_ADDRESS = AttributeKey.stringKey("server.address");
    public static final AttributeKey<Long> SERVER_PORT = AttributeKey.longKey("server.port");
    public static final AttributeKey<String> HTTP_METHOD = AttributeKey.stringKey("http.request.method");
    public static final AttributeKey<Long> HTTP_STATUS = AttributeKey.longKey("http.response.status_code");
    public static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
    /** The route the request came in on (the same name camel-tracing uses). */
    public static final AttributeKey<String> ROUTE_ID = AttributeKey.stringKey("camel.route.id");
    /** The model the client asked for (before any {@code upstreamModel} rewrite). */
    public static final AttributeKey<String> CLIENT_MODEL = AttributeKey.stringKey("apirouter.model");
    /** The backend that answered, as written in the policy. */
    public static final AttributeKey<String> BACKEND = AttributeKey.stringKey("apirouter.backend");
    /** Whether the answer was streamed (Server-Sent Events). */
    public static final AttributeKey<Boolean> STREAMED = AttributeKey.booleanKey("apirouter.streamed");
    /** Why the request went to its backend: {@code affinity}, {@code spilled}, {@code least-load}, ... */
    public static final AttributeKey<String> ROUTING_REASON = AttributeKey.stringKey("apirouter.routing.reason");
    /** How the forwarded call ended: completed, client_gone, upstream_broken, idle_timeout, or a gateway error code. */
    public static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("apirouter.outcome");

    private GenAi() {
    }

    /** {@code gen_ai.operation.name} of an OpenAI-compatible path. */
    static String operation(String path) {
        if (path == null) {
            return "unknown";
        }
        if (path.startsWith("/v1/chat/completions")) {
            return "chat";
        }
        if (path.startsWith("/v1/completions")) {
            return "text_completion";
        }
        if (path.startsWith("/v1/embeddings")) {
            return "embeddings";
        }
        return "unknown";
    }
}
