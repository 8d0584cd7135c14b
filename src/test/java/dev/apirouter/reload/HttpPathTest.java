package dev.apirouter.reload;

import java.util.Set;
import java.util.TreeSet;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HttpPathTest {
    @Test
    void pathsClashOnTheSameShapeAndAShareOfMethods() {
        HttpPath getItem = new HttpPath("/v1/items/{id}", false, Set.of("GET"));
        assertTrue(getItem.clashesWith(new HttpPath("/v1/items/{name}", false, Set.of("GET", "POST"))),
                "parameter names do not matter");
        assertTrue(getItem.clashesWith(new HttpPath("/v1/items/{id}", false, Set.of())), "no methods: any method");
        assertFalse(getItem.clashesWith(new HttpPath("/v1/items/{id}", false, Set.of("POST"))));
        assertFalse(getItem.clashesWith(new HttpPath("/v1/items/{id}", true, Set.of("GET"))), "a prefix is another path");
        assertFalse(getItem.clashesWith(new HttpPath("/v1/items", false, Set.of("GET"))));
    }

    @Test
    void describesMethodsAndPath() {
        // HttpPath.of keeps the methods sorted (a TreeSet)
        assertEquals("GET,POST /v1/x*", new HttpPath("/v1/x", true, new TreeSet<>(Set.of("POST", "GET"))).describe());
        assertEquals("any method /v1/x", new HttpPath("/v1/x", false, Set.of()).describe());
    }
}
