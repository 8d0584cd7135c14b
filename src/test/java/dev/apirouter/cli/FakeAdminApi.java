package dev.apirouter.cli;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

/**
 * A local HTTP server playing a gateway's admin API for the commands' tests: it records each request and answers
 * what {@code answer} says for it (a status and a body). On 127.0.0.1, a free port; {@link #close()} stops it.
 */
final class FakeAdminApi implements AutoCloseable {
    /** One request as the server saw it; {@code call} is {@code METHOD /raw/path[?raw query]}. */
    record Seen(String method, String rawPath, String rawQuery, String authorization, String body) {
        String call() {
            return method + " " + rawPath + (rawQuery == null ? "" : "?" + rawQuery);
        }
    }

    record Answer(int status, String body) {
    }

    private final HttpServer server;
    private final List<Seen> seen = new CopyOnWriteArrayList<>();

    FakeAdminApi(Function<Seen, Answer> answer) throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> handle(exchange, answer));
        server.start();
    }

    private void handle(HttpExchange exchange, Function<Seen, Answer> answer) throws IOException {
        Seen request = new Seen(exchange.getRequestMethod(), exchange.getRequestURI().getRawPath(),
                exchange.getRequestURI().getRawQuery(), exchange.getRequestHeaders().getFirst("Authorization"),
                new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8));
        seen.add(request);
        Answer a = answer.apply(request);
        byte[] body = a.body().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(a.status(), body.length == 0 ? -1 : body.length);
        exchange.getResponseBody().write(body);
        exchange.close();
    }

    String url() {
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    List<Seen> seen() {
        return seen;
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
