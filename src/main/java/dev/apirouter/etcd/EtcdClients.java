package dev.apirouter.etcd;

import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import dev.apirouter.config.Settings;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.ClientBuilder;
import io.etcd.jetcd.common.exception.CompactedException;
import io.etcd.jetcd.common.exception.EtcdException;
import io.grpc.Status;
import io.netty.handler.ssl.SslContext;
import org.slf4j.LoggerFactory;

/**
 * The one way the gateway's store and the operator commands make etcd clients, wait for etcd calls and describe
 * their failures. A client made here cannot hang: {@code waitForReady(false)} (a call fails at once while etcd is
 * unreachable instead of waiting for a connection), a connect timeout, a deadline on every unary call (the
 * authentication call included), and jetcd's own retries bounded by that same deadline. It speaks TLS to
 * {@code https://} endpoints ({@link EtcdTls}) and authenticates with {@code ETCD_USERNAME}/{@code ETCD_PASSWORD}
 * when they are set.
 */
public final class EtcdClients {
    private final Settings.Store settings;
    private final SslContext tls; // null: plaintext

    private EtcdClients(Settings.Store settings, SslContext tls) {
        this.settings = settings;
        this.tls = tls;
    }

    /**
     * Clients for the etcd of {@code settings}. The TLS files are read here, once: one that cannot be used is a
     * {@link dev.apirouter.config.ConfigException} naming its variable.
     */
    public static EtcdClients of(Settings.Store settings) {
        if (settings.etcdEndpoints().isEmpty()) {
            throw new IllegalArgumentException("an etcd client needs at least one endpoint");
        }
        return new EtcdClients(settings, settings.etcdTls() ? EtcdTls.context(settings.etcdSecurity()) : null);
    }

    /** How the clients reach etcd, for logs: TLS or not, client certificate, user name (never the password). */
    public String describeAccess() {
        Settings.EtcdSecurity security = settings.etcdSecurity();
        String transport = tls == null ? "plaintext" : security.cert().isPresent() ? "TLS with a client certificate"
                : "TLS";
        return transport + ", " + security.username().map(user -> "user " + user).orElse("no authentication");
    }

    /** A new client; the caller closes it. */
    public Client newClient() {
        quietJetcdRetryWarnings();
        Duration call = settings.etcdCallTimeout();
        EtcdDeadlines deadlines = new EtcdDeadlines(call);
        ClientBuilder builder = Client.builder()
                .endpoints(settings.etcdEndpoints().toArray(URI[]::new))
                .waitForReady(false)
                .connectTimeout(settings.etcdConnectTimeout())
                .interceptor(deadlines)
                .retryChronoUnit(ChronoUnit.MILLIS)
                .retryDelay(100)
                .retryMaxDelay(1000)
                .retryMaxAttempts(2)
                .retryMaxDuration(call)
                .keepaliveTime(Duration.ofSeconds(10))
                .keepaliveTimeout(Duration.ofSeconds(5))
                .keepaliveWithoutCalls(false); // etcd refuses pings without a stream (GOAWAY too_many_pings)
        if (tls != null) {
            builder.sslContext(tls);
        }
        Settings.EtcdSecurity security = settings.etcdSecurity();
        if (security.authenticates()) {
            builder.user(bytes(security.username().orElseThrow()))
                    .password(bytes(security.password().orElseThrow()))
                    .authInterceptors(deadlines); // jetcd's authenticate call does not go through interceptor()
        }
        return builder.build();
    }

    private static ByteSequence bytes(String s) {
        return ByteSequence.from(s, StandardCharsets.UTF_8);
    }

    /**
     * Waits for an etcd call for at most the call timeout plus a second. The deadline interceptor already ends the
     * call; this bounds our own wait even if the client misbehaved.
     */
    public <T> T await(CompletableFuture<T> call) throws ExecutionException, TimeoutException, InterruptedException {
        long ms = settings.etcdCallTimeout().toMillis() + 1000;
        try {
            return call.get(ms, TimeUnit.MILLISECONDS);
        } catch (TimeoutException | InterruptedException e) {
            call.cancel(true);
            throw e;
        }
    }

    /**
     * A short, single-line account of an etcd failure, without key material or credentials (etcd errors carry none).
     * Refused credentials start with {@code "authentication failed: "}, a failed TLS handshake with
     * {@code "TLS handshake failed: "}, with a hint at the variable to check (see {@link #refusal}).
     */
    public String describe(Throwable error) {
        Duration callTimeout = settings.etcdCallTimeout();
        Throwable t = unwrap(error);
        if (t instanceof TimeoutException) {
            return "no answer within " + callTimeout.toMillis() + " ms";
        }
        if (t instanceof CompactedException c) {
            return "revision compacted at " + c.getCompactedRevision();
        }
        Status status = Status.fromThrowable(t);
        String text = EtcdFailures.credentialsOrTls(t, status.getCode())
                .orElseGet(() -> generic(t, status, callTimeout));
        text = text.replace('\n', ' ');
        return text.length() > 300 ? text.substring(0, 300) + "…" : text;
    }

    /**
     * For a {@link #describe description}: {@code "authentication failed"} or {@code "TLS handshake failed"} when etcd
     * refused us, a state an operator must act on (unlike an outage, which ends by itself), else empty.
     */
    public static Optional<String> refusal(String description) {
        return EtcdFailures.refusal(description);
    }

    private static Throwable unwrap(Throwable error) {
        Throwable t = error;
        while ((t instanceof ExecutionException || t instanceof CompletionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static String generic(Throwable t, Status status, Duration callTimeout) {
        if (status.getCode() == Status.Code.DEADLINE_EXCEEDED) {
            return "DEADLINE_EXCEEDED: no answer within " + callTimeout.toMillis() + " ms";
        }
        if (status.getCode() != Status.Code.UNKNOWN || status.getDescription() != null) {
            String text = status.getCode() + (status.getDescription() != null ? ": " + status.getDescription() : "");
            Throwable cause = status.getCause();
            return cause != null && cause.getMessage() != null ? text + " (" + cause.getMessage() + ")" : text;
        }
        if (t instanceof EtcdException e) {
            return e.getErrorCode() + ": " + e.getMessage();
        }
        return t.getClass().getSimpleName() + (t.getMessage() != null ? ": " + t.getMessage() : "");
    }

    /**
     * jetcd logs two WARN lines for every call that fails after its retries ("retry failure", "maximum number of
     * auto retries reached"): one pair per attempt, forever, while etcd is down. The store and the operator commands
     * report those failures themselves, at a bounded rate, so jetcd's call logger is set to ERROR, unless the logging
     * configuration names a level for it.
     */
    private static void quietJetcdRetryWarnings() {
        if (LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext context) {
            ch.qos.logback.classic.Logger jetcd = context.getLogger("io.etcd.jetcd.impl");
            if (jetcd.getLevel() == null) {
                jetcd.setLevel(ch.qos.logback.classic.Level.ERROR);
            }
        }
    }
}
