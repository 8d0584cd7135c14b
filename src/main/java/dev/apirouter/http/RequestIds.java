package dev.apirouter.http;

import java.util.UUID;
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
        return UUID.randomUUID().toString();
    }
}
