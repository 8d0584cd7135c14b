package dev.apirouter.policy;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Re-reads the backend secret files of the policy in force on an interval, on its own thread (never an event loop),
 * so that a rotated Kubernetes Secret is used without a restart or a policy change. A file that cannot be read, or
 * holds no usable secret, leaves the secret read before in use; that is logged once per problem (never the secret).
 * Secrets from environment variables cannot change while the process runs.
 */
public final class BackendSecretRefresher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BackendSecretRefresher.class);

    private final PolicyStore store;
    private final Duration interval;
    private final ScheduledExecutorService worker;

    public BackendSecretRefresher(PolicyStore store, Duration interval) {
        this.store = store;
        this.interval = interval;
        this.worker = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "backend-secret-refresh");
            t.setDaemon(true);
            return t;
        });
    }

    public void start() {
        long ms = interval.toMillis();
        worker.scheduleWithFixedDelay(this::refreshQuietly, ms, ms, TimeUnit.MILLISECONDS);
    }

    /** One round: every secret file of the view in force, read again. */
    void refresh() {
        store.current().ifPresent(view -> {
            for (ModelPolicy policy : view.models().values()) {
                for (Backend backend : policy.backends()) {
                    backend.auth().filter(a -> a.source() == BackendAuth.Source.FILE)
                            .ifPresent(auth -> reread(policy, backend, auth));
                }
            }
        });
    }

    private static void reread(ModelPolicy policy, Backend backend, BackendAuth auth) {
        String before = auth.problem();
        try {
            if (auth.reread()) {
                LOG.info("Model '{}': the secret in {} changed; backend {} gets the new one", policy.name(),
                        auth.name(), backend.url());
            } else if (before != null) {
                LOG.info("Model '{}': the secret file {} of backend {} is readable again", policy.name(), auth.name(),
                        backend.url());
            }
        } catch (InvalidDocumentException e) {
            if (!e.getMessage().equals(before)) {
                LOG.warn("Model '{}': backend {} keeps the secret read before: {}", policy.name(), backend.url(),
                        e.getMessage());
            }
        }
    }

    private void refreshQuietly() {
        try {
            refresh();
        } catch (RuntimeException e) {
            LOG.warn("Backend secret files could not be re-read: {}", e.toString());
        }
    }

    @Override
    public void close() {
        worker.shutdownNow();
    }
}
