package dev.apirouter.etcd;

import java.security.cert.CertificateException;
import java.util.Optional;
import java.util.stream.Stream;
import javax.net.ssl.SSLException;

import io.grpc.Status;

/**
 * Tells refused credentials and failed TLS handshakes from other etcd failures, for messages an operator can act
 * on. Only etcd's and the TLS stack's own messages are quoted: they never hold a password, key or token.
 */
final class EtcdFailures {
    static final String AUTHENTICATION = "authentication failed";
    static final String TLS = "TLS handshake failed";

    private EtcdFailures() {
    }

    static Optional<String> refusal(String description) {
        return Stream.of(AUTHENTICATION, TLS).filter(description::startsWith).findFirst();
    }

    /** {@code "authentication failed: ..."} or {@code "TLS handshake failed: ..."}, else empty. */
    static Optional<String> credentialsOrTls(Throwable error, Status.Code code) {
        String etcdMessage = etcdMessage(error);
        if (etcdMessage.contains("authentication failed")) {
            return Optional.of(AUTHENTICATION + ": etcd refused ETCD_USERNAME/ETCD_PASSWORD (" + etcdMessage + ")");
        }
        if (etcdMessage.contains("user name is empty") || code == Status.Code.UNAUTHENTICATED) {
            return Optional.of(AUTHENTICATION + ": " + etcdMessage
                    + " (etcd has authentication enabled: set ETCD_USERNAME and ETCD_PASSWORD)");
        }
        return tls(error).map(cause -> TLS + ": " + message(cause) + hint(message(cause)));
    }

    private static Optional<Throwable> tls(Throwable error) {
        for (Throwable t = error; t != null; t = t.getCause()) {
            if (t instanceof SSLException || t instanceof CertificateException) {
                Throwable root = t;
                while (root.getCause() != null) {
                    root = root.getCause();
                }
                return Optional.of(root);
            }
        }
        return Optional.empty();
    }

    private static String hint(String message) {
        if (message.contains("trust anchor") || message.contains("PKIX")) {
            return " (is etcd's certificate signed by the CA in ETCD_CACERT?)";
        }
        if (message.contains("bad_certificate") || message.contains("certificate_required")
                || message.contains("unknown_ca")) {
            return " (etcd refused the client certificate: check ETCD_CERT and ETCD_KEY)";
        }
        if (message.contains("subject alternative name")) {
            return " (etcd's certificate does not name the host of ETCD_ENDPOINTS)";
        }
        return "";
    }

    /** The most specific message in the chain that comes from etcd ({@code etcdserver: ...}), else the root's. */
    private static String etcdMessage(Throwable error) {
        String last = "";
        for (Throwable t = error; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (m != null && m.contains("etcdserver: ")) {
                return m.substring(m.indexOf("etcdserver: "));
            }
            if (m != null) {
                last = m;
            }
        }
        return last;
    }

    private static String message(Throwable t) {
        return t.getMessage() != null ? t.getMessage() : t.getClass().getSimpleName();
    }
}
