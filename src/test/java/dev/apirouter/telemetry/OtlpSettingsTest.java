package dev.apirouter.telemetry;

import java.time.Duration;
import java.util.Map;
import java.util.Optional;

import dev.apirouter.config.Settings;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OtlpSettingsTest {
    static Settings.Telemetry telemetry(String endpoint, String protocol, String headers, boolean disabled) {
        return new Settings.Telemetry(Optional.ofNullable(endpoint), protocol, Optional.ofNullable(headers), "svc", disabled,
                Duration.ofMillis(2000), Duration.ofMillis(5000));
    }

    static OtlpSettings on(String endpoint, String protocol) {
        return assertInstanceOf(OtlpSettings.On.class, OtlpSettings.resolve(telemetry(endpoint, protocol, null, false))).settings();
    }

    @Test
    void unsetBlankOrDisabledMeansOff() {
        assertInstanceOf(OtlpSettings.Off.class, OtlpSettings.resolve(telemetry(null, "http/protobuf", null, false)));
        assertInstanceOf(OtlpSettings.Off.class, OtlpSettings.resolve(telemetry("  ", "http/protobuf", null, false)));
        assertInstanceOf(OtlpSettings.Off.class, OtlpSettings.resolve(telemetry("http://c:4318", "http/protobuf", null, true)));
    }

    @Test
    void aBareHostPortIsHttp() {
        OtlpSettings s = on("localhost:4318", "http/protobuf");
        assertEquals("http://localhost:4318", s.endpoint().toString());
        assertEquals("http://localhost:4318/v1/traces", s.exportUrl());
        assertEquals(OtlpSettings.Protocol.HTTP_PROTOBUF, s.protocol());
    }

    @Test
    void httpProtobufAppendsTheTracesPathGrpcTakesTheEndpointAsIs() {
        assertEquals("https://otel.example:4318/v1/traces", on("https://otel.example:4318/", "http/protobuf").exportUrl());
        assertEquals("http://c:4318/base/v1/traces", on("http://c:4318/base", "").exportUrl());
        assertEquals("http://c:4317", on("c:4317", "grpc").exportUrl());
        assertEquals(OtlpSettings.Protocol.GRPC, on("c:4317", "GRPC").protocol());
    }

    @Test
    void headersAreUrlDecoded() {
        OtlpSettings s = assertInstanceOf(OtlpSettings.On.class, OtlpSettings.resolve(
                telemetry("c:4318", "http/protobuf", "api-key=a%20b%3D, x-tenant = t1 ,", false))).settings();
        assertEquals(Map.of("api-key", "a b=", "x-tenant", "t1"), s.headers());
    }

    @Test
    void whatCannotWorkIsInvalidWithAReasonNamingTheVariable() {
        for (String[] bad : new String[][] {{"http://[::1", "http/protobuf"}, {"ftp://c:21", "http/protobuf"},
                {"http://:4318", "http/protobuf"}, {"c:4318", "http/json"}, {"http://u:p@c:4318", "http/protobuf"}}) {
            OtlpSettings.Invalid invalid = assertInstanceOf(OtlpSettings.Invalid.class,
                    OtlpSettings.resolve(telemetry(bad[0], bad[1], null, false)), bad[0]);
            assertTrue(invalid.problem().startsWith("OTEL_EXPORTER_OTLP_"), invalid.problem());
        }
        assertInstanceOf(OtlpSettings.Invalid.class, OtlpSettings.resolve(telemetry("c:4318", "http/protobuf", "novalue", false)));
    }

    @Test
    void theDescriptionNeverShowsHeaders() {
        OtlpSettings s = assertInstanceOf(OtlpSettings.On.class, OtlpSettings.resolve(
                telemetry("c:4318", "http/protobuf", "authorization=Bearer%20secret", false))).settings();
        assertTrue(!s.describe().contains("secret"));
    }
}
