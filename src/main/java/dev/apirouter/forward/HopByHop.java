package dev.apirouter.forward;

import java.util.ArrayList;
import java.util.List;

/** Which headers never cross the gateway: hop-by-hop headers (RFC 9110 7.6.1) and the client's credentials. */
final class HopByHop {
    private static final List<String> NAMES = List.of("connection", "keep-alive", "proxy-authenticate",
            "proxy-authorization", "proxy-connection", "te", "trailer", "trailers", "transfer-encoding", "upgrade", "host",
            "content-length", "expect", "authorization", "x-api-key");
    /** The names by length: every header of every request is looked up, so without hashing or lower-casing it. */
    private static final String[][] BY_LENGTH = byLength();

    private static String[][] byLength() {
        int longest = NAMES.stream().mapToInt(String::length).max().orElse(0);
        List<List<String>> lists = new ArrayList<>();
        for (int i = 0; i <= longest; i++) {
            lists.add(new ArrayList<>());
        }
        NAMES.forEach(n -> lists.get(n.length()).add(n));
        return lists.stream().map(l -> l.toArray(String[]::new)).toArray(String[][]::new);
    }

    private static boolean neverForwarded(String name) {
        if (name.length() >= BY_LENGTH.length) {
            return false;
        }
        for (String candidate : BY_LENGTH[name.length()]) {
            if (candidate.equalsIgnoreCase(name)) {
                return true;
            }
        }
        return false;
    }

    private HopByHop() {
    }

    /** True for a request header that must not be sent upstream. */
    static boolean dropFromRequest(String name, String connectionHeader) {
        return neverForwarded(name) || name.regionMatches(true, 0, "camel", 0, 5)
                || listedIn(connectionHeader, name);
    }

    /** True for a response header that must not be passed back to the client. */
    static boolean dropFromResponse(String name, String connectionHeader) {
        return (neverForwarded(name) && !name.equalsIgnoreCase("content-length"))
                || listedIn(connectionHeader, name);
    }

    private static boolean listedIn(String connectionHeader, String name) {
        if (connectionHeader == null) {
            return false;
        }
        int from = 0;
        while (from <= connectionHeader.length()) { // the comma-separated tokens, without splitting
            int comma = connectionHeader.indexOf(',', from);
            int end = comma < 0 ? connectionHeader.length() : comma;
            int start = from;
            while (start < end && connectionHeader.charAt(start) == ' ') {
                start++;
            }
            int last = end;
            while (last > start && connectionHeader.charAt(last - 1) == ' ') {
                last--;
            }
            if (last - start == name.length() && connectionHeader.regionMatches(true, start, name, 0, name.length())) {
                return true;
            }
            from = end + 1;
        }
        return false;
    }
}
