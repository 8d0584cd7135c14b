package dev.apirouter.console;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.vertx.core.Handler;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpHeaders;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

/**
 * The console's static files, served on the management port under {@value #PATH}/ ({@value #PATH} redirects there).
 * The known list of files is read from the class path ({@code ui/} in the jar) once, when the gateway is assembled; a
 * missing one fails the start.
 * Each answer carries its content type, an ETag ({@code 304} to a matching {@code If-None-Match}),
 * {@code Cache-Control: no-cache} and headers that keep the page from being framed, sniffed or running anything but
 * its own scripts. Anything else under {@value #PATH}/ goes on to the server's {@code 404 not_found}. The
 * files are not secret: every figure the console shows comes from the admin API, behind the admin token.
 */
public final class ConsoleAssets implements Handler<RoutingContext> {
    public static final String PATH = "/ui";
    /** Every file of the console, as it lies under {@code src/main/resources/ui/}. */
    static final List<String> FILES = List.of("index.html", "app.css", "favicon.svg", "app.js", "api.js", "dom.js",
            "dialog.js", "stats.js", "chart.js", "overview.js", "models.js", "keys.js", "replicas.js");
    static final String INDEX = "index.html";
    /** Own scripts, styles and calls only: no inline script or style, no framing, no plugins. */
    static final String CONTENT_SECURITY_POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; "
            + "img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
            + "frame-ancestors 'none'";
    private static final Map<String, String> CONTENT_TYPES = Map.of(
            "html", "text/html; charset=utf-8",
            "js", "text/javascript; charset=utf-8",
            "css", "text/css; charset=utf-8",
            "svg", "image/svg+xml");

    record Asset(Buffer body, String contentType, String etag) {
    }

    private final Map<String, Asset> assets;

    private ConsoleAssets(Map<String, Asset> assets) {
        this.assets = assets;
    }

    /** Reads {@link #FILES} from the class path; throws if one is missing. */
    public static ConsoleAssets fromClassPath() {
        Map<String, Asset> assets = new LinkedHashMap<>();
        for (String file : FILES) {
            byte[] body = read("ui/" + file);
            assets.put(file, new Asset(Buffer.buffer(body), contentType(file), etag(body)));
        }
        return new ConsoleAssets(assets);
    }

    @Override
    public void handle(RoutingContext ctx) {
        String path = ctx.request().path();
        if (path.equals(PATH)) { // to the slash, where the page's relative links work
            ctx.response().setStatusCode(301).putHeader(HttpHeaders.LOCATION, PATH + "/").end();
            return;
        }
        String name = path.length() <= PATH.length() + 1 ? INDEX : path.substring(PATH.length() + 1);
        Asset asset = assets.get(name);
        if (asset == null) {
            ctx.next(); // no other route: the server's 404 in the contract's error shape
            return;
        }
        HttpServerResponse response = ctx.response()
                .putHeader(HttpHeaders.CACHE_CONTROL, "no-cache")
                .putHeader(HttpHeaders.ETAG, asset.etag())
                .putHeader("X-Content-Type-Options", "nosniff")
                .putHeader("X-Frame-Options", "DENY")
                .putHeader("Referrer-Policy", "no-referrer")
                .putHeader("Content-Security-Policy", CONTENT_SECURITY_POLICY);
        if (asset.etag().equals(ctx.request().getHeader(HttpHeaders.IF_NONE_MATCH))) {
            response.setStatusCode(304).end();
            return;
        }
        response.putHeader(HttpHeaders.CONTENT_TYPE, asset.contentType()).end(asset.body());
    }

    static String contentType(String file) {
        String type = CONTENT_TYPES.get(file.substring(file.lastIndexOf('.') + 1));
        if (type == null) {
            throw new IllegalArgumentException("No content type for console file " + file);
        }
        return type;
    }

    private static byte[] read(String resource) {
        try (InputStream in = ConsoleAssets.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("The console file " + resource + " is missing from the class path");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("Reading the console file " + resource + " failed", e);
        }
    }

    private static String etag(byte[] body) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(body);
            return '"' + HexFormat.of().formatHex(digest, 0, 16) + '"';
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
