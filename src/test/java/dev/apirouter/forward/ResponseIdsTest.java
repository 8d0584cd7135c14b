package dev.apirouter.forward;

import java.util.Optional;

import dev.apirouter.policy.Backend;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ResponseIdsTest {
    private static final Backend B0 = new Backend("http://vllm-0:8000", 1);
    private static final Backend B1 = new Backend("http://vllm-1:8000", 1);

    @Test
    void aPinnedIdDecodesToTheBackendsIdTheModelAndTheBackend() {
        String id = ResponseIds.pin("resp_0123abcd", "meta-llama/Llama 3 ü", B1);
        assertTrue(id.startsWith("resp_0123abcd."), id);
        assertTrue(id.matches("[A-Za-z0-9_.-]+"), "safe in a URL path segment: " + id);
        ResponseIds.Pinned pinned = ResponseIds.decode(id).orElseThrow();
        assertEquals("resp_0123abcd", pinned.responseId());
        assertEquals("meta-llama/Llama 3 ü", pinned.model());
        assertTrue(pinned.isOn(B1));
        assertFalse(pinned.isOn(B0));
        assertEquals("resp_a.b", ResponseIds.decode(ResponseIds.pin("resp_a.b", "m", B0)).orElseThrow().responseId(),
                "a backend id with dots of its own");
    }

    @Test
    void anIdTheGatewayDidNotGiveOutDoesNotDecode() {
        String good = ResponseIds.pin("resp_1", "m", B0);
        String tag = good.substring(good.lastIndexOf('.') + 1);
        for (String id : new String[] {null, "", "resp_1", "resp_1.bQ", ".bQ." + tag, "resp_1.." + tag,
                "resp_1.bQ." + tag.substring(1), "resp_1.bQ." + tag.toUpperCase(), "resp_1.b*Q." + tag,
                "resp_1.bQ.zzzzzzzz", "resp_1.IA." + tag, "../../v1/chat/completions.bQ." + tag,
                "resp/1.bQ." + tag, "resp_1?x=1.bQ." + tag, "resp%2F1.bQ." + tag, "..bQ." + tag}) {
            assertEquals(Optional.empty(), ResponseIds.decode(id), String.valueOf(id));
        }
    }
}
