package dev.apirouter.forward;

import java.nio.charset.StandardCharsets;

import io.vertx.core.buffer.Buffer;

/**
 * Pins the Responses API's ids in an answer on its way to the client, chunk by chunk: every JSON string whose value
 * is a response id ({@code resp_} and id characters: letters, digits, {@code _}, {@code -}) gets the suffix that names
 * the backend ({@link ResponseIds#suffix}) before its closing quote. That covers the response's {@code id} in a JSON
 * answer and in every event of a stream (and a {@code previous_response_id} it echoes), whatever the chunking; an
 * escaped quote inside a text does not open a string. Nothing is held back: the suffix is written when the closing
 * quote arrives. A chunk without an id to pin is passed on as it is, without a copy.
 * <p>
 * The answer's length changes, so a sized answer is sent chunked. A generated text that is exactly {@code resp_...}
 * as a whole JSON string (not inside a sentence) would get the suffix too. Not thread-safe: one answer, on its
 * event loop.
 */
final class ResponseIdRewriter {
    private static final byte[] OPENING = "\"resp_".getBytes(StandardCharsets.US_ASCII);

    private final byte[] suffix;
    /** How many bytes of {@link #OPENING} the last bytes matched. */
    private int matched;
    /** After an opening: inside an id, waiting for its closing quote. */
    private boolean inId;
    private int idChars;
    private byte previous;

    ResponseIdRewriter(String suffix) {
        this.suffix = suffix.getBytes(StandardCharsets.US_ASCII);
    }

    Buffer accept(Buffer chunk) {
        Buffer out = null;
        int copied = 0;
        for (int i = 0, n = chunk.length(); i < n; i++) {
            byte b = chunk.getByte(i);
            if (inId) {
                if (b == '"' && idChars > 0) {
                    if (out == null) {
                        out = Buffer.buffer(n + 2 * suffix.length);
                    }
                    out.appendBuffer(chunk, copied, i - copied).appendBytes(suffix);
                    copied = i;
                    inId = false;
                } else if (idChar(b)) {
                    idChars++;
                } else {
                    inId = false;
                }
            } else if (b == OPENING[matched] && (matched > 0 || previous != '\\')) {
                if (++matched == OPENING.length) {
                    matched = 0;
                    inId = true;
                    idChars = 0;
                }
            } else {
                matched = b == '"' && previous != '\\' ? 1 : 0;
            }
            previous = b;
        }
        if (out == null) {
            return chunk;
        }
        return out.appendBuffer(chunk, copied, chunk.length() - copied);
    }

    private static boolean idChar(byte b) {
        return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '_' || b == '-';
    }
}
