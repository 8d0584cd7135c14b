package dev.apirouter.forward;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HopByHopTest {
    @Test
    void hopByHopHeadersAndCredentialsStayWhateverTheirCase() {
        for (String name : new String[] {"Connection", "keep-alive", "TE", "Transfer-Encoding", "Upgrade", "Host",
            "Proxy-Authorization", "Authorization", "X-API-KEY", "Content-Length", "Expect", "Trailer"}) {
            assertTrue(HopByHop.dropFromRequest(name, null), name);
        }
        assertTrue(HopByHop.dropFromRequest("CamelHttpUri", null), "Camel's own headers");
        assertFalse(HopByHop.dropFromRequest("Content-Type", null));
        assertFalse(HopByHop.dropFromRequest("X-Request-Id", null));
        assertFalse(HopByHop.dropFromRequest("traceparent", null));
        assertFalse(HopByHop.dropFromRequest("X-Tenant-Authorization-Hint", null), "longer than any listed name");
    }

    @Test
    void headersNamedInConnectionAreHopByHop() {
        assertTrue(HopByHop.dropFromRequest("X-Secret", "keep-alive, x-secret"));
        assertTrue(HopByHop.dropFromResponse("X-Debug", "X-Debug"));
        assertFalse(HopByHop.dropFromResponse("X-Other", "X-Debug"));
    }

    @Test
    void theResponseKeepsItsContentLength() {
        assertFalse(HopByHop.dropFromResponse("Content-Length", null));
        assertTrue(HopByHop.dropFromResponse("Transfer-Encoding", null));
        assertFalse(HopByHop.dropFromResponse("Content-Type", null));
    }
}
