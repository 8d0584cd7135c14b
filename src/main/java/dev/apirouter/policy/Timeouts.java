package dev.apirouter.policy;

import java.time.Duration;

/**
 * Upstream timeouts of a model: connect, first response byte (else 504), and silence between chunks of a
 * response that has started (else the stream is ended).
 */
public record Timeouts(Duration connect, Duration firstByte, Duration idle) {
    public static final Duration DEFAULT_CONNECT = Duration.ofSeconds(1);
    public static final Duration DEFAULT_FIRST_BYTE = Duration.ofSeconds(60);
    public static final Duration DEFAULT_IDLE = Duration.ofSeconds(30);
    public static final Timeouts DEFAULTS = new Timeouts(DEFAULT_CONNECT, DEFAULT_FIRST_BYTE, DEFAULT_IDLE);
}
