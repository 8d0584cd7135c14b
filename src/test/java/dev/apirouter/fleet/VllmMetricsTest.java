package dev.apirouter.fleet;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VllmMetricsTest {
    private static VllmMetrics parse(String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        return VllmMetrics.parse(bytes, bytes.length);
    }

    @Test
    void readsTheV1EngineFiguresSummedOverEngines() {
        VllmMetrics m = parse("""
                # HELP vllm:num_requests_running Number of requests in model execution batches.
                # TYPE vllm:num_requests_running gauge
                vllm:num_requests_running{engine="0",model_name="llama"} 3.0
                vllm:num_requests_running{engine="1",model_name="llama"} 2.0
                vllm:num_requests_waiting{engine="0",model_name="llama"} 7.0
                vllm:kv_cache_usage_perc{engine="0",model_name="llama"} 0.25
                vllm:kv_cache_usage_perc{engine="1",model_name="llama"} 0.5
                vllm:prefix_cache_queries_total{engine="0",model_name="llama"} 1000.0
                vllm:prefix_cache_hits_total{engine="0",model_name="llama"} 750.0
                vllm:num_requests_running_extra{engine="0"} 99
                vllm:time_to_first_token_seconds_bucket{le="0.1",model_name="llama"} 4.0
                """);
        assertEquals(5, m.running());
        assertEquals(7, m.waiting());
        assertEquals(0.5, m.kvCacheUsage(), "the fullest engine");
        assertEquals(750, m.prefixCacheHits());
        assertEquals(1000, m.prefixCacheQueries());
        assertTrue(m.hasQueue());
    }

    @Test
    void readsOlderVllmNames() {
        VllmMetrics m = parse("""
                vllm:num_requests_running{model_name="m"} 1
                vllm:num_requests_waiting{model_name="m"} 0
                vllm:gpu_cache_usage_perc{model_name="m"} 0.75
                vllm:gpu_prefix_cache_queries_total{model_name="m"} 10
                vllm:gpu_prefix_cache_hits_total{model_name="m"} 4
                """);
        assertEquals(0.75, m.kvCacheUsage());
        assertEquals(4, m.prefixCacheHits());
        assertEquals(10, m.prefixCacheQueries());
    }

    @Test
    void labelValuesWithSpacesBracesAndQuotesDoNotConfuseTheValue() {
        VllmMetrics m = parse("vllm:num_requests_running{model_name=\"a } \\\" b\"} 4 1700000000000\r\n"
                + "vllm:num_requests_waiting 2\n");
        assertEquals(4, m.running());
        assertEquals(2, m.waiting());
    }

    @Test
    void aServerThatIsNotVllmHasNoQueue() {
        VllmMetrics m = parse("# HELP up\nup 1\nprocess_cpu_seconds_total 3.5\nvllm:num_requests_running garbage\n");
        assertFalse(m.hasQueue());
        assertTrue(Double.isNaN(m.running()));
        assertTrue(Double.isNaN(m.kvCacheUsage()));
    }
}
