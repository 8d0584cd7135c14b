package dev.apirouter.telemetry;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

import dev.apirouter.config.Settings;

/**
 * The OTLP trace exporter's settings, resolved from {@link Settings.Telemetry} without any I/O (no DNS, no
 * connection): tracing is on only when {@code OTEL_EXPORTER_OTLP_ENDPOINT} is non-empty and
 * {@code OTEL_SDK_DISABLED} is not true. A bare {@code host:port} means {@code http://host:port}. For
 * {@code http/protobuf} traces go to {@code <endpoint>/v1/traces} (as the OpenTelemetry specification says for
 * {@code OTEL_EXPORTER_OTLP_ENDPOINT}); for {@code grpc} to the endpoint as is.
 *
 * @param endpoint    the collector's base endpoint, normalized ({@code scheme://host:port[/path]})
 * @param exportUrl   where spans are sent: {@code endpoint/v1/traces} for http/protobuf, the endpoint for grpc
 * @param headers     {@code OTEL_EXPORTER_OTLP_HEADERS}, values URL-decoded
 */
public record OtlpSettings(Protocol protocol, URI endpoint, String exportUrl, Map<String, String> headers,
                           String serviceName, Duration connectTimeout, Duration exportTimeout) {

    public enum Protocol {
        HTTP_PROTOBUF("http/protobuf"), GRPC("grpc");

        private final String label;

        Protocol(String label) {
            this.label = label;
        }

        public String label() {
            return label;
        }
    }

    /** Tracing off, on with these settings, or asked for but impossible (the reason names the variable). */
    public sealed interface Resolution permits Off, On, Invalid {
    }

    public record Off(String reason) implements Resolution {
    }

    public record On(OtlpSettings settings) implements Resolution {
    }

    public record Invalid(String problem) implements Resolution {
    }

    public static Resolution resolve(Settings.Telemetry telemetry) {
        if (telemetry.sdkDisabled()) {
            return new Off("OTEL_SDK_DISABLED=true");
        }
        Optional<String> raw = telemetry.endpoint().map(String::trim).filter(s -> !s.isEmpty());
        if (raw.isEmpty()) {
            return new Off("OTEL_EXPORTER_OTLP_ENDPOINT is not set");
        }
        try {
            Protocol protocol = protocol(telemetry.protocol());
            URI endpoint = endpoint(raw.get());
            String exportUrl = protocol == Protocol.GRPC ? endpoint.toString() : tracesUrl(endpoint);
            return new On(new OtlpSettings(protocol, endpoint, exportUrl,
                    headers(telemetry.headers().orElse("")), telemetry.serviceName(), telemetry.connectTimeout(),
                    telemetry.exportTimeout()));
        } catch (IllegalArgumentException e) {
            return new Invalid(e.getMessage());
        }
    }

    static Protocol protocol(String raw) {
        String p = raw == null ? "" : raw.trim().toLowerCase(Locale.ROOT);
        return switch (p) {
            case "", "http/protobuf" -> Protocol.HTTP_PROTOBUF;
            case "grpc" -> Protocol.GRPC;
            default -> throw new IllegalArgumentException("OTEL_EXPORTER_OTLP_PROTOCOL must be http/protobuf or grpc, got '"
                    + raw + "' (http/json is not supported)");
        };
    }

    /** {@code http(s)://host:port[/path]}, or a bare {@code host:port} taken as {@code http://host:port}. */
    static URI endpoint(String raw) {
        String text = raw.contains("://") ? raw : "http://" + raw;
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("OTEL_EXPORTER_OTLP_ENDPOINT is not a valid URL: '" + raw + "' ("
                    + e.getReason() + ")");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("OTEL_EXPORTER_OTLP_ENDPOINT must be http(s)://host:port or host:port, got '"
                    + raw + "'");
        }
        if (uri.getHost() == null || uri.getHost().isEmpty()) {
            throw new IllegalArgumentException("OTEL_EXPORTER_OTLP_ENDPOINT has no host: '" + raw + "'");
        }
        if (uri.getRawQuery() != null || uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
            throw new IllegalArgumentException("OTEL_EXPORTER_OTLP_ENDPOINT must not have user info, a query or a fragment: '"
                    + raw + "'");
        }
        return uri;
    }

    static String tracesUrl(URI endpoint) {
        String base = endpoint.toString();
        return (base.endsWith("/") ? base.substring(0, base.length() - 1) : base) + "/v1/traces";
    }

    /** {@code key=value,key2=value2}; values (and keys) URL-decoded, blanks around them trimmed. */
    static Map<String, String> headers(String raw) {
        Map<String, String> headers = new LinkedHashMap<>();
        for (String pair : raw.split(",")) {
            if (pair.isBlank()) {
                continue;
            }
            int eq = pair.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("OTEL_EXPORTER_OTLP_HEADERS must be key=value pairs separated by commas");
            }
            try {
                String key = URLDecoder.decode(pair.substring(0, eq).trim(), StandardCharsets.UTF_8);
                String value = URLDecoder.decode(pair.substring(eq + 1).trim(), StandardCharsets.UTF_8);
                if (key.isEmpty()) {
                    throw new IllegalArgumentException("OTEL_EXPORTER_OTLP_HEADERS has an empty header name");
                }
                headers.put(key, value);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("OTEL_EXPORTER_OTLP_HEADERS has a badly encoded value");
            }
        }
        return java.util.Collections.unmodifiableMap(headers);
    }

    /** For log lines: the endpoint and protocol, never the headers (they may hold credentials). */
    public String describe() {
        return exportUrl + " (" + protocol.label() + ")";
    }
}
