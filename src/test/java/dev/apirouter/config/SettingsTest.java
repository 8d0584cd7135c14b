package dev.apirouter.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SettingsTest {
    private static Settings settings(Map<String, String> env) {
        return Settings.from(new Config(env, Config.bundledDefaults()));
    }

    @Test
    void defaultsComeFromApplicationProperties() {
        Settings s = settings(Map.of());
        assertEquals(8080, s.http().port());
        assertEquals(16 * 1024 * 1024, s.http().maxBodyBytes());
        assertEquals("/api-router/", s.store().etcdPrefix());
        assertTrue(s.store().policyFile().isEmpty());
        assertTrue(s.telemetry().endpoint().isEmpty());
        assertEquals(Path.of("routes"), s.routesDir());
        assertEquals(Path.of("data", "last-known-good.json"), s.store().lastKnownGoodFile());
    }

    @Test
    void anEmptyOrBlankVariableCountsAsUnsetForEverySetting() {
        Properties defaults = Config.bundledDefaults();
        for (Setting setting : Setting.values()) {
            Config empty = new Config(Map.of(setting.envVar(), ""), defaults);
            Config blank = new Config(Map.of(setting.envVar(), "  "), defaults);
            Config unset = new Config(Map.of(), defaults);
            assertEquals(unset.get(setting), empty.get(setting), setting.envVar());
            assertEquals(unset.get(setting), blank.get(setting), setting.envVar());
        }
        assertEquals(settings(Map.of()), settings(Map.of("ROUTER_HTTP_PORT", "", "OTEL_EXPORTER_OTLP_ENDPOINT", "",
                "ETCD_ENDPOINTS", "", "LOG_LEVEL", "", "ROUTER_ROUTES_DIR", "")));
    }

    @Test
    void environmentOverridesDefaults() {
        Settings s = settings(Map.of("ROUTER_HTTP_PORT", "9090", "ETCD_ENDPOINTS", "http://a:2379, b:2379",
                "ROUTER_ETCD_PREFIX", "/x"));
        assertEquals(9090, s.http().port());
        assertEquals(List.of(java.net.URI.create("http://a:2379"), java.net.URI.create("http://b:2379")),
                s.store().etcdEndpoints());
        assertEquals("/x/", s.store().etcdPrefix());
        assertTrue(s.store().usesEtcd());
    }

    @Test
    void badValuesNameTheVariable() {
        ConfigException e = assertThrows(ConfigException.class, () -> settings(Map.of("ROUTER_HTTP_PORT", "http")));
        assertTrue(e.getMessage().startsWith("ROUTER_HTTP_PORT"));
        assertThrows(ConfigException.class, () -> settings(Map.of("ROUTER_HTTP_PORT", "70000")));
        assertThrows(ConfigException.class, () -> settings(Map.of("OTEL_SDK_DISABLED", "maybe")));
    }

    @Test
    void everySettingHasADefaultEntryInApplicationProperties() {
        Properties defaults = Config.bundledDefaults();
        for (Setting setting : Setting.values()) {
            assertTrue(defaults.containsKey(setting.propertyKey()), setting.propertyKey());
        }
    }

    @Test
    void etcdSecurityIsUnsetByDefault() {
        assertEquals(Settings.EtcdSecurity.NONE, settings(Map.of()).store().etcdSecurity());
        assertEquals(Settings.EtcdSecurity.NONE, settings(Map.of("ETCD_USERNAME", "", "ETCD_PASSWORD", "",
                "ETCD_CACERT", "", "ETCD_CERT", "", "ETCD_KEY", "")).store().etcdSecurity());
    }

    @Test
    void etcdCredentialsAndFilesAreBoundAndTheirTextHidesThePassword(@TempDir Path dir) throws Exception {
        Path ca = Files.writeString(dir.resolve("ca.pem"), "x");
        Path cert = Files.writeString(dir.resolve("client.pem"), "x");
        Path key = Files.writeString(dir.resolve("client-key.pem"), "x");
        Settings.Store store = settings(Map.of("ETCD_ENDPOINTS", "https://127.0.0.1:2379", "ETCD_USERNAME", "root",
                "ETCD_PASSWORD", "s3cret-pw", "ETCD_CACERT", ca.toString(), "ETCD_CERT", cert.toString(),
                "ETCD_KEY", key.toString())).store();
        Settings.EtcdSecurity security = store.etcdSecurity();
        assertEquals(Optional.of("root"), security.username());
        assertEquals(Optional.of("s3cret-pw"), security.password());
        assertEquals(Optional.of(ca), security.caCert());
        assertEquals(Optional.of(key), security.key());
        assertTrue(store.etcdTls());
        assertFalse(store.toString().contains("s3cret-pw"), store.toString());
        assertFalse(settings(Map.of("ETCD_ENDPOINTS", "http://127.0.0.1:2379")).store().etcdTls());
    }

    @Test
    void incompleteEtcdPairsAreConfigurationErrorsNamingTheVariable(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("f.pem"), "x");
        String https = "https://127.0.0.1:2379";
        assertProblem("ETCD_PASSWORD is set without ETCD_USERNAME", Map.of("ETCD_PASSWORD", "s3cret-pw"));
        assertProblem("ETCD_USERNAME is set without ETCD_PASSWORD", Map.of("ETCD_USERNAME", "root"));
        assertProblem("ETCD_CERT is set without ETCD_KEY",
                Map.of("ETCD_ENDPOINTS", https, "ETCD_CERT", file.toString()));
        assertProblem("ETCD_KEY is set without ETCD_CERT", Map.of("ETCD_ENDPOINTS", https, "ETCD_KEY", file.toString()));
        assertProblem("ETCD_CACERT names " + dir.resolve("missing.pem") + ", which is not a readable file",
                Map.of("ETCD_ENDPOINTS", https, "ETCD_CACERT", dir.resolve("missing.pem").toString()));
        assertProblem("ETCD_KEY names " + dir + ", which is not a readable file",
                Map.of("ETCD_ENDPOINTS", https, "ETCD_CERT", file.toString(), "ETCD_KEY", dir.toString()));
        assertProblem("ETCD_CACERT is set but ETCD_ENDPOINTS are http://",
                Map.of("ETCD_ENDPOINTS", "http://127.0.0.1:2379", "ETCD_CACERT", file.toString()));
        assertProblem("ETCD_ENDPOINTS mixes http:// and https://",
                Map.of("ETCD_ENDPOINTS", "https://a:2379,http://b:2379"));
    }

    private static void assertProblem(String expected, Map<String, String> env) {
        ConfigException e = assertThrows(ConfigException.class, () -> settings(env));
        assertTrue(e.getMessage().startsWith(expected), e.getMessage());
        assertFalse(e.getMessage().contains("s3cret-pw"), e.getMessage());
    }
}
