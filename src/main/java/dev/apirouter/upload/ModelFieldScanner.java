package dev.apirouter.upload;

import java.nio.charset.StandardCharsets;
import java.util.Locale;

import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import io.netty.buffer.ByteBuf;
import io.vertx.core.buffer.Buffer;

/**
 * Finds the {@code model} field of a {@code multipart/form-data} body (RFC 7578) in its leading bytes, as they
 * arrive: an incremental scan over the bytes held so far, resumed where it stopped when more arrive. Parts before the
 * model (a file among them, when the client sends it first) are stepped over by their boundary alone; nothing of them
 * is kept here. Once the model is known the scan goes on over the rest of the body as it streams past
 * ({@link #discard}), looking only at part headers: a second {@code model} field is refused, since the backend would
 * read the last one, not the one the gateway authorized and routed by.
 */
public final class ModelFieldScanner {
    /** Longest preamble before the first boundary, and longest header block of one part. */
    static final int MAX_HEADER_BYTES = 16 * 1024;
    private static final byte[] CRLF_CRLF = {'\r', '\n', '\r', '\n'};
    private static final String MULTIPART_FORM = "multipart/form-data";

    private enum State { PREAMBLE, AFTER_DELIMITER, HEADERS, VALUE, CLOSED }

    private final byte[] dashBoundary;
    private final byte[] delimiter;
    private State state = State.PREAMBLE;
    private int pos;
    private int valueStart;
    private boolean modelPart;
    private String model;
    private int modelStart;
    private int modelEnd;

    public ModelFieldScanner(String boundary) {
        this.dashBoundary = ("--" + boundary).getBytes(StandardCharsets.US_ASCII);
        this.delimiter = ("\r\n--" + boundary).getBytes(StandardCharsets.US_ASCII);
    }

    /**
     * The boundary of a {@code multipart/form-data} content type (RFC 2046: 1 to 70 characters of its set, quoted
     * or not).
     *
     * @throws GatewayException 400 when the type is another, or the boundary is missing or invalid
     */
    public static String boundary(String contentType) {
        if (!isMultipartForm(contentType)) {
            throw invalid("The request must be multipart/form-data (a 'file' and a 'model' field).");
        }
        String value = Parameters.of(contentType.substring(contentType.indexOf(';') + 1)).get("boundary");
        if (value == null || value.isEmpty() || value.length() > 70 || value.endsWith(" ")) {
            throw invalid("The multipart/form-data content type has no valid boundary (1 to 70 characters).");
        }
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || "'()+_,-./:=? ".indexOf(c) >= 0)) {
                throw invalid("The multipart/form-data boundary has a character RFC 2046 does not allow.");
            }
        }
        return value;
    }

    /**
     * Whether {@code contentType} is {@code multipart/form-data} (with or without parameters). Asked of every request
     * with a body, so without allocating.
     */
    public static boolean isMultipartForm(String contentType) {
        if (contentType == null) {
            return false;
        }
        int start = 0;
        while (start < contentType.length() && contentType.charAt(start) == ' ') {
            start++;
        }
        int end = start + MULTIPART_FORM.length();
        if (!contentType.regionMatches(true, start, MULTIPART_FORM, 0, MULTIPART_FORM.length())) {
            return false;
        }
        while (end < contentType.length() && (contentType.charAt(end) == ' ' || contentType.charAt(end) == '\t')) {
            end++;
        }
        return end == contentType.length() || contentType.charAt(end) == ';';
    }

    /**
     * Reads {@code held} from where the last call stopped.
     *
     * @param held  the body's bytes so far, from its first one or from where {@link #discard} left off
     * @param ended whether the body is whole
     * @return true once the model field's value is whole (then {@link #model()} and its offsets are known); it
     *         returns at once when it becomes whole, the bytes after it left for the next call
     * @throws GatewayException 400 when the body is not a form this scan can read, ends without a model field or
     *                          has a second one
     */
    public boolean scan(Buffer held, boolean ended) {
        int length = held.length();
        while (true) {
            switch (state) {
                case CLOSED -> {
                    return true; // the epilogue, if any, is not looked at
                }
                case PREAMBLE -> {
                    int at = firstDelimiter(held);
                    if (at < 0) {
                        if (length > MAX_HEADER_BYTES) {
                            throw invalid("The multipart body does not start with the boundary its content type names.");
                        }
                        return needMore(ended);
                    }
                    pos = at + dashBoundary.length;
                    state = State.AFTER_DELIMITER;
                }
                case AFTER_DELIMITER -> {
                    int p = pos;
                    while (p < length && (held.getByte(p) == ' ' || held.getByte(p) == '\t')) {
                        p++;
                    }
                    if (length - p < 2) {
                        return needMore(ended);
                    }
                    if (held.getByte(p) == '-' && held.getByte(p + 1) == '-') {
                        if (model == null) {
                            throw invalid("The multipart form has no 'model' field.");
                        }
                        state = State.CLOSED;
                        continue;
                    }
                    if (held.getByte(p) != '\r' || held.getByte(p + 1) != '\n') {
                        throw invalid("The multipart body is malformed: a boundary line does not end with CRLF.");
                    }
                    pos = p + 2;
                    state = State.HEADERS;
                }
                case HEADERS -> {
                    int end = indexOf(held, CRLF_CRLF, pos - 2); // an empty header block is CRLF CRLF at once
                    if (end < 0) {
                        if (length - pos > MAX_HEADER_BYTES) {
                            throw invalid("A part of the multipart body has headers over " + MAX_HEADER_BYTES + " bytes.");
                        }
                        return needMore(ended);
                    }
                    modelPart = isModelPart(end > pos ? held.getString(pos, end, "UTF-8") : "");
                    if (modelPart && model != null) {
                        throw invalid("The multipart form has more than one 'model' field.");
                    }
                    valueStart = end + 4;
                    pos = valueStart;
                    state = State.VALUE;
                }
                case VALUE -> {
                    int at = indexOf(held, delimiter, pos);
                    if (at < 0) {
                        pos = Math.max(pos, length - delimiter.length + 1);
                        return needMore(ended);
                    }
                    pos = at + delimiter.length;
                    state = State.AFTER_DELIMITER;
                    if (modelPart) {
                        model = held.getString(valueStart, at, "UTF-8");
                        if (model.isBlank()) {
                            throw invalid("'model' must not be empty.");
                        }
                        modelStart = valueStart;
                        modelEnd = at;
                        return true;
                    }
                }
            }
        }
    }

    /** The model named; null until {@link #scan} returned true. */
    public String model() {
        return model;
    }

    /** Offset of the model value's first byte in the body. */
    public int modelStart() {
        return modelStart;
    }

    /** Offset just past the model value's last byte. */
    public int modelEnd() {
        return modelEnd;
    }

    /** The first boundary: at the body's start, or at the start of a line of the preamble. */
    private int firstDelimiter(Buffer held) {
        int from = pos;
        while (true) {
            int at = indexOf(held, dashBoundary, from);
            if (at < 0) {
                pos = Math.max(pos, held.length() - dashBoundary.length - 1);
                return -1;
            }
            if (at == 0 || at >= 2 && held.getByte(at - 2) == '\r' && held.getByte(at - 1) == '\n') {
                return at;
            }
            from = at + 1;
        }
    }

    /**
     * The offset before which the scan needs no byte any more: the caller may drop them and scan on with
     * {@link #discard}.
     */
    public int position() {
        return pos;
    }

    /** The caller dropped the first {@code bytes} bytes (at most {@link #position()}); offsets move with them. */
    public void discard(int bytes) {
        pos -= bytes;
        valueStart -= bytes;
    }

    private boolean needMore(boolean ended) {
        if (model != null) {
            return true; // streaming past: the backend judges the rest of the form
        }
        if (ended) {
            throw invalid(state == State.PREAMBLE
                    ? "The multipart body does not contain the boundary its content type names."
                    : "The multipart body ends before its closing boundary.");
        }
        return false;
    }

    /** A part whose Content-Disposition is form-data named {@code model}, without a file name. */
    static boolean isModelPart(String headers) {
        for (String line : headers.split("\r\n")) {
            int colon = line.indexOf(':');
            if (colon < 0 || !line.substring(0, colon).trim().equalsIgnoreCase("content-disposition")) {
                continue;
            }
            String value = line.substring(colon + 1).trim();
            int semicolon = value.indexOf(';');
            if (semicolon < 0 || !value.substring(0, semicolon).trim().toLowerCase(Locale.ROOT).equals("form-data")) {
                return false;
            }
            Parameters parameters = Parameters.of(value.substring(semicolon + 1));
            return "model".equals(parameters.get("name")) && parameters.get("filename") == null
                    && parameters.get("filename*") == null;
        }
        return false;
    }

    /** The first {@code pattern} in {@code held} at or after {@code from}; -1 when there is none (yet). */
    static int indexOf(Buffer held, byte[] pattern, int from) {
        int last = held.length() - pattern.length;
        if (from > last) {
            return -1;
        }
        ByteBuf bytes = held.getByteBuf(); // Netty's indexOf finds the first byte several bytes at a time
        int i = Math.max(0, from);
        while (i <= last) {
            i = bytes.indexOf(i, last + 1, pattern[0]);
            if (i < 0) {
                return -1;
            }
            int j = 1;
            while (j < pattern.length && bytes.getByte(i + j) == pattern[j]) {
                j++;
            }
            if (j == pattern.length) {
                return i;
            }
            i++;
        }
        return -1;
    }

    static GatewayException invalid(String message) {
        return new GatewayException(ErrorCode.INVALID_REQUEST, message);
    }
}
