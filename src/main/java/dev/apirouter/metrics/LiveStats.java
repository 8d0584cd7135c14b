package dev.apirouter.metrics;

import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.policy.PolicyDocuments;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.distribution.CountAtBucket;

/**
 * The few figures an operator watches, read from the metrics registry in one JSON object for the console
 * ({@code GET /v1/admin/stats}): totals since start, so that a reader gets rates and windowed percentiles from the
 * difference of two readings (the time-to-first-token histogram is cumulative, in the buckets of the metric).
 */
final class LiveStats {
    private LiveStats() {
    }

    static ObjectNode read(MeterRegistry registry, long nowMs) {
        long requests = 0;
        long errors = 0;
        long clientErrors = 0;
        for (Counter c : registry.find("api_router_requests").counters()) {
            long n = (long) c.count();
            requests += n;
            int status = Integer.parseInt(c.getId().getTag("status"));
            if (status >= 500) {
                errors += n;
            } else if (status >= 400) {
                clientErrors += n;
            }
        }
        ObjectNode stats = PolicyDocuments.JSON.createObjectNode();
        stats.put("at", nowMs).put("requests", requests).put("errors", errors).put("clientErrors", clientErrors)
                .put("inputTokens", tokens(registry, "input")).put("outputTokens", tokens(registry, "output"))
                .put("inFlight", gauge(registry, "api_router_requests_in_flight"))
                .put("openStreams", gauge(registry, "api_router_open_streams"));
        ttft(registry, stats.putObject("ttft"));
        return stats;
    }

    private static long tokens(MeterRegistry registry, String type) {
        return (long) registry.find("api_router_tokens").tag("type", type).counters().stream()
                .mapToDouble(Counter::count).sum();
    }

    private static long gauge(MeterRegistry registry, String name) {
        Gauge g = registry.find(name).gauge();
        return g == null ? 0 : (long) g.value();
    }

    /** Every model's histogram added up: the buckets are the same for all (the metric's service-level objectives). */
    private static void ttft(MeterRegistry registry, ObjectNode node) {
        long count = 0;
        double[] bucketsMs = null;
        double[] counts = null;
        for (Timer t : registry.find("api_router_time_to_first_token").timers()) {
            CountAtBucket[] buckets = t.takeSnapshot().histogramCounts();
            count += t.count();
            if (bucketsMs == null) {
                bucketsMs = new double[buckets.length];
                counts = new double[buckets.length];
                for (int i = 0; i < buckets.length; i++) {
                    bucketsMs[i] = buckets[i].bucket(TimeUnit.MILLISECONDS);
                }
            }
            for (int i = 0; i < Math.min(buckets.length, counts.length); i++) {
                counts[i] += buckets[i].count();
            }
        }
        node.put("count", count);
        ArrayNode b = node.putArray("bucketsMs");
        ArrayNode c = node.putArray("counts");
        for (int i = 0; bucketsMs != null && i < bucketsMs.length; i++) {
            b.add(bucketsMs[i]);
            c.add((long) counts[i]);
        }
    }
}
