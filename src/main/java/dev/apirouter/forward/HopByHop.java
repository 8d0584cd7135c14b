package dev.apirouter.forward;

import java.util.Locale;
import java.util.Set;

/** Which headers never cross the gateway: hop-by-hop headers (RFC 9110 7.6.1) and the client's credentials. */
final class HopByHop {
    private static final Set<String> NEVER_FORWARDED = Set.of(
            "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
            "trailer", "trailers", "transfer-encoding", "upgrade", "host", "content-length", "expect",
            "authorization", "x-api-key");

    private HopByHop() {
    }

    /** True for a request header that must not be sent upstream. */
    static boolean dropFromRequest(String name, String connectionHeader) {
        String lower = name.toLowerCase(Locale.ROOT);
        return NEVER_FORWARDED.contains(lower) || lower.startsWith("camel") || listedIn(connectionHeader, lower);
    }

    /** True for a response header that must not be passed back to the client. */
    static boolean dropFromResponse(String name, String connectionHeader) {
        String lower = name.toLowerCase(Locale.ROOT);
        return (NEVER_FORWARDED.contains(lower) && !lower.equals("content-length")) || listedIn(connectionHeader, lower);
    }

    private static boolean listedIn(String connectionHeader, String lowerName) {
        if (connectionHeader == null) {
            return false;
        }
        for (String token : connectionHeader.split(",")) {
            if (token.trim().toLowerCase(Locale.ROOT).equals(lowerName)) {
                return true;
            }
        }
        return false;
    }
}
