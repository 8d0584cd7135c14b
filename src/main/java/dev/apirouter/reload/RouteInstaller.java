package dev.apirouter.reload;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import dev.apirouter.http.StreamingHttpEngine;
import dev.apirouter.reload.RouteFileError.Kind;
import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.ServiceStatus;
import org.apache.camel.component.platform.http.PlatformHttpEndpoint;
import org.apache.camel.model.Model;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.support.CamelContextHelper;
import org.apache.camel.support.service.ServiceHelper;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Installs one route file's routes into the running CamelContext as a new generation, beside the previous one, and
 * retires the previous one without cutting anything short. Not thread-safe: the reloader calls it from one thread.
 * <ol>
 * <li>Parse the YAML (syntax errors and unknown DSL keys, with line and column).</li>
 * <li>Check route ids: unique in the file, not used by another file or a built-in (Java DSL) route.</li>
 * <li>Create the routes under internal ids (the YAML id for a file's first generation, {@code id#N} after), not
 * started: Camel resolves every endpoint and bean here, so an unknown component or bean fails now.</li>
 * <li>Check HTTP paths: no two files serve the same path and method.</li>
 * <li>Start them. Their platform-http consumers join the old ones on the same endpoints and take the new requests
 * over at once (see {@code ConsumerHandover}); routes on other endpoints ({@code direct:}...) are switched stop
 * then start, as such endpoints take one consumer.</li>
 * <li>Retire the old generation: suspend its consumers only (no new requests reach it; requests already routed to
 * its Vert.x routes are handed to the new one) and remove each old route once the requests it accepted are
 * answered, streams included, bounded by {@link #DRAIN_LIMIT}.</li>
 * </ol>
 * Any failure before the last step removes what was created and restarts what was stopped: the previous routes
 * keep serving.
 */
final class RouteInstaller {
    static final String PROPERTY_ROUTE_ID = "apirouter.route-id";
    static final String PROPERTY_FILE = "apirouter.route-file";
    static final String PROPERTY_GENERATION = "apirouter.route-generation";
    static final String GENERATION_SEPARATOR = "#";
    /** An old generation still busy after this is removed anyway. */
    static final Duration DRAIN_LIMIT = Duration.ofMinutes(10);
    /** How long an old non-HTTP route (e.g. {@code direct:}) may take to finish its exchanges before the switch. */
    static final Duration EXCLUSIVE_STOP_TIMEOUT = Duration.ofSeconds(10);

    private static final Logger LOG = LoggerFactory.getLogger(RouteInstaller.class);

    /** One route of an installed generation. */
    record InstalledRoute(String publicId, String routeId, int line, HttpPath http) {
    }

    /** What a file has running now. */
    record Generation(String file, int number, List<InstalledRoute> routes) {
        List<String> publicIds() {
            return routes.stream().map(InstalledRoute::publicId).toList();
        }
    }

    private record Retiring(String routeId, String publicId, String file, int generation, Instant deadline,
                            Instant[] idleSince) {
    }

    private final CamelContext context;
    private final Model model;
    private final RouteFileParser parser;
    private final RouteChecks checks;
    private final Map<String, Generation> installed = new LinkedHashMap<>();
    private final Map<String, Integer> lastGeneration = new HashMap<>();
    private final List<Retiring> retiring = new ArrayList<>();
    /** {@code retiring.size()}, readable from any thread (status requests). */
    private volatile int retiringCount;

    RouteInstaller(CamelContext context) {
        this.context = context;
        this.model = context.getCamelContextExtension().getContextPlugin(Model.class);
        this.parser = new RouteFileParser(context);
        this.checks = new RouteChecks(context, () -> Collections.unmodifiableMap(installed),
                () -> retiring.stream().map(Retiring::routeId).collect(Collectors.toSet()));
        // line numbers on every step, for the position of a failed step
        context.setSourceLocationEnabled(true);
    }

    int retiringCount() {
        return retiringCount;
    }

    /**
     * Makes {@code content} the running version of {@code file}. On failure nothing has changed and the previous
     * generation (if any) keeps serving. The routes of the files in {@code leaving} (removed in the same change, to
     * be retired right after) do not count as taken ids and paths, so a renamed file takes over without a gap.
     */
    Generation install(String file, String location, byte[] content, Set<String> leaving) throws RouteFileError {
        if (content.length > RouteDirectory.MAX_FILE_BYTES) {
            throw new RouteFileError(file, 0, 0, "the file is larger than " + RouteDirectory.MAX_FILE_BYTES
                    + " bytes", Kind.INVALID);
        }
        if (new String(content, java.nio.charset.StandardCharsets.UTF_8).isBlank()) {
            // most likely caught while being rewritten; removing routes is done by removing the file
            throw new RouteFileError(file, 0, 0, "the file is empty (delete the file to remove its routes)",
                    Kind.INVALID);
        }
        List<RouteDefinition> definitions = parser.parse(file, location, content);
        Generation old = installed.get(file);
        List<String> publicIds = checks.publicIds(file, definitions, leaving);
        int number = nextFreeGeneration(file, publicIds);

        List<Boolean> autoStartup = new ArrayList<>();
        for (int i = 0; i < definitions.size(); i++) {
            RouteDefinition definition = definitions.get(i);
            autoStartup.add(autoStartup(definition));
            definition.setId(routeId(publicIds.get(i), number));
            definition.setAutoStartup("false");
            definition.routeProperty(PROPERTY_ROUTE_ID, publicIds.get(i));
            definition.routeProperty(PROPERTY_FILE, file);
            definition.routeProperty(PROPERTY_GENERATION, Integer.toString(number));
            if (definition.getGroup() == null) {
                definition.setGroup(file);
            }
        }
        try {
            model.addRouteDefinitions(definitions);
        } catch (Exception e) {
            discard(definitions);
            throw RouteFileParser.creationError(file, definitions, publicIds, e);
        }
        List<InstalledRoute> routes = new ArrayList<>();
        for (int i = 0; i < definitions.size(); i++) {
            RouteDefinition definition = definitions.get(i);
            Route route = context.getRoute(definition.getId());
            HttpPath http = route != null && route.getEndpoint() instanceof PlatformHttpEndpoint endpoint
                    ? HttpPath.of(endpoint) : null;
            routes.add(new InstalledRoute(publicIds.get(i), definition.getId(), RouteFileParser.line(definition), http));
        }
        try {
            checks.checkPaths(file, old, routes, leaving);
        } catch (RouteFileError e) {
            discard(definitions);
            throw e;
        }

        List<String> stoppedOld = old == null ? List.of() : stopExclusiveConsumers(old);
        for (int i = 0; i < routes.size(); i++) {
            if (!autoStartup.get(i)) {
                continue;
            }
            InstalledRoute route = routes.get(i);
            try {
                context.getRouteController().startRoute(route.routeId());
                if (context.getRouteController().getRouteStatus(route.routeId()) != ServiceStatus.Started) {
                    throw new IllegalStateException("the route did not start");
                }
            } catch (Exception e) {
                discard(definitions);
                restart(stoppedOld);
                throw new RouteFileError(file, route.line(), 0, "route '" + route.publicId() + "' failed to start: "
                        + RouteFileParser.rootMessage(e), Kind.CONFLICT);
            }
        }
        Generation generation = new Generation(file, number, List.copyOf(routes));
        installed.put(file, generation);
        lastGeneration.put(file, number);
        if (old != null) {
            retire(old);
        }
        return generation;
    }

    /** Retires the file's routes; they finish what they accepted. Returns the generation removed, if any. */
    Optional<Generation> remove(String file) {
        Generation old = installed.remove(file);
        if (old != null) {
            stopExclusiveConsumers(old);
            retire(old);
        }
        return Optional.ofNullable(old);
    }

    /**
     * Removes the retired routes whose accepted requests are all answered (seen idle on two calls in a row, so a
     * response being written is not cut), or that are past {@link #DRAIN_LIMIT}.
     */
    void drain(Instant now) {
        for (Iterator<Retiring> it = retiring.iterator(); it.hasNext(); ) {
            Retiring r = it.next();
            Route route = context.getRoute(r.routeId());
            if (route == null) {
                it.remove();
                retiringCount = retiring.size();
                continue;
            }
            int busy = StreamingHttpEngine.pendingRequests(route.getConsumer())
                    + context.getInflightRepository().size(r.routeId());
            boolean overdue = now.isAfter(r.deadline());
            if (busy > 0 && !overdue) {
                r.idleSince()[0] = null;
                continue;
            }
            if (busy == 0 && r.idleSince()[0] == null) {
                r.idleSince()[0] = now;
                continue;
            }
            if (busy > 0) {
                LOG.warn("Route {} of {} (generation {}) still has {} requests in flight after {}; removing it anyway",
                        r.publicId(), r.file(), r.generation(), busy, DRAIN_LIMIT);
            }
            removeRoute(r.routeId());
            it.remove();
            retiringCount = retiring.size();
            LOG.debug("Route {} of {} (generation {}) removed", r.publicId(), r.file(), r.generation());
            if (retiring.stream().noneMatch(o -> o.file().equals(r.file()) && o.generation() == r.generation())) {
                LOG.info("Generation {} of {} removed: the requests it had accepted are done", r.generation(),
                        r.file());
            }
        }
    }

    // --- ids

    private int nextFreeGeneration(String file, List<String> publicIds) {
        int number = lastGeneration.getOrDefault(file, 0) + 1;
        while (true) {
            boolean free = true;
            for (String id : publicIds) {
                String routeId = routeId(id, number);
                if (context.getRoute(routeId) != null || model.getRouteDefinition(routeId) != null) {
                    free = false;
                    break;
                }
            }
            if (free) {
                return number;
            }
            number++;
        }
    }

    static String routeId(String publicId, int generation) {
        return generation == 1 ? publicId : publicId + GENERATION_SEPARATOR + generation;
    }

    private boolean autoStartup(RouteDefinition definition) {
        if (definition.getAutoStartup() == null) {
            return true;
        }
        Boolean value = CamelContextHelper.parseBoolean(context, definition.getAutoStartup());
        return value == null || value;
    }

    // --- lifecycle

    /** Stops the old generation's started routes whose endpoint takes a single consumer (not platform-http). */
    private List<String> stopExclusiveConsumers(Generation old) {
        List<String> stopped = new ArrayList<>();
        for (InstalledRoute r : old.routes()) {
            if (r.http() != null || context.getRouteController().getRouteStatus(r.routeId()) != ServiceStatus.Started) {
                continue;
            }
            try {
                boolean graceful = context.getRouteController().stopRoute(r.routeId(),
                        EXCLUSIVE_STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS, false);
                if (!graceful) {
                    LOG.warn("Route {} of {} had exchanges in flight after {}; stopped anyway", r.publicId(),
                            old.file(), EXCLUSIVE_STOP_TIMEOUT);
                }
                stopped.add(r.routeId());
            } catch (Exception e) {
                LOG.warn("Stopping route {} of {} failed: {}", r.publicId(), old.file(), RouteFileParser.rootMessage(e));
            }
        }
        return stopped;
    }

    private void restart(List<String> routeIds) {
        for (String id : routeIds) {
            try {
                context.getRouteController().startRoute(id);
            } catch (Exception e) {
                LOG.error("Restarting route {} after a failed reload failed: {}", id, RouteFileParser.rootMessage(e));
            }
        }
    }

    /**
     * Suspends the generation's consumers (nothing new reaches it; stopping them would stop the routes' processors
     * under the requests in flight) and queues its routes for removal when idle.
     */
    private void retire(Generation old) {
        Instant deadline = Instant.now().plus(DRAIN_LIMIT);
        for (InstalledRoute r : old.routes()) {
            Route route = context.getRoute(r.routeId());
            if (route == null) {
                continue;
            }
            try {
                ServiceHelper.suspendService(route.getConsumer());
            } catch (RuntimeException e) {
                LOG.warn("Suspending the consumer of route {} of {} failed: {}", r.publicId(), old.file(),
                        RouteFileParser.rootMessage(e));
            }
            retiring.add(new Retiring(r.routeId(), r.publicId(), old.file(), old.number(), deadline, new Instant[1]));
        }
        retiringCount = retiring.size();
    }

    /** Removes routes that were created for a generation that is not going to run. */
    private void discard(List<RouteDefinition> definitions) {
        for (RouteDefinition definition : definitions) {
            String id = definition.getId();
            try {
                removeRoute(id);
                RouteDefinition left = model.getRouteDefinition(id);
                if (left != null) {
                    model.removeRouteDefinition(left);
                }
            } catch (Exception e) {
                LOG.warn("Removing route {} after a failed reload failed: {}", id, RouteFileParser.rootMessage(e));
            }
        }
    }

    private void removeRoute(String routeId) {
        try {
            if (context.getRoute(routeId) != null) {
                context.getRouteController().stopRoute(routeId, 1, TimeUnit.SECONDS, false);
                context.removeRoute(routeId);
            }
            RouteDefinition left = model.getRouteDefinition(routeId);
            if (left != null) {
                model.removeRouteDefinition(left);
            }
        } catch (Exception e) {
            LOG.warn("Removing route {} failed: {}", routeId, RouteFileParser.rootMessage(e));
        }
    }
}
