package dev.apirouter.fleet;

import java.nio.charset.StandardCharsets;

/**
 * The load figures of one scrape of a vLLM server's {@code /metrics} (Prometheus text). Each figure is summed over
 * its label sets (several engines of one server), the KV cache use is their maximum; a figure absent from the text
 * is {@code NaN}. Older vLLM names are read too ({@code vllm:gpu_cache_usage_perc},
 * {@code vllm:gpu_prefix_cache_*}).
 *
 * @param running           {@code vllm:num_requests_running}
 * @param waiting           {@code vllm:num_requests_waiting}
 * @param kvCacheUsage      {@code vllm:kv_cache_usage_perc}, a fraction 0..1
 * @param prefixCacheHits   {@code vllm:prefix_cache_hits_total}, tokens
 * @param prefixCacheQueries {@code vllm:prefix_cache_queries_total}, tokens
 */
public record VllmMetrics(double running, double waiting, double kvCacheUsage, double prefixCacheHits,
                          double prefixCacheQueries) {
    private static final String PREFIX = "vllm:";
    private static final byte[][] NAMES = {
        bytes("num_requests_running"), bytes("num_requests_waiting"), bytes("kv_cache_usage_perc"),
        bytes("gpu_cache_usage_perc"), bytes("prefix_cache_hits_total"), bytes("gpu_prefix_cache_hits_total"),
        bytes("prefix_cache_queries_total"), bytes("gpu_prefix_cache_queries_total")};
    private static final int[] FIGURE = {0, 1, 2, 2, 3, 3, 4, 4};

    /** Whether the text had the queue figures, the ones routing needs: a vLLM server, then. */
    public boolean hasQueue() {
        return !Double.isNaN(running) && !Double.isNaN(waiting);
    }

    /**
     * Reads {@code text}; lines that are not one of the figures above (comments, histograms, other servers'
     * metrics) are skipped without being decoded.
     */
    public static VllmMetrics parse(byte[] text, int length) {
        double[] figures = {Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN};
        int i = 0;
        while (i < length) {
            int eol = i;
            while (eol < length && text[eol] != '\n') {
                eol++;
            }
            int name = nameIndex(text, i, eol);
            if (name >= 0) {
                double value = value(text, i, eol);
                if (!Double.isNaN(value)) {
                    int f = FIGURE[name];
                    double before = figures[f];
                    figures[f] = Double.isNaN(before) ? value : f == 2 ? Math.max(before, value) : before + value;
                }
            }
            i = eol + 1;
        }
        return new VllmMetrics(figures[0], figures[1], figures[2], figures[3], figures[4]);
    }

    private static int nameIndex(byte[] text, int from, int eol) {
        int p = from;
        for (int k = 0; k < PREFIX.length(); k++, p++) {
            if (p >= eol || text[p] != PREFIX.charAt(k)) {
                return -1;
            }
        }
        for (int n = 0; n < NAMES.length; n++) {
            byte[] candidate = NAMES[n];
            int end = p + candidate.length;
            if (end < eol && (text[end] == '{' || text[end] == ' ') && regionMatches(text, p, candidate)) {
                return n;
            }
        }
        return -1;
    }

    private static boolean regionMatches(byte[] text, int at, byte[] expected) {
        for (int k = 0; k < expected.length; k++) {
            if (text[at + k] != expected[k]) {
                return false;
            }
        }
        return true;
    }

    /** The sample value: the field after the name and labels (a timestamp may follow it). */
    private static double value(byte[] text, int from, int eol) {
        int p = from;
        boolean inLabels = false;
        boolean inString = false;
        while (p < eol) { // past the name and its labels (label values may hold spaces, braces and escaped quotes)
            byte b = text[p];
            if (inString) {
                if (b == '\\') {
                    p++;
                } else if (b == '"') {
                    inString = false;
                }
            } else if (b == '"') {
                inString = true;
            } else if (b == '{') {
                inLabels = true;
            } else if (b == '}') {
                inLabels = false;
            } else if (b == ' ' && !inLabels) {
                break;
            }
            p++;
        }
        while (p < eol && text[p] == ' ') {
            p++;
        }
        int end = p;
        while (end < eol && text[end] != ' ' && text[end] != '\r') {
            end++;
        }
        if (end == p) {
            return Double.NaN;
        }
        try {
            return Double.parseDouble(new String(text, p, end - p, StandardCharsets.US_ASCII));
        } catch (NumberFormatException e) {
            return Double.NaN;
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }
}
