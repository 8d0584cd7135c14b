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
        assertEquals(new Settings.Management("0.0.0.0", 9090), s.management());
        assertTrue(s.adminToken().isEmpty(), "no admin token by default: the admin endpoints are closed");
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
        Settings s = settings(Map.of("ROUTER_HTTP_PORT", "8081", "ETCD_ENDPOINTS", "http://a:2379, b:2379",
                "ROUTER_ETCD_PREFIX", "/x"));
        assertEquals(8081, s.http().port());
        assertEquals(List.of(java.net.URI.create("http://a:2379"), java.net.URI.create("http://b:2379")),
                s.store().etcdEndpoints());
        assertEquals("/x/", s.store().etcdPrefix());
        assertTrue(s.store().usesEtcd());
    }

    @Test
    void theDemoPolicyOnlyWhenAskedForAndNoOtherStoreIsSet() {
        Settings.Store none = settings(Map.of()).store();
        assertTrue(none.isNone());
        assertFalse(none.usesDemo());
        assertEquals("none", none.describe());
        for (String off : List.of("0", "false", "")) {
            assertTrue(settings(Map.of("ROUTER_DEMO", off)).store().isNone(), off);
        }
        for (String on : List.of("1", "true", "TRUE")) {
            Settings.Store demo = settings(Map.of("ROUTER_DEMO", on)).store();
            assertTrue(demo.usesDemo(), on);
            assertFalse(demo.isNone(), on);
            assertTrue(demo.describe().contains("demo"), demo.describe());
        }
        Settings.Store file = settings(Map.of("ROUTER_DEMO", "1", "ROUTER_POLICY_FILE", "p.yaml")).store();
        assertFalse(file.usesDemo(), "a policy file wins over the demo");
        assertEquals("file p.yaml", file.describe());
        Settings.Store etcd = settings(Map.of("ROUTER_DEMO", "1", "ETCD_ENDPOINTS", "http://a:2379")).store();
        assertFalse(etcd.usesDemo() || etcd.isNone(), "etcd wins over the demo");
        ConfigException e = assertThrows(ConfigException.class, () -> settings(Map.of("ROUTER_DEMO", "yes please")));
        assertTrue(e.getMessage().startsWith("ROUTER_DEMO"), e.getMessage());
    }

    @Test
    void badValuesNameTheVariable() {
        ConfigException e = assertThrows(ConfigException.class, () -> settings(Map.of("ROUTER_HTTP_PORT", "http")));
        assertTrue(e.getMessage().startsWith("ROUTER_HTTP_PORT"));
        assertThrows(ConfigException.class, () -> settings(Map.of("ROUTER_HTTP_PORT", "70000")));
        assertThrows(ConfigException.class, () -> settings(Map.of("OTEL_SDK_DISABLED", "maybe")));
    }

    @Test
    void theManagementPortIsItsOwn() {
        Settings s = settings(Map.of("ROUTER_MANAGEMENT_PORT", "0", "ROUTER_MANAGEMENT_HOST", "127.0.0.1"));
        assertEquals(new Settings.Management("127.0.0.1", 0), s.management());
        assertEquals(0, settings(Map.of("ROUTER_HTTP_PORT", "0", "ROUTER_MANAGEMENT_PORT", "0")).management().port(),
                "two free ports");
        ConfigException same = assertThrows(ConfigException.class,
                () -> settings(Map.of("ROUTER_HTTP_PORT", "9000", "ROUTER_MANAGEMENT_PORT", "9000")));
        assertTrue(same.getMessage().startsWith("ROUTER_MANAGEMENT_PORT"), same.getMessage());
        assertThrows(ConfigException.class, () -> settings(Map.of("ROUTER_HTTP_PORT", "9090")),
                "the public port on the management port's default");
        assertThrows(ConfigException.class, () -> settings(Map.of("ROUTER_MANAGEMENT_PORT", "-1")));
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
