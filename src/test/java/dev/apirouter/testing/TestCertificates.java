package dev.apirouter.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;


/**
 * A throwaway certificate authority made with {@code openssl} in a test's directory: the CA, a server certificate
 * for 127.0.0.1 and localhost, and a client certificate. Keys are PKCS#8 PEM as {@code openssl genpkey} writes them
 * (EC P-256 for the CA and the server, RSA 2048 for the client). A test is skipped when openssl is missing.
 */
public record TestCertificates(Path dir, Path ca, Path serverCert, Path serverKey, Path clientCert, Path clientKey) {
    /** The openssl binary: {@code OPENSSL_BIN} or {@code /usr/bin/openssl}. */
    public static final String OPENSSL = System.getenv().getOrDefault("OPENSSL_BIN", "/usr/bin/openssl");
    private static final long TIMEOUT_SECONDS = 30;

    /** Creates the CA and both certificates (valid two days) in {@code dir}, which is created if needed. */
    public static TestCertificates create(Path dir) throws IOException {
        RequiredTools.assume(Files.isExecutable(Path.of(OPENSSL)),
                OPENSSL + " is missing: install openssl (or set OPENSSL_BIN) to run the etcd TLS tests");
        Files.createDirectories(dir);
        TestCertificates c = new TestCertificates(dir, dir.resolve("ca.pem"), dir.resolve("server.pem"),
                dir.resolve("server-key.pem"), dir.resolve("client.pem"), dir.resolve("client-key.pem"));
        Path caKey = dir.resolve("ca-key.pem");
        openssl(dir, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", caKey.toString());
        openssl(dir, "req", "-x509", "-new", "-key", caKey.toString(), "-subj", "/CN=api-router test CA", "-days", "2",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                "-out", c.ca.toString());
        c.sign("etcd", "EC", "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
                c.serverKey, c.serverCert);
        c.sign("api-router", "RSA", "extendedKeyUsage=clientAuth\n", c.clientKey, c.clientCert);
        return c;
    }

    private void sign(String commonName, String algorithm, String extensions, Path key, Path cert) throws IOException {
        List<String> keyOptions = algorithm.equals("EC") ? List.of("-pkeyopt", "ec_paramgen_curve:P-256")
                : List.of("-pkeyopt", "rsa_keygen_bits:2048");
        List<String> genpkey = new ArrayList<>(List.of("genpkey", "-algorithm", algorithm));
        genpkey.addAll(keyOptions);
        genpkey.addAll(List.of("-out", key.toString()));
        openssl(dir, genpkey.toArray(String[]::new));
        Path csr = dir.resolve(commonName + ".csr");
        Path ext = Files.writeString(dir.resolve(commonName + ".ext"), extensions, StandardCharsets.UTF_8);
        openssl(dir, "req", "-new", "-key", key.toString(), "-subj", "/CN=" + commonName, "-out", csr.toString());
        openssl(dir, "x509", "-req", "-in", csr.toString(), "-CA", ca.toString(), "-CAkey",
                dir.resolve("ca-key.pem").toString(), "-CAcreateserial", "-days", "2", "-extfile", ext.toString(),
                "-out", cert.toString());
    }

    private static void openssl(Path dir, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(OPENSSL));
        command.addAll(List.of(args));
        Path log = dir.resolve("openssl.log");
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        try {
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("openssl " + args[0] + " did not finish in " + TIMEOUT_SECONDS + " s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (p.exitValue() != 0) {
            throw new IOException("openssl " + String.join(" ", args) + " failed: " + Files.readString(log));
        }
    }
}
