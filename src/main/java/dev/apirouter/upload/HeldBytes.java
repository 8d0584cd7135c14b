package dev.apirouter.upload;

/** The budget that the bytes an upload holds in memory are counted in (the gateway's buffered-body budget). */
public interface HeldBytes {
    /** Counts {@code bytes} more; false when the budget has no room for them (nothing is counted then). */
    boolean reserve(long bytes);

    /** Counts {@code bytes} fewer: they were reserved, and are no longer held. */
    void unreserve(long bytes);
}
