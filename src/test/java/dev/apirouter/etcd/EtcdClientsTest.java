package dev.apirouter.etcd;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import dev.apirouter.config.ConfigException;
import dev.apirouter.config.Settings;
import dev.apirouter.testing.EtcdProcess;
import dev.apirouter.testing.TestCertificates;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shared etcd client builder: its checks of the TLS files, and clients against an etcd with TLS and auth. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class EtcdClientsTest {
    static final String PASSWORD = "etcd-clients-test-pw";
    private static EtcdProcess etcd;

    @TempDir
    Path tmp;

    @BeforeAll
    static void startEtcd() throws IOException {
        etcd = EtcdProcess.start(EtcdProcess.Security.TLS.withClientCertAuth().withRootPassword(PASSWORD));
    }

    @AfterAll
    static void stopEtcd() {
        if (etcd != null) {
            etcd.close();
        }
    }

    /** Generous timeouts: the first TLS connection of a JVM takes seconds on a busy machine. */
    static Settings.Store settings(String endpoint, Settings.EtcdSecurity security) {
        return new Settings.Store(Optional.empty(), false, Duration.ofSeconds(1), List.of(URI.create(endpoint)), "/t/",
                Duration.ofMillis(5000), Duration.ofMillis(10000), Path.of("lkg.json"), security);
    }

    static Settings.EtcdSecurity security(String user, String password, TestCertificates certs, Path ca) {
        return new Settings.EtcdSecurity(Optional.ofNullable(user), Optional.ofNullable(password), Optional.of(ca),
                Optional.of(certs.clientCert()), Optional.of(certs.clientKey()));
    }

    /** Puts then reads a key; the failure's description when etcd refuses. */
    static String roundTrip(EtcdClients clients) throws Exception {
        try (Client client = clients.newClient()) {
            ByteSequence key = ByteSequence.from("/t/k", StandardCharsets.UTF_8);
            clients.await(client.getKVClient().put(key, ByteSequence.from("v", StandardCharsets.UTF_8)));
            return clients.await(client.getKVClient().get(key)).getKvs().get(0).getValue()
                    .toString(StandardCharsets.UTF_8);
        } catch (ExecutionException e) {
            return "failed: " + clients.describe(e);
        }
    }

    @Test
    void tlsWithAClientCertificateAndAuthentication() throws Exception {
        TestCertificates certs = etcd.certificates();
        EtcdClients clients = EtcdClients.of(settings(etcd.endpoint(), security("root", PASSWORD, certs, certs.ca())));
        assertEquals("v", roundTrip(clients));
        assertEquals("TLS with a client certificate, user root", clients.describeAccess());
    }

    @Test
    void aWrongPasswordIsDescribedAsAnAuthenticationFailureWithoutThePassword() throws Exception {
        TestCertificates certs = etcd.certificates();
        String wrong = "not-the-password-42";
        Settings.EtcdSecurity wrongPassword = security("root", wrong, certs, certs.ca());
        String result = roundTrip(EtcdClients.of(settings(etcd.endpoint(), wrongPassword)));
        assertTrue(result.startsWith("failed: authentication failed"), result);
        assertEquals(Optional.of("authentication failed"), EtcdClients.refusal(result.substring("failed: ".length())));
        assertFalse(result.contains(wrong) || result.contains(PASSWORD), result);
    }

    @Test
    void anUntrustedServerCertificateIsDescribedAsATlsFailure() throws Exception {
        TestCertificates other = TestCertificates.create(tmp.resolve("other-ca"));
        TestCertificates certs = etcd.certificates();
        String result = roundTrip(EtcdClients.of(settings(etcd.endpoint(),
                security("root", PASSWORD, certs, other.ca()))));
        assertTrue(result.startsWith("failed: TLS handshake failed"), result);
        assertEquals(Optional.of("TLS handshake failed"), EtcdClients.refusal(result.substring("failed: ".length())));
    }

    @Test
    void withoutAClientCertificateEtcdRefusesTheHandshake() throws Exception {
        TestCertificates certs = etcd.certificates();
        Settings.EtcdSecurity noCert = new Settings.EtcdSecurity(Optional.of("root"), Optional.of(PASSWORD),
                Optional.of(certs.ca()), Optional.empty(), Optional.empty());
        String result = roundTrip(EtcdClients.of(settings(etcd.endpoint(), noCert)));
        assertTrue(result.startsWith("failed: TLS handshake failed") && result.contains("ETCD_CERT"), result);
    }

    @Test
    void unusableTlsFilesAreConfigurationErrorsNamingTheVariable() throws Exception {
        TestCertificates certs = etcd.certificates();
        Path notPem = Files.writeString(tmp.resolve("not.pem"), "hello\n");
        Path sec1Key = tmp.resolve("sec1-key.pem"); // "BEGIN EC PRIVATE KEY": not PKCS#8
        Files.writeString(sec1Key, convertToSec1(certs));

        ConfigException ca = assertThrows(ConfigException.class, () -> EtcdClients.of(settings(etcd.endpoint(),
                security(null, null, certs, notPem))));
        assertTrue(ca.getMessage().startsWith("ETCD_CACERT names " + notPem + ", which holds no PEM certificate"),
                ca.getMessage());

        ConfigException cert = assertThrows(ConfigException.class, () -> EtcdClients.of(settings(etcd.endpoint(),
                new Settings.EtcdSecurity(Optional.empty(), Optional.empty(), Optional.of(certs.ca()),
                        Optional.of(notPem), Optional.of(certs.clientKey())))));
        assertTrue(cert.getMessage().startsWith("ETCD_CERT names " + notPem), cert.getMessage());

        ConfigException key = assertThrows(ConfigException.class, () -> EtcdClients.of(settings(etcd.endpoint(),
                new Settings.EtcdSecurity(Optional.empty(), Optional.empty(), Optional.of(certs.ca()),
                        Optional.of(certs.clientCert()), Optional.of(sec1Key)))));
        assertTrue(key.getMessage().startsWith("ETCD_KEY names " + sec1Key + ", which is not an unencrypted PKCS#8"),
                key.getMessage());
        assertFalse(key.getMessage().contains(Files.readString(sec1Key).lines().skip(1).findFirst().orElseThrow()));
    }

    @Test
    void plaintextEndpointsGetNoTlsContextAndAnOutageIsNoRefusal() {
        EtcdClients clients = EtcdClients.of(settings("http://127.0.0.1:1", Settings.EtcdSecurity.NONE));
        assertEquals("plaintext, no authentication", clients.describeAccess());
        assertEquals(Optional.empty(), EtcdClients.refusal("UNAVAILABLE: io exception (Connection refused)"));
    }

    /** The server's EC key written the traditional way (SEC1), which Netty cannot read. */
    private String convertToSec1(TestCertificates certs) throws Exception {
        Path out = tmp.resolve("sec1.pem");
        Process p = new ProcessBuilder(TestCertificates.OPENSSL, "ec", "-in", certs.serverKey().toString(), "-out",
                out.toString()).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0);
        String pem = Files.readString(out);
        assertTrue(pem.startsWith("-----BEGIN EC PRIVATE KEY-----"), pem.lines().findFirst().orElse(""));
        return pem;
    }
}
