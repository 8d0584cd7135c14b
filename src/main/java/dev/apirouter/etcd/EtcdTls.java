package dev.apirouter.etcd;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import javax.net.ssl.SSLException;

import dev.apirouter.config.ConfigException;
import dev.apirouter.config.Setting;
import dev.apirouter.config.Settings;
import io.grpc.netty.GrpcSslContexts;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;

/**
 * The TLS context of the etcd clients, read once from the PEM files of {@link Settings.EtcdSecurity}: the CA that
 * signed etcd's server certificate ({@code ETCD_CACERT}; unset: the JVM's trusted CAs) and, for etcd's
 * {@code --client-cert-auth}, a client certificate with its key ({@code ETCD_CERT}, {@code ETCD_KEY}). Netty reads
 * keys in PKCS#8 only ({@code -----BEGIN PRIVATE KEY-----}, what {@code openssl genpkey} writes). A file that cannot
 * be used is a {@link ConfigException} naming its variable and path, never anything read from it.
 */
final class EtcdTls {
    static final String KEY_FORMAT = "an unencrypted PKCS#8 PEM private key (-----BEGIN PRIVATE KEY-----, as openssl"
            + " genpkey writes; convert another with: openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pkcs8.pem)";

    private EtcdTls() {
    }

    static SslContext context(Settings.EtcdSecurity security) {
        SslContextBuilder builder = GrpcSslContexts.forClient();
        security.caCert().ifPresent(ca -> {
            requireCertificates(Setting.ETCD_CACERT, ca);
            builder.trustManager(ca.toFile());
        });
        if (security.cert().isPresent() && security.key().isPresent()) {
            Path cert = security.cert().get();
            Path key = security.key().get();
            requireCertificates(Setting.ETCD_CERT, cert);
            try {
                builder.keyManager(cert.toFile(), key.toFile());
            } catch (IllegalArgumentException e) { // the certificate was readable just above: the key is not
                throw new ConfigException(Setting.ETCD_KEY, "names " + key + ", which is not " + KEY_FORMAT);
            }
        }
        try {
            return builder.build();
        } catch (SSLException | RuntimeException e) {
            Setting blamed = security.cert().isPresent() ? Setting.ETCD_CERT : Setting.ETCD_CACERT;
            throw new ConfigException(blamed, "cannot be used for TLS: " + e.getClass().getSimpleName());
        }
    }

    private static void requireCertificates(Setting setting, Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            if (!CertificateFactory.getInstance("X.509").generateCertificates(in).isEmpty()) {
                return;
            }
        } catch (IOException | CertificateException e) {
            // below
        }
        throw new ConfigException(setting, "names " + file
                + ", which holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
}
