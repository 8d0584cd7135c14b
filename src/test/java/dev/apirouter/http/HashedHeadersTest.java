package dev.apirouter.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

import org.junit.jupiter.api.Test;

/** {@link HashedHeaders} behaves as Camel's case-insensitive map (a TreeMap with a case-insensitive order). */
class HashedHeadersTest {
    @Test
    void namesAreCaseInsensitiveTheFirstSpellingStaysAndOrderIsInsertion() {
        Map<String, Object> h = HashedHeaders.FACTORY.newMap();
        h.put("Content-Type", "application/json");
        h.put("X-Request-Id", "a");
        h.put("content-type", "text/plain");
        assertEquals("text/plain", h.get("CONTENT-TYPE"));
        assertTrue(h.containsKey("x-request-id"));
        assertEquals(List.of("Content-Type", "X-Request-Id"), new ArrayList<>(h.keySet()));
        assertEquals("a", h.remove("X-REQUEST-ID"));
        assertFalse(h.containsKey("X-Request-Id"));
        assertNull(h.get(42));
        assertNull(h.remove(null));
        assertTrue(HashedHeaders.FACTORY.isCaseInsensitive());
        assertTrue(HashedHeaders.FACTORY.isInstanceOf(h));
        assertFalse(HashedHeaders.FACTORY.isInstanceOf(new TreeMap<>()));
        Map<String, Object> copy = HashedHeaders.FACTORY.newMap(h);
        assertEquals(h, copy);
        copy.put("Extra", 1);
        assertFalse(h.containsKey("extra"), "a copy, not a view");
    }

    @Test
    void nonAsciiNamesHashAsEqualsIgnoreCaseCompares() {
        Map<String, Object> h = HashedHeaders.FACTORY.newMap();
        h.put("\u212Aelvin", 1); // KELVIN SIGN: equalsIgnoreCase-equal to 'K' and 'k'
        assertEquals(1, h.get("kelvin"));
        h.put("\u0131d", 2); // dotless i: upper-cases to 'I'
        assertEquals(2, h.get("ID"));
    }

    @Test
    void randomOperationsAgreeWithCamelsTreeMap() {
        Random random = new Random(7);
        String[] names = {"Authorization", "authorization", "AUTHORIZATION", "x-api-key", "X-Api-Key", "CamelHttpPath",
            "camelhttppath", "traceparent", "Content-Type", "content-type", "a", "A", "b"};
        for (int round = 0; round < 200; round++) {
            Map<String, Object> expected = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
            Map<String, Object> actual = HashedHeaders.FACTORY.newMap();
            for (int op = 0; op < 60; op++) {
                String name = names[random.nextInt(names.length)];
                switch (random.nextInt(6)) {
                    case 0, 1 -> assertEquals(expected.put(name, op), actual.put(name, op));
                    case 2 -> assertEquals(expected.remove(name), actual.remove(name));
                    case 3 -> assertEquals(expected.get(name), actual.get(name));
                    case 4 -> { // remove through the iterator, as Camel's removeHeaders may
                        Iterator<Map.Entry<String, Object>> it = actual.entrySet().iterator();
                        while (it.hasNext()) {
                            Map.Entry<String, Object> e = it.next();
                            if (e.getKey().equalsIgnoreCase(name)) {
                                it.remove();
                                expected.remove(name);
                            }
                        }
                    }
                    default -> actual.entrySet().forEach(e -> {
                        e.setValue("v" + e.getValue());
                        expected.put(e.getKey(), e.getValue());
                    });
                }
                assertEquals(expected.size(), actual.size());
                assertEquals(expected, actual);
                assertEquals(new TreeMap<>(expected).keySet(), new TreeMap<>(actual).keySet(), "same spellings");
            }
        }
    }
}
