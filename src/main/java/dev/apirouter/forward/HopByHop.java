package dev.apirouter.forward;

import java.util.Set;
import java.util.TreeSet;

/** Which headers never cross the gateway: hop-by-hop headers (RFC 9110 7.6.1) and the client's credentials. */
final class HopByHop {
    private static final Set<String> NEVER_FORWARDED = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);

    static {
        NEVER_FORWARDED.addAll(Set.of("connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
                "proxy-connection", "te", "trailer", "trailers", "transfer-encoding", "upgrade", "host", "content-length",
                "expect", "authorization", "x-api-key"));
    }

    private HopByHop() {
    }

    /** True for a request header that must not be sent upstream. */
    static boolean dropFromRequest(String name, String connectionHeader) {
        return NEVER_FORWARDED.contains(name) || name.regionMatches(true, 0, "camel", 0, 5)
                || listedIn(connectionHeader, name);
    }

    /** True for a response header that must not be passed back to the client. */
    static boolean dropFromResponse(String name, String connectionHeader) {
        return (NEVER_FORWARDED.contains(name) && !name.equalsIgnoreCase("content-length"))
                || listedIn(connectionHeader, name);
    }

    private static boolean listedIn(String connectionHeader, String name) {
        if (connectionHeader == null) {
            return false;
        }
        for (String token : connectionHeader.split(",")) {
            if (token.trim().equalsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }
}
