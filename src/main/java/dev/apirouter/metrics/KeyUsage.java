package dev.apirouter.metrics;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.call.GatewayCall;
import dev.apirouter.call.TokenUsage;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.http.RequestObserver;
import dev.apirouter.policy.KeyRecord;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.PolicyDocuments;
import org.apache.camel.Exchange;

/**
 * What each key (by name, never the key) used through this gateway process since it started, per model: requests
 * answered, requests refused by a limit, prompt and completion tokens as the backends reported them. Read by
 * {@code /v1/status/usage} (admin). Keys are the policy's, so the table grows no larger than the policy.
 */
public final class KeyUsage implements RequestObserver {
    static final String UNNAMED = "(unnamed)";

    private final Map<KeyModel, Counts> usage = new ConcurrentHashMap<>();

    private record KeyModel(String key, String model) {
    }

    private static final class Counts {
        final LongAdder requests = new LongAdder();
        final LongAdder limited = new LongAdder();
        final LongAdder inputTokens = new LongAdder();
        final LongAdder outputTokens = new LongAdder();
    }

    @Override
    public void completed(Exchange exchange, int status, long nanos) {
        GatewayCall call = GatewayCall.of(exchange);
        KeyRecord key = call.keyRecord();
        ModelPolicy model = call.modelPolicy();
        if (key == null || model == null) {
            return; // refused before its key or model was known: nobody's usage
        }
        Counts counts = usage.computeIfAbsent(new KeyModel(label(key), model.name()), k -> new Counts());
        counts.requests.increment();
        if (exchange.getProperty(Exchange.EXCEPTION_CAUGHT) instanceof GatewayException e
                && (e.code() == ErrorCode.RATE_LIMITED || e.code() == ErrorCode.INSUFFICIENT_QUOTA)) {
            counts.limited.increment();
        }
        TokenUsage tokens = call.answer() != null ? call.answer().usage() : null;
        if (tokens != null) {
            counts.inputTokens.add(Math.max(0, tokens.inputTokens()));
            counts.outputTokens.add(Math.max(0, tokens.outputTokens()));
        }
    }

    static String label(KeyRecord key) {
        return key.name().isEmpty() ? UNNAMED : key.name();
    }

    /** {@code {"keys": {"<name>": {"models": {"<model>": {"requests", "limited", "inputTokens", "outputTokens"}}}}}}. */
    public String json() {
        Map<String, Map<String, Counts>> byKey = new TreeMap<>();
        usage.forEach((k, c) -> byKey.computeIfAbsent(k.key(), x -> new TreeMap<>()).put(k.model(), c));
        ObjectNode root = PolicyDocuments.JSON.createObjectNode();
        root.put("since", "process start");
        ObjectNode keys = root.putObject("keys");
        byKey.forEach((key, models) -> {
            ObjectNode node = keys.putObject(key);
            long[] totals = new long[4];
            ObjectNode perModel = node.putObject("models");
            models.forEach((model, c) -> {
                long[] v = {c.requests.sum(), c.limited.sum(), c.inputTokens.sum(), c.outputTokens.sum()};
                perModel.putObject(model).put("requests", v[0]).put("limited", v[1]).put("inputTokens", v[2])
                        .put("outputTokens", v[3]);
                for (int i = 0; i < 4; i++) {
                    totals[i] += v[i];
                }
            });
            node.put("requests", totals[0]).put("limited", totals[1]).put("inputTokens", totals[2])
                    .put("outputTokens", totals[3]);
        });
        return root.toString();
    }
}
