package dev.apirouter.upload;

import java.nio.charset.StandardCharsets;

import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import io.vertx.core.buffer.Buffer;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelFieldScannerTest {
    static final String B = "----form7MA4YWxk";

    static String field(String name, String value) {
        return "--" + B + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
    }

    static String file(String content) {
        return "--" + B + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.wav\"\r\n"
                + "Content-Type: audio/wav\r\n\r\n" + content + "\r\n";
    }

    static final String END = "--" + B + "--\r\n";

    /** Feeds {@code body} one byte at a time, as the worst split of chunks; returns the scanner once it found the model. */
    static ModelFieldScanner scanByteByByte(String body) {
        ModelFieldScanner scanner = new ModelFieldScanner(B);
        Buffer held = Buffer.buffer();
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i++) {
            held.appendByte(bytes[i]);
            if (scanner.scan(held, i == bytes.length - 1)) {
                return scanner;
            }
        }
        throw new AssertionError("no model found");
    }

    @Test
    void theModelBeforeTheFileIsFoundWithItsOffsets() {
        String body = field("language", "en") + field("model", "whisper-1") + file("RIFF....") + END;
        ModelFieldScanner scanner = scanByteByByte(body);
        assertEquals("whisper-1", scanner.model());
        assertEquals("whisper-1", body.substring(scanner.modelStart(), scanner.modelEnd()));
    }

    @Test
    void theModelAfterTheFileIsFoundPastTheFilesContent() {
        // (a delimiter is CRLF "--" boundary: never inside a part, by the sender's choice of boundary)
        String content = "\r\n-" + B + " -- " + "--" + B + " mid-line\r\n\r\n\r\n--";
        String body = file(content) + field("model", "w\u00e9") + END;
        ModelFieldScanner scanner = scanByteByByte(body);
        assertEquals("w\u00e9", scanner.model());
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        assertEquals("w\u00e9", new String(bytes, scanner.modelStart(), scanner.modelEnd() - scanner.modelStart(),
                StandardCharsets.UTF_8));
    }

    @Test
    void aPartNamedModelWithAFileNameIsAFileNotTheField() {
        String body = "--" + B + "\r\ncontent-disposition: form-data; filename=\"m.txt\"; name=model\r\n\r\nx\r\n"
                + "--" + B + "  \r\nCONTENT-DISPOSITION: Form-Data; Name=model\r\n\r\nreal\r\n" + END;
        assertEquals("real", scanByteByByte(body).model());
    }

    @Test
    void aPreambleAndAPartWithoutHeadersAreStepped() {
        String body = "preamble line\r\n--" + B + "\r\n\r\nno headers\r\n" + field("model", "m") + END;
        assertEquals("m", scanByteByByte(body).model());
    }

    @Test
    void aFormWithoutModelOrCutShortOrEmptyIsABadRequest() {
        assertInvalid(field("language", "en") + file("x") + END, "no 'model' field");
        assertInvalid(field("language", "en") + file("x"), "ends before its closing boundary");
        assertInvalid("--other\r\n\r\nx\r\n--other--\r\n", "does not contain the boundary");
        assertInvalid(field("model", " ") + END, "must not be empty");
        assertInvalid("--" + B + "junk\r\n", "does not end with CRLF");
        String manyHeaders = "--" + B + "\r\nX-Long: " + "h".repeat(ModelFieldScanner.MAX_HEADER_BYTES + 10);
        assertInvalid(manyHeaders, "headers over");
    }

    @Test
    void aBodyThatNeverShowsItsBoundaryIsRefusedEarly() {
        ModelFieldScanner scanner = new ModelFieldScanner(B);
        GatewayException e = assertThrows(GatewayException.class, () -> scanner.scan(
                Buffer.buffer(new byte[ModelFieldScanner.MAX_HEADER_BYTES + 1]), false));
        assertTrue(e.getMessage().contains("does not start with the boundary"), e.getMessage());
    }

    @Test
    void moreIsNeededUntilTheModelsValueEnds() {
        ModelFieldScanner scanner = new ModelFieldScanner(B);
        assertFalse(scanner.scan(Buffer.buffer(field("model", "whisper")), false), "its delimiter has not come yet");
        assertTrue(scanner.scan(Buffer.buffer(field("model", "whisper") + "--" + B), false));
    }

    @Test
    void theBoundaryComesFromAMultipartFormContentType() {
        assertEquals("abc", ModelFieldScanner.boundary("multipart/form-data; boundary=abc"));
        assertEquals("a b:c", ModelFieldScanner.boundary("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b:c\""));
        assertTrue(ModelFieldScanner.isMultipartForm(" multipart/form-data "));
        assertFalse(ModelFieldScanner.isMultipartForm("multipart/mixed; boundary=x"));
        assertFalse(ModelFieldScanner.isMultipartForm(null));
        assertFalse(ModelFieldScanner.isMultipartForm("multipart/form-datax"));
        assertFalse(ModelFieldScanner.isMultipartForm("application/json; charset=utf-8"));
        assertTrue(ModelFieldScanner.isMultipartForm("MULTIPART/FORM-DATA ;boundary=x"));
        for (String bad : new String[] {"application/json", "multipart/form-data", "multipart/form-data; boundary=",
                "multipart/form-data; boundary=" + "b".repeat(71), "multipart/form-data; boundary=\"a\u00e9\"",
                "multipart/form-data; boundary=\"ab \""}) {
            GatewayException e = assertThrows(GatewayException.class, () -> ModelFieldScanner.boundary(bad), bad);
            assertEquals(ErrorCode.INVALID_REQUEST, e.code());
        }
    }

    private static void assertInvalid(String body, String message) {
        GatewayException e = assertThrows(GatewayException.class, () -> scanByteByByte(body));
        assertEquals(ErrorCode.INVALID_REQUEST, e.code());
        assertTrue(e.getMessage().contains(message), e.getMessage());
    }

    @Test
    void pastTheModelTheRestIsWatchedForASecondModelFieldWhileBytesAreDropped() {
        ModelFieldScanner scanner = new ModelFieldScanner(B);
        Buffer window = Buffer.buffer(field("model", "allowed") + "--" + B);
        assertTrue(scanner.scan(window, false));
        String rest = "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n" + "x".repeat(5000)
                + "\r\n" + field("language", "en") + field("model", "other") + END;
        GatewayException e = assertThrows(GatewayException.class, () -> {
            Buffer w = window;
            for (int i = 0; i < rest.length(); i += 7) {
                w.appendString(rest.substring(i, Math.min(rest.length(), i + 7)));
                scanner.scan(w, false);
                int done = scanner.position();
                w = w.getBuffer(done, w.length());
                scanner.discard(done);
                assertTrue(w.length() < 300, "only a boundary's or a header block's bytes are kept");
            }
        });
        assertTrue(e.getMessage().contains("more than one 'model'"), e.getMessage());

        ModelFieldScanner single = new ModelFieldScanner(B);
        String body = field("model", "m") + file("y".repeat(100)) + END + "epilogue";
        assertTrue(single.scan(Buffer.buffer(body), true), "the closing boundary after the model is the end");
        assertTrue(single.scan(Buffer.buffer(body), true));
    }
}
