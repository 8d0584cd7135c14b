package dev.apirouter.limits;

/**
 * The counters cannot answer: Redis is unusable and {@link FailoverCounters} is in {@link FailoverCounters.Mode#CLOSED}
 * mode (refuse rather than limit each replica on its own).
 */
public final class CountersUnavailableException extends RuntimeException {
    public CountersUnavailableException(String message, Throwable cause) {
        super(message, cause, false, false);
    }
}
