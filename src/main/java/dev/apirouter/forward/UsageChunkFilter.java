package dev.apirouter.forward;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.netty.buffer.ByteBuf;
import io.vertx.core.buffer.Buffer;

/**
 * Removes the usage-only event from a stream of Server-Sent Events, for a client that did not ask for it: the
 * gateway asked the backend for it ({@code stream_options.include_usage}) to count the stream's tokens. That event is
 * a single {@code data:} line whose JSON object has {@code "choices":[]} and a {@code usage} object (vLLM sends it
 * last, before {@code data: [DONE]}); it goes, blank line included. Every other byte passes unchanged.
 * <p>
 * The stream is read as it arrives, in chunks cut anywhere. Each event is followed byte by byte only as far as
 * needed to tell that it is not the usage-only one: it does not start with {@code data: {}, or the first
 * {@code "choices"} key of its line opens a non-empty array (a token's chunk, some hundred bytes in). From then on it
 * passes, and a chunk none of whose bytes is removed or held is handed on as it is: no copy, no delay. Only an event
 * still undecided when its chunk ends is held (copied) until the next chunk decides it; one whose choices are empty is
 * held to its end, then read with a JSON parser (once per stream) before it is dropped. An undecided event larger than
 * {@link #HOLD_LIMIT} is not the usage-only one (vLLM's is a few hundred bytes) and is passed on.
 * <p>
 * Not thread-safe: one response, on its event loop.
 */
final class UsageChunkFilter {
    static final int HOLD_LIMIT = 4096;
    private static final JsonFactory JSON = new JsonFactory();
    private static final byte[] DATA = "data:".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] CHOICES = "\"choices\"".getBytes(StandardCharsets.US_ASCII);

    // where the event under way stands; all but PASS hold it while it could be the usage-only one
    private static final int PREFIX = 0; // its first bytes: "data:", an optional space, "{"
    private static final int KEY = 1; // looking for "choices" in its first line
    private static final int COLON = 2; // after the key
    private static final int BRACKET = 3; // after the colon
    private static final int ELEMENT = 4; // after the opening bracket: ']' or a first element
    private static final int EMPTY = 5; // "choices":[] seen: to the end of the line
    private static final int LINE_END = 6; // its first line ended: a blank line ends the event, any other passes it
    private static final int PASS = 7; // not the usage-only event: passed on to its end

    private int state = PREFIX;
    private int matched; // bytes of DATA (with its space) or of CHOICES matched so far
    private boolean lineStart = true; // when passing: at the start of a line, where '\n' ends the event
    private Buffer held; // the undecided event's bytes from earlier chunks

    /**
     * What of {@code chunk} goes to the client now: {@code chunk} itself when nothing of it is removed or held
     * (the common case), else a part of it or a new buffer; possibly empty.
     */
    Buffer accept(Buffer chunk) {
        int n = chunk.length();
        if (n == 0) {
            return chunk;
        }
        ByteBuf buf = chunk.getByteBuf();
        byte[] bytes;
        int base;
        if (buf.hasArray()) {
            bytes = buf.array();
            base = buf.arrayOffset() + buf.readerIndex();
        } else {
            bytes = chunk.getBytes();
            base = 0;
        }
        Buffer out = held; // held bytes are never decided by now, so they come first, if at all
        held = null;
        boolean heldBefore = out != null;
        int from = 0; // chunk bytes before it are in out, or dropped
        int eventStart = 0; // where the undecided event's bytes in this chunk begin
        int state = this.state; // in locals while the chunk is read: a field written per byte costs 3x
        int matched = this.matched;
        boolean lineStart = this.lineStart;
        int i = 0;
        while (i < n) {
            byte b = bytes[base + i];
            switch (state) {
                case PASS -> {
                    heldBefore = false; // flushed with out
                    while (b != '\n') { // the rest of the line, in a tight loop
                        if (b != '\r') {
                            lineStart = false;
                        }
                        if (++i == n) {
                            break;
                        }
                        b = bytes[base + i];
                    }
                    if (i < n) {
                        if (lineStart) {
                            state = PREFIX;
                            matched = 0;
                            eventStart = i + 1;
                        }
                        lineStart = true;
                        i++;
                    }
                    continue;
                }
                case PREFIX -> {
                    if (matched == 0 && b == '\n') { // a blank line between events
                        eventStart = i + 1;
                    } else if (matched < DATA.length && b == DATA[matched]
                            || matched == DATA.length && b == ' ') {
                        matched++;
                    } else if (matched >= DATA.length && b == '{') {
                        state = KEY;
                        matched = 0;
                    } else { // reread as passing
                        lineStart = matched == 0;
                        state = PASS;
                        continue;
                    }
                }
                case KEY -> {
                    if (matched == 0) { // to the next quote, in a tight loop
                        while (b != '"' && b != '\n' && ++i < n) {
                            b = bytes[base + i];
                        }
                        if (i == n) {
                            continue;
                        }
                    }
                    if (b == CHOICES[matched]) {
                        if (++matched == CHOICES.length) {
                            state = COLON;
                        }
                    } else if (b == '\n') {
                        lineStart = false;
                        state = PASS;
                        continue;
                    } else {
                        matched = b == '"' ? 1 : 0;
                    }
                }
                case COLON, BRACKET, ELEMENT -> {
                    if (b != ' ' && b != '\t' && b != '\r') {
                        if (state == COLON && b == ':') {
                            state = BRACKET;
                        } else if (state == BRACKET && b == '[') {
                            state = ELEMENT;
                        } else if (state == ELEMENT && b == ']') {
                            state = EMPTY;
                        } else if (state == COLON) { // a string "choices", not the key
                            state = KEY;
                            matched = 0;
                            continue;
                        } else { // choices with an element, or not an array
                            lineStart = false;
                            state = PASS;
                            continue;
                        }
                    }
                }
                case EMPTY -> {
                    if (b == '\n') {
                        state = LINE_END;
                    }
                }
                default -> { // LINE_END
                    if (b == '\n') { // the event is complete
                        if (usageOnly(out, heldBefore, chunk, eventStart, i + 1)) {
                            out = heldBefore ? null : append(out, chunk, from, eventStart);
                            from = i + 1;
                        }
                        heldBefore = false;
                        state = PREFIX;
                        matched = 0;
                        eventStart = i + 1;
                    } else if (b != '\r') {
                        lineStart = true;
                        state = PASS;
                        continue;
                    }
                }
            }
            i++;
        }
        this.state = state;
        this.matched = matched;
        this.lineStart = lineStart;
        int end = n;
        if (state != PASS && eventStart < n) { // undecided at the chunk's end
            int heldBytes = (heldBefore ? out.length() : 0) + n - eventStart;
            if (heldBytes > HOLD_LIMIT) {
                pass();
            } else {
                end = eventStart;
                held = heldBefore ? out.appendBuffer(chunk, eventStart, n - eventStart)
                        : Buffer.buffer(heldBytes).appendBuffer(chunk, eventStart, n - eventStart);
                out = heldBefore ? null : out;
            }
        }
        if (out == null) {
            return from == 0 && end == n ? chunk : chunk.slice(from, end);
        }
        return append(out, chunk, from, end);
    }

    /** The bytes of an event left undecided when the stream ended (passed on as they are), or null. */
    Buffer finish() {
        Buffer rest = held;
        held = null;
        return rest;
    }

    /** The event under way is not the usage-only one: it passes from here on, and what was held goes with it. */
    private void pass() {
        lineStart = state == LINE_END || state == PREFIX && matched == 0;
        state = PASS;
    }

    private static Buffer append(Buffer out, Buffer chunk, int from, int to) {
        Buffer into = out != null ? out : Buffer.buffer(to - from);
        return from < to ? into.appendBuffer(chunk, from, to - from) : into;
    }

    /**
     * Whether the complete event (the held bytes, when {@code heldBefore}, then {@code chunk[from, to)}) is the
     * usage-only one: its JSON has {@code "choices":[]} and a {@code usage} object at the top level.
     */
    private static boolean usageOnly(Buffer held, boolean heldBefore, Buffer chunk, int from, int to) {
        Buffer event = heldBefore ? held.copy().appendBuffer(chunk, from, to - from) : chunk.slice(from, to);
        byte[] bytes = event.getBytes();
        int open = 0;
        while (bytes[open] != '{') {
            open++;
        }
        try (JsonParser p = JSON.createParser(bytes, open, bytes.length - open)) {
            p.nextToken();
            boolean emptyChoices = false;
            boolean usage = false;
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if ("choices".equals(name)) {
                    if (value != JsonToken.START_ARRAY || p.nextToken() != JsonToken.END_ARRAY) {
                        return false;
                    }
                    emptyChoices = true;
                } else {
                    usage |= "usage".equals(name) && value == JsonToken.START_OBJECT;
                    p.skipChildren();
                }
            }
            return emptyChoices && usage && p.currentToken() == JsonToken.END_OBJECT;
        } catch (IOException e) {
            return false;
        }
    }
}
