package dev.apirouter.reload;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import dev.apirouter.reload.ChangeDetector.Change;
import dev.apirouter.reload.RouteDirectory.Content;
import dev.apirouter.reload.RouteDirectory.Observation;
import dev.apirouter.reload.RouteInstaller.Generation;
import org.apache.camel.CamelContext;
import org.apache.camel.spi.Resource;
import org.apache.camel.support.PluginHelper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads the YAML route files and, when they come from the routes directory, keeps them in step with it: the
 * directory is polled every {@link #POLL_INTERVAL} (content compared, so Kubernetes ConfigMap symlink swaps and
 * filesystems without change events are seen), and a file added, changed or removed reloads that file's routes only,
 * with no request failing meanwhile (see {@link RouteInstaller}). A file that is rejected changes nothing, is logged
 * as one ERROR line (file, position, cause) and shows in {@link #status()}; it is tried again when it changes, or,
 * when it clashed with another file, when another file changes.
 * <p>
 * Route ids carry the file's generation from its second load on ({@code chat-completions#2});
 * {@link #publicRouteId(String)} gives back the id written in the file.
 */
public final class RouteReloader implements AutoCloseable {
    public static final Duration POLL_INTERVAL = Duration.ofMillis(250);
    public static final String PACKAGED_ROUTES = "classpath:routes/*.yaml";
    private static final Logger LOG = LoggerFactory.getLogger(RouteReloader.class);

    private final Path dir;
    private final String packagedPattern;
    private final Duration pollInterval;
    private final Clock clock;
    private final ChangeDetector detector = new ChangeDetector();
    private final Map<String, FileState> files = new TreeMap<>();
    private RouteInstaller installer;
    private ScheduledExecutorService poller;
    private boolean initialLoadDone;
    private long reloads;
    private long failures;
    private boolean directoryMissingLogged;

    /** What the reloader knows of one file; guarded by the reloader's monitor. */
    private static final class FileState {
        String actedDigest;
        Generation serving;
        Instant loadedAt;
        Instant failedAt;
        RouteFileError error;
        Content conflicted;
        boolean failedSinceStartup;
    }

    private RouteReloader(Path dir, String packagedPattern, Duration pollInterval, Clock clock) {
        this.dir = dir;
        this.packagedPattern = packagedPattern;
        this.pollInterval = pollInterval;
        this.clock = clock;
    }

    /**
     * Watches {@code routesDir} when it is a directory; otherwise loads the routes packaged in the jar once, not
     * watched.
     */
    public static RouteReloader forRoutesDir(Path routesDir) {
        if (Files.isDirectory(routesDir)) {
            return watching(routesDir, POLL_INTERVAL);
        }
        LOG.info("Routes directory {} does not exist; using the routes packaged in the jar (not watched)", routesDir);
        return packaged(PACKAGED_ROUTES);
    }

    static RouteReloader watching(Path dir, Duration pollInterval) {
        return new RouteReloader(dir.toAbsolutePath(), null, pollInterval, Clock.systemUTC());
    }

    static RouteReloader packaged(String pattern) {
        return new RouteReloader(null, pattern, POLL_INTERVAL, Clock.systemUTC());
    }

    /** The route id as written in the route file: without the generation suffix. */
    public static String publicRouteId(String routeId) {
        if (routeId == null) {
            return null;
        }
        int at = routeId.lastIndexOf(RouteInstaller.GENERATION_SEPARATOR);
        if (at > 0 && at < routeId.length() - 1 && routeId.substring(at + 1).chars().allMatch(Character::isDigit)) {
            return routeId.substring(0, at);
        }
        return routeId;
    }

    /**
     * Loads the route files into the started {@code context} (synchronously: when this returns the routes serve),
     * then starts watching the directory.
     */
    public void start(CamelContext context) {
        long t0 = System.nanoTime();
        synchronized (this) {
            installer = new RouteInstaller(context);
        }
        if (dir != null) {
            Map<String, Observation> scan = scanOrEmpty();
            detector.seed(scan);
            scan.forEach((name, observation) -> {
                if (observation instanceof Content content) {
                    apply(new Change(name, ChangeDetector.Kind.UPSERT, content), Set.of(), true);
                }
            });
        } else {
            loadPackaged(context);
        }
        synchronized (this) {
            initialLoadDone = true;
        }
        LOG.info("Route files loaded from {} ({} ms){}", source(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0),
                dir != null ? "; watching for changes every " + pollInterval.toMillis() + " ms" : "");
        if (dir != null) {
            poller = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "route-reloader");
                t.setDaemon(true);
                return t;
            });
            poller.scheduleWithFixedDelay(this::poll, pollInterval.toMillis(), pollInterval.toMillis(),
                    TimeUnit.MILLISECONDS);
        }
    }

    /** Stops watching (bounded). Routes stay as they are; the CamelContext stops them. */
    @Override
    public void close() {
        if (poller != null) {
            poller.shutdown();
            try {
                if (!poller.awaitTermination(5, TimeUnit.SECONDS)) {
                    poller.shutdownNow();
                }
            } catch (InterruptedException e) {
                poller.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }
    }

    /** A snapshot of what has been loaded and rejected. */
    public synchronized ReloadStatus status() {
        Map<String, ReloadStatus.FileStatus> out = new LinkedHashMap<>();
        files.forEach((name, f) -> out.put(name, new ReloadStatus.FileStatus(
                f.error != null ? "failed" : "loaded",
                f.serving != null ? f.serving.number() : 0,
                f.serving != null ? f.serving.publicIds() : List.of(),
                f.loadedAt, f.failedAt, f.error != null ? f.error.describe() : null, f.failedSinceStartup)));
        return new ReloadStatus(source(), dir != null, initialLoadDone, reloads, failures,
                installer != null ? installer.retiringCount() : 0, out);
    }

    private String source() {
        return dir != null ? dir.toString() : packagedPattern;
    }

    // --- polling (one thread)

    void poll() {
        try {
            Map<String, Observation> scan;
            try {
                scan = RouteDirectory.scan(dir);
                directoryMissingLogged = false;
            } catch (IOException e) {
                if (!directoryMissingLogged) {
                    LOG.warn("Routes directory {} cannot be read ({}); the routes stay as they are", dir, e.toString());
                    directoryMissingLogged = true;
                }
                return;
            }
            boolean changed = false;
            List<Change> changes = detector.detect(scan, actedDigests());
            Set<String> leaving = new HashSet<>();
            changes.stream().filter(c -> c.kind() == ChangeDetector.Kind.REMOVE).forEach(c -> leaving.add(c.file()));
            for (Change change : changes) {
                changed |= apply(change, leaving, false);
            }
            if (changed) {
                retryConflicts();
            }
            installer.drain(clock.instant());
        } catch (RuntimeException | Error e) {
            LOG.error("Route reload failed unexpectedly", e);
        }
    }

    private synchronized Map<String, String> actedDigests() {
        Map<String, String> acted = new TreeMap<>();
        files.forEach((name, f) -> acted.put(name, f.actedDigest));
        return acted;
    }

    /** Applies one change; true when something changed (a file loaded or removed). */
    private boolean apply(Change change, Set<String> leaving, boolean initial) {
        String file = change.file();
        if (change.kind() == ChangeDetector.Kind.REMOVE) {
            Generation removed = installer.remove(file).orElse(null);
            synchronized (this) {
                files.remove(file);
                reloads++;
            }
            LOG.info("Route file {} removed{}", file, removed == null ? " (it had no routes running)"
                    : ": routes " + removed.publicIds() + " retire once their in-flight requests are done");
            return true;
        }
        return load(file, dir.resolve(file).toUri().toString(), change.content(), leaving, initial);
    }

    private boolean load(String file, String location, Content content, Set<String> leaving, boolean initial) {
        long t0 = System.nanoTime();
        FileState state;
        synchronized (this) {
            state = files.computeIfAbsent(file, f -> new FileState());
            state.actedDigest = content.digest();
        }
        try {
            Generation generation = installer.install(file, location, content.bytes(), leaving);
            synchronized (this) {
                state.serving = generation;
                state.loadedAt = clock.instant();
                state.failedAt = null;
                state.error = null;
                state.conflicted = null;
                state.failedSinceStartup = false;
                reloads++;
            }
            LOG.info("Route file {} {} as generation {} ({} ms): routes {}", file, initial ? "loaded" : "reloaded",
                    generation.number(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0),
                    generation.publicIds());
            return true;
        } catch (RouteFileError e) {
            boolean repeated;
            synchronized (this) {
                repeated = state.error != null && state.error.getMessage().equals(e.getMessage());
                state.failedAt = clock.instant();
                state.error = e;
                state.conflicted = e.kind() == RouteFileError.Kind.CONFLICT ? content : null;
                state.failedSinceStartup = state.serving == null && (initial || state.failedSinceStartup);
                if (!repeated) {
                    failures++;
                }
            }
            if (!repeated) {
                LOG.error("Route file {} rejected{}: {}; {}", file, RouteFileError.position(e.line(), e.column()),
                        e.reason(), state.serving != null ? "generation " + state.serving.number()
                                + " keeps serving" : "none of its routes run");
            }
            return false;
        }
    }

    /** Files that clashed with another file are tried again after another file changed. */
    private void retryConflicts() {
        List<Map.Entry<String, Content>> retry = new ArrayList<>();
        synchronized (this) {
            files.forEach((name, f) -> {
                if (f.conflicted != null) {
                    retry.add(Map.entry(name, f.conflicted));
                }
            });
        }
        boolean changed = false;
        for (Map.Entry<String, Content> e : retry) {
            changed |= load(e.getKey(), dir.resolve(e.getKey()).toUri().toString(), e.getValue(), Set.of(), false);
        }
        if (changed) {
            retryConflicts();
        }
    }

    // --- packaged routes

    private void loadPackaged(CamelContext context) {
        Collection<Resource> resources;
        try {
            resources = PluginHelper.getPackageScanResourceResolver(context).findResources(packagedPattern);
        } catch (Exception e) {
            LOG.error("The packaged routes {} cannot be listed: {}", packagedPattern, RouteFileParser.rootMessage(e));
            return;
        }
        List<Resource> sorted = new ArrayList<>(resources);
        sorted.sort(Comparator.comparing(Resource::getLocation));
        for (Resource resource : sorted) {
            String location = resource.getLocation();
            String file = location.substring(location.lastIndexOf('/') + 1);
            try (InputStream in = resource.getInputStream()) {
                load(file, location, Content.of(in.readAllBytes()), Set.of(), true);
            } catch (IOException e) {
                LOG.error("Route file {} cannot be read: {}", location, e.toString());
            }
        }
    }

    private Map<String, Observation> scanOrEmpty() {
        try {
            return RouteDirectory.scan(dir);
        } catch (IOException e) {
            LOG.error("Routes directory {} cannot be read ({}); no route files loaded yet", dir, e.toString());
            return Map.of();
        }
    }
}
