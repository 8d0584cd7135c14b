package dev.apirouter.forward;

import java.nio.charset.StandardCharsets;

import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

class ResponseIdRewriterTest {
    private static String rewrite(String... chunks) {
        ResponseIdRewriter rewriter = new ResponseIdRewriter(".bQ.0011aabb");
        StringBuilder out = new StringBuilder();
        for (String chunk : chunks) {
            out.append(rewriter.accept(Buffer.buffer(chunk.getBytes(StandardCharsets.UTF_8))).toString(StandardCharsets.UTF_8));
        }
        return out.toString();
    }

    @Test
    void theIdOfAJsonAnswerIsPinned() {
        assertEquals("{\"id\":\"resp_ab12\",\"object\":\"response\"}".replace("resp_ab12", "resp_ab12.bQ.0011aabb"),
                rewrite("{\"id\":\"resp_ab12\",\"object\":\"response\"}"));
    }

    @Test
    void everyEventOfAStreamIsPinnedWhateverTheChunking() {
        String event = "event: response.created\ndata: {\"type\":\"response.created\",\"response\":{\"id\":\"resp_9f\","
                + "\"previous_response_id\":\"resp_77\",\"output\":[{\"id\":\"msg_1\"}]}}\n\n";
        String expected = event.replace("resp_9f", "resp_9f.bQ.0011aabb").replace("resp_77", "resp_77.bQ.0011aabb");
        for (int cut = 0; cut <= event.length(); cut++) {
            assertEquals(expected + expected, rewrite(event.substring(0, cut), event.substring(cut) + event), "cut " + cut);
        }
        StringBuilder bytes = new StringBuilder();
        ResponseIdRewriter one = new ResponseIdRewriter(".bQ.0011aabb");
        for (char c : event.toCharArray()) { // a byte at a time
            bytes.append(one.accept(Buffer.buffer(String.valueOf(c))).toString(StandardCharsets.UTF_8));
        }
        assertEquals(expected, bytes.toString());
    }

    @Test
    void textThatOnlyMentionsAnIdIsLeftAlone() {
        for (String text : new String[] {"{\"text\":\"see \\\"resp_12\\\" there\"}", "{\"text\":\"resp_12 is it\"}",
                "{\"a\":\"resp_\"}", "{\"a\":\"resp_x y\"}", "{\"a\":\"xresp_1\"}", "{\"id\":\"msg_1\"}"}) {
            assertEquals(text, rewrite(text));
        }
    }

    @Test
    void aChunkWithoutAnIdIsPassedOnAsItIs() {
        Buffer chunk = Buffer.buffer("event: response.output_text.delta\ndata: {\"delta\":\"Lorem\"}\n\n");
        assertSame(chunk, new ResponseIdRewriter(".x.00000000").accept(chunk));
    }
}
