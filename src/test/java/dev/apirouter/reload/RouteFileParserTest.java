package dev.apirouter.reload;

import java.nio.charset.StandardCharsets;
import java.util.List;

import org.apache.camel.CamelContext;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.model.RouteDefinition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RouteFileParserTest {
    private final CamelContext context = new DefaultCamelContext();

    @AfterEach
    void close() throws Exception {
        context.close();
    }

    private List<RouteDefinition> parse(String yaml) throws RouteFileError {
        return new RouteFileParser(context).parse("f.yaml", "file:f.yaml", yaml.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void readsTheRoutesOfAFile() throws Exception {
        List<RouteDefinition> routes = parse("""
                - route:
                    id: a
                    from:
                      uri: direct:a
                      steps:
                        - setBody:
                            constant: hi
                - from:
                    uri: direct:b
                    steps:
                      - log: b
                """);
        assertEquals(2, routes.size());
        assertEquals("a", routes.get(0).getId());
    }

    @Test
    void aSyntaxErrorHasItsLineAndOnlyRoutesAreAllowed() {
        RouteFileError syntax = assertThrows(RouteFileError.class, () -> parse("- route:\n    from: [\n"));
        assertTrue(syntax.getMessage().contains("f.yaml"), syntax.getMessage());
        assertTrue(syntax.line() > 0, syntax.getMessage());
        RouteFileError rest = assertThrows(RouteFileError.class, () -> parse("""
                - rest:
                    path: /x
                """));
        assertTrue(rest.getMessage().contains("route files hold routes only"), rest.getMessage());
    }

    @Test
    void rootMessageIsTheDeepestCauseOnOneLine() {
        Exception e = new IllegalStateException("outer", new IllegalArgumentException("inner\nsecond line"));
        assertTrue(RouteFileParser.rootMessage(e).startsWith("inner"), RouteFileParser.rootMessage(e));
    }
}
