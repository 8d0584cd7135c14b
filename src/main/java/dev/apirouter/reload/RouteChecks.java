package dev.apirouter.reload;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

import dev.apirouter.reload.RouteFileError.Kind;
import dev.apirouter.reload.RouteInstaller.Generation;
import dev.apirouter.reload.RouteInstaller.InstalledRoute;
import org.apache.camel.CamelContext;
import org.apache.camel.Route;
import org.apache.camel.component.platform.http.PlatformHttpEndpoint;
import org.apache.camel.model.RouteDefinition;

/**
 * The checks a new generation of a route file passes before it serves: route ids (unique in the file, not taken by
 * another file or a built-in route) and HTTP paths (no two routes serve the same path and method).
 */
final class RouteChecks {
    private final CamelContext context;
    private final Supplier<Map<String, Generation>> installed;
    private final Supplier<Set<String>> retiring;

    /**
     * @param installed the generation running per file
     * @param retiring  the route ids of the generations being retired
     */
    RouteChecks(CamelContext context, Supplier<Map<String, Generation>> installed, Supplier<Set<String>> retiring) {
        this.context = context;
        this.installed = installed;
        this.retiring = retiring;
    }

    /**
     * The public id of each definition (its YAML id, else {@code <file stem>-<n>}): unique in the file, not used by
     * another file (except those in {@code leaving}) or a built-in route.
     */
    List<String> publicIds(String file, List<RouteDefinition> definitions, Set<String> leaving)
            throws RouteFileError {
        String stem = file.substring(0, file.length() - RouteDirectory.EXTENSION.length());
        Map<String, RouteDefinition> seen = new HashMap<>();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < definitions.size(); i++) {
            RouteDefinition definition = definitions.get(i);
            String id = definition.getId() != null ? definition.getId() : stem + "-" + (i + 1);
            RouteDefinition twin = seen.put(id, definition);
            if (twin != null) {
                throw new RouteFileError(file, RouteFileParser.line(definition), 0, "duplicate route id '" + id
                        + "' (also at line " + RouteFileParser.line(twin) + ")", Kind.INVALID);
            }
            for (Generation other : installed.get().values()) {
                if (!other.file().equals(file) && !leaving.contains(other.file()) && other.publicIds().contains(id)) {
                    throw new RouteFileError(file, RouteFileParser.line(definition), 0, "duplicate route id '" + id
                            + "': a route of " + other.file() + " already has it", Kind.CONFLICT);
                }
            }
            if (isBuiltIn(id)) {
                throw new RouteFileError(file, RouteFileParser.line(definition), 0, "duplicate route id '" + id
                        + "': a built-in route already has it", Kind.CONFLICT);
            }
            ids.add(id);
        }
        return ids;
    }

    /** A route that no route file made (the Java DSL steps), with this id. */
    private boolean isBuiltIn(String id) {
        Route route = context.getRoute(id);
        return route != null && !isManaged(route.getRouteId());
    }

    private boolean isManaged(String routeId) {
        for (Generation g : installed.get().values()) {
            for (InstalledRoute r : g.routes()) {
                if (r.routeId().equals(routeId)) {
                    return true;
                }
            }
        }
        return retiring.get().contains(routeId);
    }

    /**
     * No two routes of the new generation, and no route outside it (its file's old generation, retiring routes and the
     * files in {@code leaving} aside), serve the same HTTP path and method.
     */
    void checkPaths(String file, Generation old, List<InstalledRoute> routes, Set<String> leaving)
            throws RouteFileError {
        Set<String> notCounted = new LinkedHashSet<>();
        routes.forEach(r -> notCounted.add(r.routeId()));
        if (old != null) {
            old.routes().forEach(r -> notCounted.add(r.routeId()));
        }
        notCounted.addAll(retiring.get());
        for (String gone : leaving) {
            Optional.ofNullable(installed.get().get(gone)).ifPresent(g -> g.routes().forEach(r -> notCounted.add(r.routeId())));
        }
        for (int i = 0; i < routes.size(); i++) {
            InstalledRoute route = routes.get(i);
            if (route.http() == null) {
                continue;
            }
            for (int j = 0; j < i; j++) {
                InstalledRoute before = routes.get(j);
                if (before.http() != null && before.http().clashesWith(route.http())) {
                    throw new RouteFileError(file, route.line(), 0, "path clash: route '" + route.publicId()
                            + "' and route '" + before.publicId() + "' (line " + before.line() + ") both serve "
                            + route.http().describe(), Kind.INVALID);
                }
            }
            for (Route other : context.getRoutes()) {
                if (notCounted.contains(other.getRouteId())
                        || !(other.getEndpoint() instanceof PlatformHttpEndpoint endpoint)
                        || !HttpPath.of(endpoint).clashesWith(route.http())) {
                    continue;
                }
                throw new RouteFileError(file, route.line(), 0, "path clash: route '" + route.publicId() + "' serves "
                        + route.http().describe() + ", already served by " + owner(other.getRouteId()), Kind.CONFLICT);
            }
        }
    }

    private String owner(String routeId) {
        for (Generation g : installed.get().values()) {
            for (InstalledRoute r : g.routes()) {
                if (r.routeId().equals(routeId)) {
                    return "route '" + r.publicId() + "' of " + g.file();
                }
            }
        }
        return "built-in route '" + routeId + "'";
    }
}
