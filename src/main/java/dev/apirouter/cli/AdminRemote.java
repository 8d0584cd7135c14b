package dev.apirouter.cli;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.HttpURLConnection;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Locale;
import java.util.Optional;
import java.util.Timer;
import java.util.TimerTask;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.config.Config;
import dev.apirouter.config.Setting;
import dev.apirouter.policy.PolicyDocuments;

/**
 * The gateway's admin API ({@code /v1/admin/*} on its management port) as the store the commands act on, when
 * {@code ROUTER_ADMIN_URL} is set: the operator needs the admin token ({@code ROUTER_ADMIN_TOKEN}), not etcd's
 * address and credentials, and a command starts no etcd client (a {@code keys revoke --wait} takes about half the
 * time). The gateway makes the change in etcd, and with {@code --wait} confirms it across the fleet itself
 * ({@code ?wait=true}); the commands print what it answers.
 *
 * <p>Every call is bounded: {@link #CONNECT_TIMEOUT} to connect, then {@link #CALL_TIMEOUT} (plus the wait's
 * timeout when waiting) for the answer, and the connection is cut when both have passed. HTTP through
 * {@link HttpURLConnection}: measured here about 250 ms faster to start than {@code java.net.http}.
 *
 * <p>Exit codes from the answer: 401/403 usage (1: the token), other 4xx invalid input (2) with the gateway's
 * message, 504 {@code fleet_timeout} not confirmed (4), no answer or another 5xx unreachable (3).
 */
final class AdminRemote {
    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(5);
    static final Duration CALL_TIMEOUT = Duration.ofSeconds(15);
    private static final int MAX_ANSWER_BYTES = 32 << 20;

    private final URI base;
    private final String token;
    private final Duration connectTimeout;
    private final Duration callTimeout;

    AdminRemote(URI base, String token, Duration connectTimeout, Duration callTimeout) {
        this.base = base;
        this.token = token;
        this.connectTimeout = connectTimeout;
        this.callTimeout = callTimeout;
    }

    /** The admin API named by {@code ROUTER_ADMIN_URL}, when set; a usage error when it or the token is unusable. */
    static Optional<AdminRemote> of(Config config) throws CliException {
        Optional<String> raw = config.get(Setting.ADMIN_URL);
        if (raw.isEmpty()) {
            return Optional.empty();
        }
        URI url;
        try {
            url = new URI(raw.get().trim());
        } catch (URISyntaxException e) {
            throw CliException.usage("ROUTER_ADMIN_URL is not a URL: " + e.getMessage());
        }
        String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || url.getHost() == null
                || url.getRawQuery() != null || url.getRawFragment() != null || url.getRawUserInfo() != null) {
            throw CliException.usage("ROUTER_ADMIN_URL must be the gateway's management address, such as"
                    + " http://127.0.0.1:9090 (http or https, no query, no user), not '" + raw.get().trim() + "'");
        }
        String token = config.get(Setting.ADMIN_TOKEN).orElseThrow(() -> CliException.usage(
                "ROUTER_ADMIN_URL is set: ROUTER_ADMIN_TOKEN must be the gateway's admin token"));
        String path = url.getRawPath() == null ? "" : url.getRawPath().replaceAll("/+$", "");
        return Optional.of(new AdminRemote(URI.create(scheme + "://" + url.getRawAuthority() + path), token,
                CONNECT_TIMEOUT, CALL_TIMEOUT));
    }

    /** For messages: {@code admin API http://host:9090}. */
    String where() {
        return "admin API " + base;
    }

    JsonNode get(String path) throws CliException {
        return call("GET", path, null, Duration.ZERO).orThrow();
    }

    /**
     * What a change answered: its body and, when the fleet did not confirm it in time (504 {@code fleet_timeout}),
     * the exit-4 failure to end with once the body is reported (the change is made, and a created key is in it).
     */
    record Change(JsonNode body, Optional<CliException> notConfirmed) {
        /** With {@code --wait}: each replica and when it confirmed, or the failure naming those that lag. */
        void reportWait(PrintStream err) throws CliException {
            if (notConfirmed.isPresent()) {
                throw notConfirmed.get();
            }
            long revision = body.path("revision").asLong();
            long slowest = 0;
            int count = 0;
            for (JsonNode r : body.path("replicas")) {
                long ms = r.path("confirmedMs").asLong();
                slowest = Math.max(slowest, ms);
                count++;
                err.println(String.format("confirmed  %s  rev %d  after %d ms", r.path("id").asText("?"),
                        r.path("appliedRevision").asLong(), ms));
            }
            err.println("confirmed: " + count + " replica(s) applied revision " + revision + " within " + slowest
                    + " ms");
        }
    }

    /**
     * A change: {@code method} on {@code path} with the JSON {@code body} (or none); with {@code wait}, the gateway
     * answers once every replica applied it ({@code ?wait=true&timeout=}).
     */
    Change change(String method, String path, JsonNode body, Optional<Duration> wait) throws CliException {
        String query = wait.map(d -> (path.contains("?") ? "&" : "?") + "wait=true&timeout=" + d.toMillis() + "ms")
                .orElse("");
        Answer answer = call(method, path + query, body, wait.orElse(Duration.ZERO));
        JsonNode error = answer.json().path("error");
        if (answer.status() == 504 && error.path("code").asText("").equals("fleet_timeout")
                && answer.json().path("change").isObject()) {
            return new Change(answer.json().get("change"), Optional.of(new CliException(Cli.EXIT_NOT_CONFIRMED,
                    "not confirmed: " + error.path("message").asText())));
        }
        return new Change(answer.orThrow(), Optional.empty());
    }

    /** A status and its JSON body (a missing node when the body is not JSON). */
    private record Answer(AdminRemote api, String call, int status, JsonNode json) {
        /** The body of a 2xx; otherwise the failure, mapped to an exit code. */
        JsonNode orThrow() throws CliException {
            if (status >= 200 && status < 300) {
                if (json.isMissingNode()) {
                    throw CliException.unreachable(api.where() + " answered " + call + " with " + status
                            + " but not JSON: is ROUTER_ADMIN_URL the management port?");
                }
                return json;
            }
            JsonNode error = json.path("error");
            String message = error.path("message").asText("");
            String code = error.path("code").asText("");
            String said = api.where() + " answered " + call + " with " + status + (code.isEmpty() ? "" : " " + code)
                    + (message.isEmpty() ? "" : ": " + message);
            if (status == 401 || status == 403) {
                throw CliException.usage(said + " (ROUTER_ADMIN_TOKEN must be the gateway's admin token)");
            }
            if (status == 404 && code.equals("not_found")) {
                throw CliException.usage(said + " (is ROUTER_ADMIN_URL the gateway's management address?)");
            }
            if (status >= 400 && status < 500) {
                throw CliException.invalid(said);
            }
            throw CliException.unreachable(said);
        }
    }

    /** What the admin API adds to a key record in its answers ({@code name} is the record's own). */
    private static final java.util.List<String> API_KEY_FIELDS = java.util.List.of("hash", "revision", "usage",
            "lastUsedAt", "invalid");

    /** The stored key record inside the API's view of it: the view without what the API adds. */
    static ObjectNode keyRecord(JsonNode view) {
        ObjectNode record = ((ObjectNode) view).deepCopy();
        record.remove(API_KEY_FIELDS);
        if (record.path("name").isNull()) {
            record.remove("name"); // a record without a name: the API shows null
        }
        return record;
    }

    /** A path segment: every byte but the unreserved ones percent-encoded (a model's '/' included). */
    static String segment(String s) {
        StringBuilder b = new StringBuilder();
        for (byte c : s.getBytes(StandardCharsets.UTF_8)) {
            if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
                    || c == '_' || c == '~') {
                b.append((char) c);
            } else {
                b.append('%').append(Character.toUpperCase(Character.forDigit((c >> 4) & 0xF, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xF, 16)));
            }
        }
        return b.toString();
    }

    private Answer call(String method, String path, JsonNode body, Duration wait) throws CliException {
        URI uri = URI.create(base + path);
        HttpURLConnection http;
        try {
            http = (HttpURLConnection) uri.toURL().openConnection();
        } catch (IOException | IllegalArgumentException e) {
            throw CliException.usage("ROUTER_ADMIN_URL: cannot call " + uri + ": " + e.getMessage());
        }
        long deadlineMs = connectTimeout.plus(callTimeout).plus(wait).toMillis();
        Timer cut = new Timer("admin-call-deadline", true);
        cut.schedule(new TimerTask() {
            @Override
            public void run() {
                http.disconnect();
            }
        }, deadlineMs);
        try {
            http.setRequestMethod(method);
            http.setConnectTimeout((int) connectTimeout.toMillis());
            http.setReadTimeout((int) Math.min(Integer.MAX_VALUE, callTimeout.plus(wait).toMillis()));
            http.setInstanceFollowRedirects(false);
            http.setUseCaches(false);
            http.setRequestProperty("Authorization", "Bearer " + token);
            http.setRequestProperty("Accept", "application/json");
            if (body != null || !method.equals("GET") && !method.equals("DELETE")) {
                byte[] bytes = body == null ? new byte[0] : KeyCommands.bytes(body);
                http.setDoOutput(true);
                http.setRequestProperty("Content-Type", "application/json");
                http.setFixedLengthStreamingMode(bytes.length);
                try (OutputStream out = http.getOutputStream()) {
                    out.write(bytes);
                }
            }
            int status = http.getResponseCode();
            byte[] answer = read(status >= 400 ? http.getErrorStream() : http.getInputStream());
            return new Answer(this, method + " " + path(uri), status, parse(answer));
        } catch (SocketTimeoutException e) {
            throw CliException.unreachable(where() + " did not answer " + method + " " + path(uri) + " in time ("
                    + e.getMessage() + ")");
        } catch (IOException e) {
            throw CliException.unreachable(where() + " did not answer " + method + " " + path(uri) + ": "
                    + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
        } finally {
            cut.cancel();
            http.disconnect();
        }
    }

    private static byte[] read(InputStream in) throws IOException {
        if (in == null) {
            return new byte[0];
        }
        try (in) {
            byte[] bytes = in.readNBytes(MAX_ANSWER_BYTES + 1);
            if (bytes.length > MAX_ANSWER_BYTES) {
                throw new IOException("the answer is larger than " + MAX_ANSWER_BYTES + " bytes");
            }
            return bytes;
        }
    }

    private static JsonNode parse(byte[] answer) {
        try {
            JsonNode json = PolicyDocuments.JSON.readTree(answer);
            return json == null ? PolicyDocuments.JSON.missingNode() : json;
        } catch (IOException e) {
            return PolicyDocuments.JSON.missingNode();
        }
    }

    private static String path(URI uri) {
        return uri.getRawPath();
    }
}
