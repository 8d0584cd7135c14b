package dev.apirouter.error;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;

/**
 * One kind of log line that clients or failing peers can trigger at any rate: the first one of each window is
 * logged, the others only counted, and the count is said with the next one logged. A flood of N lines becomes one
 * line per window.
 */
public final class RepeatingLog {
    private final Logger log;
    private final long windowNanos;
    private final AtomicLong windowStart;
    private final AtomicLong suppressed = new AtomicLong();

    public RepeatingLog(Logger log, Duration window) {
        this.log = log;
        this.windowNanos = window.toNanos();
        this.windowStart = new AtomicLong(System.nanoTime() - windowNanos);
    }

    public void warn(String message) {
        String line = next(message);
        if (line != null) {
            log.warn(line);
        }
    }

    public void error(String message, Throwable cause) {
        String line = next(message);
        if (line != null) {
            log.error(line, cause);
        }
    }

    /** The line to log now, or null when this one is only counted. */
    private String next(String message) {
        long now = System.nanoTime();
        long start = windowStart.get();
        if (now - start < windowNanos || !windowStart.compareAndSet(start, now)) {
            suppressed.incrementAndGet();
            return null;
        }
        long before = suppressed.getAndSet(0);
        return before == 0 ? message
                : message + " (and " + before + " more like it in the " + Duration.ofNanos(windowNanos).toSeconds()
                        + " s before, not logged)";
    }
}
