package dev.apirouter.forward;

import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;

/**
 * The request target a backend receives: the route's own path in origin form, plus the client's query string with
 * its percent-encoding normalised (RFC 3986 6.2.2: hex digits upper-cased, unreserved characters decoded, anything
 * not allowed in a query encoded). Nothing else of what the client wrote — an absolute-form authority, dot segments,
 * encoded dots, a trailing slash — reaches a backend.
 */
public final class RequestTarget {
    private static final char[] HEX = "0123456789ABCDEF".toCharArray();
    /** What a query may carry literally besides unreserved characters (RFC 3986 3.4). */
    private static final String SUB_DELIMS_AND_PCHARS = "!$&'()*+,;=:@/?";

    private RequestTarget() {
    }

    public static String of(String routePath, String rawQuery) {
        if (rawQuery == null || rawQuery.isEmpty()) {
            return routePath;
        }
        StringBuilder out = new StringBuilder(routePath.length() + rawQuery.length() + 8).append(routePath).append('?');
        for (int i = 0; i < rawQuery.length(); i++) {
            int c = rawQuery.charAt(i) & 0xff; // the request line is read byte for byte (ISO-8859-1)
            if (c == '%') {
                int value = i + 2 < rawQuery.length() ? hexPair(rawQuery.charAt(i + 1), rawQuery.charAt(i + 2)) : -1;
                if (value < 0) {
                    throw new GatewayException(ErrorCode.INVALID_REQUEST,
                            "The query string has a '%' that is not followed by two hex digits.");
                }
                appendEncoded(out, value, unreserved(value)); // %41 -> A, %2f -> %2F, %26 stays %26
                i += 2;
            } else {
                appendEncoded(out, c, unreserved(c) || SUB_DELIMS_AND_PCHARS.indexOf(c) >= 0);
            }
        }
        return out.toString();
    }

    private static void appendEncoded(StringBuilder out, int b, boolean literal) {
        if (literal) {
            out.append((char) b);
        } else {
            out.append('%').append(HEX[b >> 4]).append(HEX[b & 0xf]);
        }
    }

    private static boolean unreserved(int b) {
        return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
                || b == '-' || b == '.' || b == '_' || b == '~';
    }

    private static int hexPair(char high, char low) {
        int h = Character.digit(high, 16);
        int l = Character.digit(low, 16);
        return h < 0 || l < 0 ? -1 : h << 4 | l;
    }
}
