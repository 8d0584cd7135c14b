package dev.apirouter.http;

/**
 * Checks a request target's percent-encoding before anything decodes it: a {@code %} must be followed by two hex
 * digits. Vert.x's router and Netty's decoders throw on a broken escape ({@code /v1/%zz}), which would otherwise end
 * as a dropped connection or a logged stack trace instead of a {@code 400}.
 */
final class PercentEncoding {
    static final String MESSAGE = "The request target has a '%' not followed by two hex digits.";

    private PercentEncoding() {
    }

    static boolean valid(CharSequence target) {
        for (int i = 0, n = target.length(); i < n; i++) {
            if (target.charAt(i) == '%'
                    && (i + 2 >= n || !hex(target.charAt(i + 1)) || !hex(target.charAt(i + 2)))) {
                return false;
            }
        }
        return true;
    }

    /** The path of a target as sent, without decoding: up to the query or fragment. */
    static String rawPath(String target) {
        int end = target.length();
        for (int i = 0; i < end; i++) {
            char c = target.charAt(i);
            if (c == '?' || c == '#') {
                end = i;
            }
        }
        return target.substring(0, end);
    }

    private static boolean hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    }
}
