package dev.apirouter.routing;

/**
 * Strict UTF-8 (RFC 3629, as RFC 8259 requires of JSON exchanged between systems): shortest forms only, no
 * surrogates, nothing past U+10FFFF. JSON text can hold no NUL byte either (a control character must be escaped), which
 * also rules out UTF-16 and UTF-32, whose ASCII characters carry zero bytes: a JSON parser would otherwise detect them
 * and read what the backend, handed the raw bytes, reads differently.
 */
final class Utf8 {
    private Utf8() {
    }

    /** Offset of the first byte that is not strict UTF-8 (or is NUL), or -1 when all of {@code bytes} is. */
    static int firstInvalid(byte[] bytes) {
        int i = 0;
        int n = bytes.length;
        while (i < n) {
            int b = bytes[i];
            if (b > 0) { // ASCII other than NUL: the common case
                i++;
                continue;
            }
            int c = b & 0xff;
            int length;
            int low = 0x80;
            int high = 0xbf;
            if (c == 0 || c < 0xc2) {
                return i; // NUL, a continuation byte, or C0/C1 (an overlong 2-byte form)
            } else if (c < 0xe0) {
                length = 2;
            } else if (c < 0xf0) {
                length = 3;
                if (c == 0xe0) {
                    low = 0xa0; // else overlong
                } else if (c == 0xed) {
                    high = 0x9f; // else a surrogate
                }
            } else if (c < 0xf5) {
                length = 4;
                if (c == 0xf0) {
                    low = 0x90; // else overlong
                } else if (c == 0xf4) {
                    high = 0x8f; // else past U+10FFFF
                }
            } else {
                return i;
            }
            if (i + length > n) {
                return i;
            }
            int second = bytes[i + 1] & 0xff;
            if (second < low || second > high) {
                return i;
            }
            for (int k = 2; k < length; k++) {
                int next = bytes[i + k] & 0xff;
                if (next < 0x80 || next > 0xbf) {
                    return i;
                }
            }
            i += length;
        }
        return -1;
    }

    static boolean startsWithByteOrderMark(byte[] bytes) {
        return bytes.length >= 3 && (bytes[0] & 0xff) == 0xef && (bytes[1] & 0xff) == 0xbb && (bytes[2] & 0xff) == 0xbf;
    }
}
