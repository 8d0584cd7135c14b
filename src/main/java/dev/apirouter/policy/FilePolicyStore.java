package dev.apirouter.policy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The policy file store: one YAML/JSON file, checked for changes on an interval (which also catches Kubernetes
 * ConfigMap symlink swaps) and applied without restart. Without a file it serves the bundled demo policy (only
 * created so with {@code ROUTER_DEMO=1}: see {@link NoPolicyStore}).
 */
public final class FilePolicyStore implements PolicyStore {
    public static final String DEMO_POLICY_RESOURCE = "demo-policy.yaml";
    private static final Logger LOG = LoggerFactory.getLogger(FilePolicyStore.class);

    private final Optional<Path> file;
    private final Duration pollInterval;
    private final Clock clock;
    private final ScheduledExecutorService poller;
    private volatile PolicyView view;
    private volatile String problem;
    private byte[] lastContent;
    private long revision;

    public FilePolicyStore(Optional<Path> file, Duration pollInterval, Clock clock) {
        this.file = file;
        this.pollInterval = pollInterval;
        this.clock = clock;
        this.poller = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "policy-file-watch");
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public Optional<PolicyView> current() {
        return Optional.ofNullable(view);
    }

    @Override
    public StoreStatus status() {
        String detail = problem != null ? problem
                : view == null ? "not loaded yet" : "loaded revision " + view.revision();
        return new StoreStatus("file", problem == null, detail,
                new StoreStatus.FileFacts(file.map(Path::toString).orElse("classpath:" + DEMO_POLICY_RESOURCE)));
    }

    @Override
    public void start() {
        reload();
        if (file.isPresent()) {
            long ms = pollInterval.toMillis();
            poller.scheduleWithFixedDelay(this::reloadQuietly, ms, ms, TimeUnit.MILLISECONDS);
        }
    }

    /** Reads the file and applies it if its content changed. Returns true when a new view was applied. */
    synchronized boolean reload() {
        byte[] content;
        try {
            content = read();
        } catch (NoSuchFileException e) {
            fail("policy file " + e.getFile() + " does not exist");
            return false;
        } catch (IOException e) {
            fail("policy file cannot be read: " + e);
            return false;
        }
        if (Arrays.equals(content, lastContent)) {
            return false;
        }
        lastContent = content;
        JsonNode root;
        try {
            root = PolicyFile.parse(content);
        } catch (InvalidDocumentException e) {
            fail("policy file " + where() + " rejected, the previous policy stays in force: " + e.getMessage());
            return false;
        }
        PolicyView base = view != null ? view : PolicyView.empty(PolicySource.FILE);
        PolicyView.Builder builder = PolicyFile.apply(root, base.toBuilder());
        builder.newRejections().forEach(r -> LOG.error("Policy document rejected, its previous version stays: {}", r));
        view = builder.build(PolicySource.FILE, ++revision, clock.instant());
        problem = null;
        LOG.info("Policy loaded from {}: {} models, {} keys, {} rejected documents (revision {})", where(),
                view.models().size(), view.keys().size(), view.rejected().size(), revision);
        return true;
    }

    private void reloadQuietly() {
        try {
            reload();
        } catch (RuntimeException e) {
            fail("policy file reload failed: " + e);
        }
    }

    private byte[] read() throws IOException {
        if (file.isPresent()) {
            return Files.readAllBytes(file.get());
        }
        try (InputStream in = FilePolicyStore.class.getClassLoader().getResourceAsStream(DEMO_POLICY_RESOURCE)) {
            if (in == null) {
                throw new NoSuchFileException("classpath:" + DEMO_POLICY_RESOURCE);
            }
            return in.readAllBytes();
        }
    }

    private void fail(String message) {
        if (!message.equals(problem)) {
            LOG.error(message);
        }
        problem = message;
        lastContent = null;
    }

    private String where() {
        return file.map(Path::toString).orElse("the bundled demo policy");
    }

    @Override
    public void close() {
        poller.shutdownNow();
    }
}
