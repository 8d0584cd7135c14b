package dev.apirouter.fleet;

import java.util.concurrent.atomic.AtomicInteger;

/** What the gateway knows of one backend (by URL): its requests in flight here, its last scrape, its ejection. */
final class BackendState {
    final AtomicInteger inFlight = new AtomicInteger();
    final Outlier outlier;
    volatile Scrape scrape;
    /** Why the last scrape failed (shown in the status), null after a good one. */
    volatile String scrapeProblem;
    volatile int scrapeFailures;
    /** When the next scrape may start (backing off a backend whose scrapes fail). */
    volatile long nextScrapeAt;
    volatile boolean scraping;

    /** One scrape's figures, when it was taken, and this gateway's in-flight count at that moment. */
    record Scrape(VllmMetrics metrics, long atNanos, int inFlightThen) {
    }

    BackendState(Outlier.Rules outlier) {
        this.outlier = new Outlier(outlier);
    }
}
