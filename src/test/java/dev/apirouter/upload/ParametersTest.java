package dev.apirouter.upload;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

class ParametersTest {
    @Test
    void tokensAndQuotedStringsByCaseInsensitiveName() {
        Parameters p = Parameters.of(" name=\"a;b \\\"c\\\"\"; FileName=x.wav ;flag; size = 12 ");
        assertEquals("a;b \"c\"", p.get("name"));
        assertEquals("x.wav", p.get("filename"));
        assertEquals("12", p.get("size"));
        assertNull(p.get("flag"));
        assertNull(p.get("absent"));
    }

    @Test
    void theFirstOfRepeatedNamesCounts() {
        assertEquals("1", Parameters.of("a=1; a=2").get("a"));
        assertEquals("", Parameters.of("boundary=").get("boundary"));
    }
}
