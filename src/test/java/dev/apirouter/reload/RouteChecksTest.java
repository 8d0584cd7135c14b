package dev.apirouter.reload;

import java.util.List;
import java.util.Map;
import java.util.Set;

import dev.apirouter.reload.RouteInstaller.Generation;
import dev.apirouter.reload.RouteInstaller.InstalledRoute;
import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.model.RouteDefinition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class RouteChecksTest {
    private final CamelContext context = new DefaultCamelContext();
    private final Map<String, Generation> installed = Map.of("other.yaml", new Generation("other.yaml", 1,
            List.of(new InstalledRoute("taken", "taken", 3, new HttpPath("/v1/taken", false, Set.of("GET"))))));
    private final RouteChecks checks = new RouteChecks(context, () -> installed, Set::of);

    @AfterEach
    void close() throws Exception {
        context.close();
    }

    private static RouteDefinition route(String id) {
        RouteDefinition definition = new RouteDefinition();
        definition.from("direct:x");
        definition.setId(id);
        return definition;
    }

    @Test
    void idsAreTheFilesOrNumberedAndUniqueAcrossFiles() throws Exception {
        assertEquals(List.of("a", "f-2"), checks.publicIds("f.yaml", List.of(route("a"), route(null)), Set.of()));

        RouteFileError twin = assertThrows(RouteFileError.class,
                () -> checks.publicIds("f.yaml", List.of(route("a"), route("a")), Set.of()));
        assertEquals(RouteFileError.Kind.INVALID, twin.kind());
        assertEquals("duplicate route id 'a' (also at line 0)", twin.reason());

        RouteFileError taken = assertThrows(RouteFileError.class,
                () -> checks.publicIds("f.yaml", List.of(route("taken")), Set.of()));
        assertEquals(RouteFileError.Kind.CONFLICT, taken.kind());
        assertEquals("duplicate route id 'taken': a route of other.yaml already has it", taken.reason());
        assertEquals(List.of("taken"), checks.publicIds("f.yaml", List.of(route("taken")), Set.of("other.yaml")),
                "a file leaving in the same change gives its ids up");
    }

    @Test
    void twoRoutesOfAFileMustNotServeTheSamePathAndMethod() {
        List<InstalledRoute> routes = List.of(
                new InstalledRoute("a", "a", 2, new HttpPath("/v1/x/{id}", false, Set.of("GET"))),
                new InstalledRoute("b", "b", 9, new HttpPath("/v1/x/{name}", false, Set.of())));
        RouteFileError clash = assertThrows(RouteFileError.class,
                () -> checks.checkPaths("f.yaml", null, routes, Set.of()));
        assertEquals("path clash: route 'b' and route 'a' (line 2) both serve any method /v1/x/{name}", clash.reason());
    }
}
