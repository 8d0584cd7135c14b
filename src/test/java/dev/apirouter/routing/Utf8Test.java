package dev.apirouter.routing;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class Utf8Test {
    static int first(int... bytes) {
        byte[] b = new byte[bytes.length];
        for (int i = 0; i < bytes.length; i++) {
            b[i] = (byte) bytes[i];
        }
        return Utf8.firstInvalid(b);
    }

    @Test
    void wellFormedTextOfEveryLengthIsValid() {
        assertEquals(-1, Utf8.firstInvalid("{\"model\":\"llama\"}".getBytes(StandardCharsets.UTF_8)));
        assertEquals(-1, Utf8.firstInvalid("é € 𝄞 \uD7FF \uE000 \uFFFD".getBytes(StandardCharsets.UTF_8)));
        assertEquals(-1, Utf8.firstInvalid(new String(Character.toChars(0x10FFFF)).getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void overlongFormsAreInvalid() {
        assertEquals(1, first('a', 0xC0, 0xAD));       // '-' in two bytes
        assertEquals(0, first(0xC1, 0xBF));
        assertEquals(0, first(0xE0, 0x9F, 0xBF));      // U+07FF in three bytes
        assertEquals(0, first(0xF0, 0x8F, 0xBF, 0xBF)); // U+FFFF in four bytes
    }

    @Test
    void surrogatesAndCodePointsPastTheLastAreInvalid() {
        assertEquals(0, first(0xED, 0xA0, 0x80));      // U+D800
        assertEquals(0, first(0xED, 0xBF, 0xBF));      // U+DFFF
        assertEquals(0, first(0xF4, 0x90, 0x80, 0x80)); // U+110000
        assertEquals(0, first(0xF5, 0x80, 0x80, 0x80));
        assertEquals(0, first(0xFF));
    }

    @Test
    void strayContinuationsTruncatedSequencesAndNulAreInvalid() {
        assertEquals(0, first(0x80));
        assertEquals(2, first('a', 'b', 0xE2, 0x82));  // '€' cut short
        assertEquals(1, first('a', 0xE2, 0x28, 0xA1));  // a bad second byte
        assertEquals(1, first('{', 0x00));
        assertEquals(1, Utf8.firstInvalid("{}".getBytes(StandardCharsets.UTF_16LE)));
    }

    @Test
    void aByteOrderMarkIsFound() {
        assertTrue(Utf8.startsWithByteOrderMark(new byte[] {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF, '{'}));
        assertFalse(Utf8.startsWithByteOrderMark("{}".getBytes(StandardCharsets.UTF_8)));
    }
}
