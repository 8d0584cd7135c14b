package dev.apirouter.console;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.auth.AdminToken;
import dev.apirouter.config.Settings;
import dev.apirouter.http.ManagementHttpServer;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(30)
class ConsoleAssetsTest {
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private static Vertx vertx;
    private static ManagementHttpServer server;
    private static int port;

    @BeforeAll
    static void start() throws Exception {
        vertx = Vertx.vertx();
        server = new ManagementHttpServer(vertx, new Settings.Management("127.0.0.1", 0),
                new Settings.Clients(100, 1 << 20, Duration.ofSeconds(30), Duration.ofSeconds(60),
                        Duration.ofSeconds(75)), new AdminToken(Optional.empty()));
        server.endpoint(ConsoleAssets.PATH + "/*", ConsoleAssets.fromClassPath());
        port = server.start(Duration.ofSeconds(10));
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
        vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    private static HttpResponse<String> get(String path, String ifNoneMatch) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .timeout(Duration.ofSeconds(5));
        if (ifNoneMatch != null) {
            b.header("If-None-Match", ifNoneMatch);
        }
        return HTTP.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void servesTheIndexWithItsTypeAndTheProtectiveHeaders() throws Exception {
        HttpResponse<String> index = get("/ui/", null);
        assertEquals(200, index.statusCode());
        assertEquals("text/html; charset=utf-8", index.headers().firstValue("Content-Type").orElse(""));
        assertEquals("no-cache", index.headers().firstValue("Cache-Control").orElse(""));
        assertEquals("nosniff", index.headers().firstValue("X-Content-Type-Options").orElse(""));
        assertEquals("DENY", index.headers().firstValue("X-Frame-Options").orElse(""));
        String csp = index.headers().firstValue("Content-Security-Policy").orElse("");
        assertTrue(csp.startsWith("default-src 'self'"), csp);
        assertFalse(csp.contains("unsafe-inline"), csp);
        assertTrue(index.body().contains("<script type=\"module\" src=\"app.js\"></script>"), index.body());
        assertEquals(index.body(), get("/ui/index.html", null).body());
    }

    @Test
    void eachFileHasItsContentType() throws Exception {
        assertEquals("text/javascript; charset=utf-8", contentType("/ui/app.js"));
        assertEquals("text/css; charset=utf-8", contentType("/ui/app.css"));
        assertEquals("image/svg+xml", contentType("/ui/favicon.svg"));
        assertThrows(IllegalArgumentException.class, () -> ConsoleAssets.contentType("notes.txt"));
    }

    private static String contentType(String path) throws Exception {
        return get(path, null).headers().firstValue("Content-Type").orElse("");
    }

    @Test
    void aMatchingEtagGets304() throws Exception {
        HttpResponse<String> first = get("/ui/app.js", null);
        String etag = first.headers().firstValue("ETag").orElseThrow();
        assertTrue(etag.matches("\"[0-9a-f]{32}\""), etag);
        HttpResponse<String> again = get("/ui/app.js", etag);
        assertEquals(304, again.statusCode());
        assertEquals("", again.body());
        assertEquals(200, get("/ui/app.js", "\"other\"").statusCode());
        assertFalse(etag.equals(get("/ui/app.css", null).headers().firstValue("ETag").orElseThrow()));
    }

    @Test
    void theBarePathRedirectsAndAnythingElseIsNotFound() throws Exception {
        HttpResponse<String> bare = get("/ui", null);
        assertEquals(301, bare.statusCode());
        assertEquals("/ui/", bare.headers().firstValue("Location").orElse(""));
        for (String path : new String[] {"/ui/nope.js", "/ui/../pom.xml", "/ui/app.js/x",
                "/ui/%2e%2e/application.properties"}) {
            HttpResponse<String> r = get(path, null);
            assertEquals(404, r.statusCode(), path);
            assertEquals("not_found", new ObjectMapper().readTree(r.body()).path("error").path("code").asText(), path);
        }
    }

    /** The list of files is the directory: nothing there that is not served, nothing served that is not there. */
    @Test
    void theListOfFilesIsTheDirectory() throws Exception {
        assertEquals(new TreeSet<>(ConsoleAssets.FILES), filesOnTheClassPath());
    }

    /** The Content-Security-Policy allows no inline script: no script without src, no on* attribute. */
    @Test
    void theIndexHasNoInlineScript() throws Exception {
        String index = Files.readString(uiDirectory().resolve("index.html"), StandardCharsets.UTF_8);
        assertFalse(Pattern.compile("<script(?![^>]*\\bsrc=)").matcher(index).find(), "inline script in index.html");
        assertFalse(Pattern.compile("\\son[a-z]+\\s*=", Pattern.CASE_INSENSITIVE).matcher(index).find(),
                "inline event handler in index.html");
        assertFalse(Pattern.compile("\\sstyle\\s*=").matcher(index).find(), "inline style in index.html");
    }

    private static Set<String> filesOnTheClassPath() throws Exception {
        try (Stream<Path> files = Files.list(uiDirectory())) {
            return files.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private static Path uiDirectory() throws URISyntaxException {
        return Path.of(ConsoleAssets.class.getClassLoader().getResource("ui/index.html").toURI()).getParent();
    }
}
