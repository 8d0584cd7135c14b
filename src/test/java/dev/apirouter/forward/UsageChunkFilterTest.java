package dev.apirouter.forward;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

class UsageChunkFilterTest {
    private static final String HEAD = "{\"id\":\"chatcmpl-7f3\",\"object\":\"chat.completion.chunk\",\"created\":1718000000,"
            + "\"model\":\"meta-llama/Llama-3.1-8B-Instruct\",";
    private static final String ROLE = "data: " + HEAD + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
            + "\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";
    private static final String USAGE = "data: " + HEAD + "\"choices\":[],\"usage\":{\"prompt_tokens\":12,"
            + "\"total_tokens\":15,\"completion_tokens\":3}}\n\n";
    private static final String DONE = "data: [DONE]\n\n";

    private static String token(String content, String extra) {
        return "data: " + HEAD + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + content + "\"},\"logprobs\":null,"
                + "\"finish_reason\":null}]" + extra + "}\n\n";
    }

    /** A vLLM stream of three tokens (UTF-8 among them); with its usage chunk when {@code usage}. */
    private static String stream(boolean usage) {
        return ROLE + token("Héllo", "") + token(" wörld ☃", "") + token("\\n\\\"choices\\\":[]", "")
                + (usage ? USAGE : "") + DONE;
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Runs the filter over {@code bytes} cut at {@code cuts}; returns what reached the client. */
    private static String filter(byte[] bytes, int... cuts) {
        UsageChunkFilter filter = new UsageChunkFilter();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int from = 0;
        for (int i = 0; i <= cuts.length; i++) {
            int to = i < cuts.length ? cuts[i] : bytes.length;
            out.writeBytes(filter.accept(Buffer.buffer(Arrays.copyOfRange(bytes, from, to))).getBytes());
            from = to;
        }
        Buffer rest = filter.finish();
        if (rest != null) {
            out.writeBytes(rest.getBytes());
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void theUsageChunkIsRemovedWhereverTheStreamIsCut() {
        byte[] bytes = utf8(stream(true));
        String expected = stream(false);
        assertEquals(expected, filter(bytes));
        for (int cut = 0; cut <= bytes.length; cut++) {
            assertEquals(expected, filter(bytes, cut), "cut at " + cut);
        }
        int[] everyByte = new int[bytes.length - 1];
        for (int i = 0; i < everyByte.length; i++) {
            everyByte[i] = i + 1;
        }
        assertEquals(expected, filter(bytes, everyByte));
    }

    @Test
    void cutsAtAnyTwoPlacesAroundTheUsageChunkAndRandomCutsElsewhere() {
        String text = stream(true);
        byte[] bytes = utf8(text);
        String expected = stream(false);
        int usageAt = utf8(text.substring(0, text.indexOf(USAGE))).length;
        for (int a = usageAt - 40; a <= usageAt + USAGE.length() + 5; a++) {
            for (int b = a; b <= usageAt + USAGE.length() + 5; b++) {
                assertEquals(expected, filter(bytes, a, b), "cuts at " + a + ", " + b);
            }
        }
        Random random = new Random(14);
        for (int run = 0; run < 2000; run++) {
            int[] cuts = random.ints(1 + random.nextInt(12), 0, bytes.length + 1).sorted().toArray();
            assertEquals(expected, filter(bytes, cuts), () -> "cuts at " + Arrays.toString(cuts));
        }
    }

    @Test
    void crlfLineEndsWork() {
        byte[] bytes = utf8(stream(true).replace("\n", "\r\n"));
        String expected = stream(false).replace("\n", "\r\n");
        for (int cut = 0; cut <= bytes.length; cut++) {
            assertEquals(expected, filter(bytes, cut), "cut at " + cut);
        }
    }

    @Test
    void continuousUsageChunksCarryChoicesAndPassOnlyTheUsageOnlyOneGoes() {
        String usage = ",\"usage\":{\"prompt_tokens\":12,\"total_tokens\":13,\"completion_tokens\":1}";
        String kept = ROLE.replace("]}\n", "]" + usage + "}\n") + token("a", usage) + token("b", usage);
        byte[] bytes = utf8(kept + USAGE + DONE);
        for (int cut = 0; cut <= bytes.length; cut++) {
            assertEquals(kept + DONE, filter(bytes, cut), "cut at " + cut);
        }
    }

    @Test
    void aChunkNothingOfWhichIsRemovedOrHeldIsHandedOnAsItIs() {
        UsageChunkFilter filter = new UsageChunkFilter();
        for (String event : List.of(ROLE, token("x", ""), ROLE + token("y", ""), ": ping\n\n", "\n", DONE)) {
            Buffer chunk = Buffer.buffer(event);
            assertSame(chunk, filter.accept(chunk));
        }
        assertNull(filter.finish());
    }

    @Test
    void onlyAUsageOnlyDataEventGoes() {
        List<String> kept = new ArrayList<>(List.of(
                "data: {\"choices\":[],\"usage\":null}\n\n",
                "data: {\"choices\":[]}\n\n",
                "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\ndata: x\n\n",
                "event: usage\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":1}}\n\n",
                "data: {\"error\":{\"message\":\"choices\"}}\n\n",
                "data:  {\"choices\":[],\"usage\":{}}\n\n",
                "data: {\"x\":\"choices\",\"choices\":[{}]}\n\n"));
        for (String event : kept) {
            assertEquals(event + DONE, filter(utf8(event + DONE)), event);
        }
        assertEquals(DONE, filter(utf8("data:{ \"usage\" : {\"prompt_tokens\":1}, \"choices\" : [ ] }\n\n" + DONE)));
        assertEquals(DONE, filter(utf8("data: {\"x\":\"choices\",\"choices\":[],\"usage\":{}}\n\n" + DONE)));
    }

    @Test
    void anEventCutOffByTheStreamsEndIsPassedOn() {
        String partial = USAGE.substring(0, USAGE.length() - 1);
        assertEquals(ROLE + partial, filter(utf8(ROLE + partial), ROLE.length() + 10));
    }

    @Test
    void anUndecidedEventLargerThanTheHoldLimitIsPassedOn() {
        String big = "data: {\"id\":\"" + "x".repeat(UsageChunkFilter.HOLD_LIMIT) + "\",\"choices\":[],\"usage\":{}}\n\n";
        byte[] bytes = utf8(big + DONE);
        assertEquals(big + DONE, filter(bytes, 100, 2000, 4000, 4110));
    }
}
