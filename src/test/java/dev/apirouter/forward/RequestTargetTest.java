package dev.apirouter.forward;

import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RequestTargetTest {
    @Test
    void withoutAQueryTheTargetIsTheRoutePath() {
        assertEquals("/v1/chat/completions", RequestTarget.of("/v1/chat/completions", null));
        assertEquals("/v1/chat/completions", RequestTarget.of("/v1/chat/completions", ""));
    }

    @Test
    void percentEncodingIsNormalised() {
        assertEquals("/p?a=A&b=%2F&c=.~-_", RequestTarget.of("/p", "a=%41&b=%2f&c=%2e%7E%2D%5f"));
        assertEquals("/p?q=c%20d&r=%C3%A9", RequestTarget.of("/p", "q=c%20d&r=%c3%a9"));
    }

    @Test
    void delimitersKeepTheirMeaning() {
        assertEquals("/p?a=1&b=x%26y%3Dz&c=:@/?!$'()*+,;", RequestTarget.of("/p", "a=1&b=x%26y%3dz&c=:@/?!$'()*+,;"));
    }

    @Test
    void charactersAQueryMayNotCarryAreEncoded() {
        assertEquals("/p?g=%3Cx%3E%22%20%7B%7C%7D%5C%5E%60%23", RequestTarget.of("/p", "g=<x>\" {|}\\^`#"));
        assertEquals("/p?e=%C3%A9", RequestTarget.of("/p", "e=\u00c3\u00a9")); // raw UTF-8 bytes, read as ISO-8859-1
    }

    @Test
    void aBrokenPercentSequenceIs400() {
        for (String query : new String[] {"a=%zz", "a=%4", "a=%"}) {
            GatewayException e = assertThrows(GatewayException.class, () -> RequestTarget.of("/p", query));
            assertEquals(ErrorCode.INVALID_REQUEST, e.code());
        }
    }
}
