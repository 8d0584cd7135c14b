package dev.apirouter.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A hand-written HTTP/1.1 client on a raw loopback socket, for what real clients never send: stalled heads and
 * bodies, ambiguous framing, odd request targets, uploads that stop half way.
 */
public final class RawClient implements AutoCloseable {
    private static final Pattern CONTENT_LENGTH = Pattern.compile("(?i)\r\ncontent-length: *(\\d+)");
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    /** One response: its head and body as text ({@code status} from its status line). */
    public record Response(String head, String body) {
        public int status() {
            return Integer.parseInt(head.substring(9, 12));
        }

        public String statusLine() {
            return head.substring(0, head.indexOf("\r\n"));
        }

        public boolean hasHeader(String name, String value) {
            return head.toLowerCase().contains("\r\n" + name.toLowerCase() + ": " + value.toLowerCase());
        }
    }

    public RawClient(int port) throws IOException {
        socket = new Socket(InetAddress.getLoopbackAddress(), port);
        socket.setSoTimeout(10_000);
        in = socket.getInputStream();
        out = socket.getOutputStream();
    }

    public RawClient send(String text) throws IOException {
        return send(text.getBytes(StandardCharsets.ISO_8859_1));
    }

    public RawClient send(byte[] bytes) throws IOException {
        out.write(bytes);
        out.flush();
        return this;
    }

    /** Reads one response (its body by Content-Length, else to the end of the connection) within {@code timeout}. */
    public Response read(Duration timeout) throws IOException {
        socket.setSoTimeout((int) timeout.toMillis());
        StringBuilder head = new StringBuilder();
        while (head.length() < 4 || !head.substring(head.length() - 4).equals("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                throw new IOException("connection closed after " + head.length() + " bytes of response head: " + head);
            }
            head.append((char) c);
        }
        Matcher length = CONTENT_LENGTH.matcher(head);
        byte[] body = length.find() ? in.readNBytes(Integer.parseInt(length.group(1))) : in.readAllBytes();
        return new Response(head.toString(), new String(body, StandardCharsets.UTF_8));
    }

    /** True when the server closes the connection within {@code timeout} (what it sends before is skipped). */
    public boolean closedWithin(Duration timeout) throws IOException {
        socket.setSoTimeout((int) timeout.toMillis());
        try {
            byte[] buffer = new byte[8192];
            while (in.read(buffer) >= 0) {
                // skip
            }
            return true;
        } catch (SocketTimeoutException e) {
            return false;
        } catch (SocketException e) {
            return true; // reset
        }
    }

    /** Everything the server sends until it closes, or until {@code timeout}. */
    public String drain(Duration timeout) throws IOException {
        socket.setSoTimeout((int) timeout.toMillis());
        ByteArrayOutputStream all = new ByteArrayOutputStream();
        byte[] buffer = new byte[8192];
        try {
            int n;
            while ((n = in.read(buffer)) >= 0) {
                all.write(buffer, 0, n);
            }
        } catch (SocketTimeoutException | SocketException e) {
            // what came so far
        }
        return all.toString(StandardCharsets.ISO_8859_1);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
