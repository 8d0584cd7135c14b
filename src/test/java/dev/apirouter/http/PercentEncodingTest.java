package dev.apirouter.http;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PercentEncodingTest {
    @Test
    void everyPercentNeedsTwoHexDigits() {
        assertTrue(PercentEncoding.valid("/v1/admin/models/org%2Fm?x=%41%e9"));
        assertTrue(PercentEncoding.valid("/v1/chat/completions"));
        assertFalse(PercentEncoding.valid("/v1/%zz"));
        assertFalse(PercentEncoding.valid("/v1/a%2"));
        assertFalse(PercentEncoding.valid("/v1/a%"));
        assertFalse(PercentEncoding.valid("/v1/a?q=%g0"));
    }

    @Test
    void theRawPathStopsAtTheQueryOrFragment() {
        assertEquals("/v1/messages", PercentEncoding.rawPath("/v1/messages?beta=true"));
        assertEquals("/v1/messages", PercentEncoding.rawPath("/v1/messages#x"));
        assertEquals("/v1/%zz", PercentEncoding.rawPath("/v1/%zz"));
    }
}
