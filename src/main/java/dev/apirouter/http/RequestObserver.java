package dev.apirouter.http;

import org.apache.camel.Exchange;

/** Told about every request the API routes answered, once the response has been handed to the client. */
public interface RequestObserver {
    RequestObserver NONE = (exchange, status, nanos) -> {
    };

    void completed(Exchange exchange, int status, long nanos);

    /** Both observers, {@code first} first. */
    static RequestObserver both(RequestObserver first, RequestObserver second) {
        return (exchange, status, nanos) -> {
            first.completed(exchange, status, nanos);
            second.completed(exchange, status, nanos);
        };
    }
}
