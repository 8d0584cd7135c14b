package dev.apirouter.http;

import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

/** The request id of a request: the client's {@code X-Request-Id} when it is sane, else a new one. */
public final class RequestIds {
    private static final Pattern SANE = Pattern.compile("[\\x21-\\x7e]{1,128}");

    private RequestIds() {
    }

    public static String from(String clientValue) {
        if (clientValue != null && SANE.matcher(clientValue).matches()) {
            return clientValue;
        }
        // a random (version 4) UUID; request ids need to be unique, not unpredictable, so no SecureRandom (it locks)
        ThreadLocalRandom random = ThreadLocalRandom.current();
        long high = (random.nextLong() & ~0xF000L) | 0x4000L;
        long low = (random.nextLong() & ~(0xC0L << 56)) | (0x80L << 56);
        return new UUID(high, low).toString();
    }
}
