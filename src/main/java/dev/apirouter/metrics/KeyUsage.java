package dev.apirouter.metrics;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

import com.fasterxml.jackson.databind.node.ArrayNode;
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
 * What each key (by name, never the key) used through this gateway process, per model: requests answered, requests
 * refused by a limit, prompt and completion tokens as the backends reported them — since start, and over a recent
 * window ({@link UsageCounts}). Read by {@code /v1/status/usage} and {@code /v1/admin/usage} (admin). Keys are the
 * policy's, so the table grows no larger than the policy.
 */
public final class KeyUsage implements RequestObserver {
    static final String UNNAMED = "(unnamed)";
    private static final String[] FIELD_NAMES = {"requests", "limited", "inputTokens", "outputTokens"};

    private final Map<KeyModel, UsageCounts> usage = new ConcurrentHashMap<>();
    private final LongSupplier clock;

    private record KeyModel(String key, String model) {
    }

    public KeyUsage() {
        this(System::currentTimeMillis);
    }

    KeyUsage(LongSupplier clock) {
        this.clock = clock;
    }

    @Override
    public void completed(Exchange exchange, int status, long nanos) {
        GatewayCall call = GatewayCall.of(exchange);
        KeyRecord key = call.keyRecord();
        ModelPolicy model = call.modelPolicy();
        if (key == null || model == null) {
            return; // refused before its key or model was known: nobody's usage
        }
        boolean limited = exchange.getProperty(Exchange.EXCEPTION_CAUGHT) instanceof GatewayException e
                && (e.code() == ErrorCode.RATE_LIMITED || e.code() == ErrorCode.INSUFFICIENT_QUOTA);
        TokenUsage tokens = call.answer() != null ? call.answer().usage() : null;
        record(label(key), model.name(), limited, tokens);
    }

    void record(String keyName, String model, boolean limited, TokenUsage tokens) {
        usage.computeIfAbsent(new KeyModel(keyName, model), k -> new UsageCounts()).add(clock.getAsLong(),
                new long[] {1, limited ? 1 : 0, tokens == null ? 0 : Math.max(0, tokens.inputTokens()),
                        tokens == null ? 0 : Math.max(0, tokens.outputTokens())});
    }

    static String label(KeyRecord key) {
        return key.name().isEmpty() ? UNNAMED : key.name();
    }

    /** {@code {"keys": {"<name>": {"models": {"<model>": {"requests", "limited", "inputTokens", "outputTokens"}}}}}}. */
    public String json() {
        ObjectNode root = PolicyDocuments.JSON.createObjectNode();
        root.put("since", "process start");
        ObjectNode keys = root.putObject("keys");
        byKey().forEach((key, models) -> {
            ObjectNode node = keys.putObject(key);
            long[] totals = new long[UsageCounts.FIELDS];
            ObjectNode perModel = node.putObject("models");
            models.forEach((model, c) -> add(totals, put(perModel.putObject(model), c.total())));
            put(node, totals);
        });
        return root.toString();
    }

    /**
     * Usage over the last {@code window} (see {@link UsageCounts#within}): per key name with its models and when it
     * was last used, and per model.
     */
    public ObjectNode window(Duration window) {
        long now = clock.getAsLong();
        ObjectNode root = PolicyDocuments.JSON.createObjectNode();
        root.put("to", Instant.ofEpochMilli(now).toString());
        root.put("from", Instant.ofEpochMilli(now - Math.min(window.toMillis(), UsageCounts.LONGEST.toMillis()))
                .toString());
        ArrayNode keys = root.putArray("keys");
        Map<String, long[]> models = new TreeMap<>();
        byKey().forEach((key, perModel) -> {
            ObjectNode node = keys.addObject().put("name", key);
            long[] totals = new long[UsageCounts.FIELDS];
            long lastUsed = 0;
            ObjectNode modelsNode = PolicyDocuments.JSON.createObjectNode();
            for (Map.Entry<String, UsageCounts> e : perModel.entrySet()) {
                long[] counts = e.getValue().within(now, window);
                lastUsed = Math.max(lastUsed, e.getValue().lastUsedMs());
                if (counts[UsageCounts.REQUESTS] > 0) {
                    put(modelsNode.putObject(e.getKey()), counts);
                    add(totals, counts);
                    add(models.computeIfAbsent(e.getKey(), m -> new long[UsageCounts.FIELDS]), counts);
                }
            }
            put(node, totals);
            node.put("lastUsedAt", lastUsed == 0 ? null : Instant.ofEpochMilli(lastUsed).toString());
            node.set("models", modelsNode);
        });
        ArrayNode modelList = root.putArray("models");
        models.forEach((model, counts) -> put(modelList.addObject().put("name", model), counts));
        return root;
    }

    /** A key name's counts over the window, all models, and when it was last used ({@code null}: never). */
    public ObjectNode ofName(String name, Duration window) {
        long now = clock.getAsLong();
        long[] totals = new long[UsageCounts.FIELDS];
        long lastUsed = 0;
        for (Map.Entry<KeyModel, UsageCounts> e : usage.entrySet()) {
            if (e.getKey().key().equals(name)) {
                add(totals, e.getValue().within(now, window));
                lastUsed = Math.max(lastUsed, e.getValue().lastUsedMs());
            }
        }
        ObjectNode node = PolicyDocuments.JSON.createObjectNode();
        put(node, totals);
        node.put("lastUsedAt", lastUsed == 0 ? null : Instant.ofEpochMilli(lastUsed).toString());
        return node;
    }

    private Map<String, Map<String, UsageCounts>> byKey() {
        Map<String, Map<String, UsageCounts>> byKey = new TreeMap<>();
        usage.forEach((k, c) -> byKey.computeIfAbsent(k.key(), x -> new TreeMap<>()).put(k.model(), c));
        return byKey;
    }

    private static long[] put(ObjectNode node, long[] counts) {
        for (int i = 0; i < UsageCounts.FIELDS; i++) {
            node.put(FIELD_NAMES[i], counts[i]);
        }
        return counts;
    }

    private static void add(long[] into, long[] counts) {
        for (int i = 0; i < UsageCounts.FIELDS; i++) {
            into[i] += counts[i];
        }
    }
}
