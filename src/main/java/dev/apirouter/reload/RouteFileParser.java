package dev.apirouter.reload;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import dev.apirouter.reload.RouteFileError.Kind;
import org.apache.camel.CamelContext;
import org.apache.camel.FailedToCreateRouteException;
import org.apache.camel.RoutesBuilder;
import org.apache.camel.builder.RouteBuilder;
import org.apache.camel.builder.RouteConfigurationBuilder;
import org.apache.camel.model.ProcessorDefinition;
import org.apache.camel.model.RouteDefinition;
import org.apache.camel.model.RoutesDefinition;
import org.apache.camel.spi.RoutesBuilderLoader;
import org.apache.camel.support.PluginHelper;
import org.apache.camel.support.ResourceHelper;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;

/**
 * Reads a route file into route definitions (syntax errors and unknown DSL keys reported with line and column; only
 * routes allowed), and places the errors of creating them on the route and step that failed.
 */
final class RouteFileParser {
    private static final Pattern FAILED_AT = Pattern.compile("at: >>> (.*?) <<< in route");
    private static final Pattern LINE_COLUMN = Pattern.compile("line (\\d+), column (\\d+)");

    private final CamelContext context;

    RouteFileParser(CamelContext context) {
        this.context = context;
    }

    /** The file's route definitions, each with a 'from'; nothing is added to the context. */
    List<RouteDefinition> parse(String file, String location, byte[] content) throws RouteFileError {
        RoutesBuilder builder;
        RoutesDefinition routes;
        try {
            RoutesBuilderLoader loader = PluginHelper.getRoutesLoader(context).getRoutesLoader("yaml");
            builder = loader.loadRoutesBuilder(ResourceHelper.fromBytes(location, content));
            if (!(builder instanceof RouteBuilder routeBuilder)) {
                throw new RouteFileError(file, 0, 0, "not a YAML route file", Kind.INVALID);
            }
            routes = routeBuilder.configureRoutes(context);
            boolean configurations = false;
            if (builder instanceof RouteConfigurationBuilder configurationBuilder) {
                configurationBuilder.configuration();
                configurations = !configurationBuilder.getRouteConfigurationCollection().getRouteConfigurations()
                        .isEmpty();
            }
            if (configurations || !routeBuilder.getRestCollection().getRests().isEmpty()
                    || !routeBuilder.getRouteTemplateCollection().getRouteTemplates().isEmpty()
                    || !routeBuilder.getTemplatedRouteCollection().getTemplatedRoutes().isEmpty()) {
                throw new RouteFileError(file, 0, 0, "route files hold routes only ('- route:' or '- from:'); rest, "
                        + "routeConfiguration, routeTemplate and templatedRoute are not supported here", Kind.INVALID);
            }
        } catch (RouteFileError e) {
            throw e;
        } catch (Exception e) {
            throw parseError(file, e);
        }
        List<RouteDefinition> definitions = new ArrayList<>(routes.getRoutes());
        for (RouteDefinition definition : definitions) {
            if (definition.getInput() == null || definition.getInput().getEndpointUri() == null
                    && definition.getInput().getUri() == null) {
                throw new RouteFileError(file, line(definition), 0, "a route has no 'from'", Kind.INVALID);
            }
        }
        return definitions;
    }

    static RouteFileError parseError(String file, Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof MarkedYamlEngineException marked) {
                Optional<Mark> mark = marked.getProblemMark().or(marked::getContextMark);
                String problem = marked.getProblem() != null ? marked.getProblem() : firstLine(marked.getMessage());
                String context = marked.getContext();
                if (context != null && marked.getContextMark().isPresent() && marked.getProblemMark().isPresent()) {
                    Mark start = marked.getContextMark().get();
                    context += " (from line " + (start.getLine() + 1) + ", column " + (start.getColumn() + 1) + ")";
                }
                String reason = context != null ? context + ": " + problem : problem;
                return new RouteFileError(file, mark.map(m -> m.getLine() + 1).orElse(0),
                        mark.map(m -> m.getColumn() + 1).orElse(0), reason, Kind.INVALID);
            }
        }
        String message = rootMessage(e);
        Matcher m = LINE_COLUMN.matcher(String.valueOf(e.getMessage()));
        if (m.find()) {
            return new RouteFileError(file, Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2)),
                    firstLine(e.getMessage()), Kind.INVALID);
        }
        return new RouteFileError(file, 0, 0, message, Kind.INVALID);
    }

    /** Where and why creating the routes failed: the route, and the step's line when Camel names it. */
    static RouteFileError creationError(String file, List<RouteDefinition> definitions, List<String> publicIds,
                                         Exception e) {
        String routeId = e instanceof FailedToCreateRouteException failed ? failed.getRouteId() : null;
        int index = 0;
        for (int i = 0; i < definitions.size(); i++) {
            if (definitions.get(i).getId().equals(routeId)) {
                index = i;
            }
        }
        RouteDefinition definition = definitions.isEmpty() ? null : definitions.get(index);
        int line = definition == null ? 0 : line(definition);
        String at = null;
        Matcher m = FAILED_AT.matcher(String.valueOf(e.getMessage()));
        if (m.find()) {
            at = m.group(1);
            ProcessorDefinition<?> node = definition == null ? null : find(definition, at);
            if (node != null && node.getLineNumber() > 0) {
                line = node.getLineNumber();
            }
        }
        String route = publicIds.isEmpty() ? "" : "route '" + publicIds.get(index) + "'";
        return new RouteFileError(file, line, 0, route + (at != null ? " at " + at : "") + ": " + rootMessage(e),
                Kind.INVALID);
    }

    private static ProcessorDefinition<?> find(ProcessorDefinition<?> node, String text) {
        if (text.equals(node.toString()) || text.equals(node.getLabel())) {
            return node;
        }
        for (ProcessorDefinition<?> child : node.getOutputs()) {
            ProcessorDefinition<?> found = find(child, text);
            if (found != null) {
                return found;
            }
        }
        return null;
    }

    static int line(RouteDefinition definition) {
        return Math.max(definition.getLineNumber(), 0);
    }

    static String rootMessage(Throwable e) {
        Throwable root = e;
        while (root.getCause() != null && root.getCause() != root) {
            root = root.getCause();
        }
        String message = root.getMessage() != null ? root.getMessage() : root.getClass().getSimpleName();
        return RouteFileError.oneLine(message);
    }

    private static String firstLine(String text) {
        if (text == null) {
            return "unknown error";
        }
        int nl = text.indexOf('\n');
        return (nl < 0 ? text : text.substring(0, nl)).trim();
    }
}
