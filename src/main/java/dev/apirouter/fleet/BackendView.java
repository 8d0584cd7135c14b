package dev.apirouter.fleet;

/**
 * One backend's figures at a moment, for people (status, readiness) and metrics.
 *
 * @param state         {@code serving}, {@code ejected} or {@code half-open}
 * @param ejectedForMs  how long the ejection still lasts, 0 when serving
 * @param metrics       the last scrape when it is fresh, else null
 * @param scrapedAgoMs  age of the last scrape, -1 when there was none
 * @param scrapeProblem why the last scrape failed, null when it did not
 */
public record BackendView(int inFlight, String state, long ejectedForMs, long ejections, VllmMetrics metrics,
                          long scrapedAgoMs, String scrapeProblem) {
    static BackendView of(BackendState s, BackendState.Scrape fresh, long now) {
        BackendState.Scrape last = s.scrape;
        String state = switch (s.outlier.state(now)) {
            case SERVING -> "serving";
            case EJECTED -> "ejected";
            case HALF_OPEN -> "half-open";
        };
        return new BackendView(s.inFlight.get(), state, s.outlier.remainingNanos(now) / 1_000_000,
                s.outlier.totalEjections(), fresh == null ? null : fresh.metrics(),
                last == null ? -1 : (now - last.atNanos()) / 1_000_000, s.scrapeProblem);
    }

    /** The fleet's prefix cache hit ratio on this backend since it started (hits / queries), NaN when unknown. */
    public double prefixCacheHitRatio() {
        if (metrics == null || !(metrics.prefixCacheQueries() > 0)) {
            return Double.NaN;
        }
        return metrics.prefixCacheHits() / metrics.prefixCacheQueries();
    }
}
