package dev.apirouter.reload;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

import dev.apirouter.reload.RouteDirectory.Content;
import dev.apirouter.reload.RouteDirectory.Observation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(10)
class RouteDirectoryTest {
    @TempDir
    Path dir;

    static String text(Observation o) {
        return new String(((Content) o).bytes());
    }

    @Test
    void visibleYamlFilesAreRead() throws Exception {
        Files.writeString(dir.resolve("a.yaml"), "a");
        Files.writeString(dir.resolve("b.yaml"), "b");
        Files.writeString(dir.resolve("notes.txt"), "x");
        Files.writeString(dir.resolve("c.yml"), "x");
        Files.writeString(dir.resolve(".a.yaml.swp"), "x");
        Files.writeString(dir.resolve(".yaml"), "x");
        Files.createDirectory(dir.resolve("sub.yaml"));
        Map<String, Observation> scan = RouteDirectory.scan(dir);
        assertEquals(List.of("a.yaml", "b.yaml"), List.copyOf(scan.keySet()));
        assertEquals("a", text(scan.get("a.yaml")));
        assertEquals(Content.of("a".getBytes()).digest(), ((Content) scan.get("a.yaml")).digest());
    }

    @Test
    void theConfigMapLayoutIsFollowedAndItsHiddenEntriesIgnored() throws Exception {
        Path v1 = Files.createDirectory(dir.resolve("..2026_01_01_v1"));
        Files.writeString(v1.resolve("openai-api.yaml"), "v1");
        Files.createSymbolicLink(dir.resolve("..data"), dir.relativize(v1));
        Files.createSymbolicLink(dir.resolve("openai-api.yaml"), Path.of("..data", "openai-api.yaml"));
        assertEquals(Map.of("openai-api.yaml", "v1"), texts(RouteDirectory.scan(dir)));

        Path v2 = Files.createDirectory(dir.resolve("..2026_01_01_v2"));
        Files.writeString(v2.resolve("openai-api.yaml"), "v2");
        Files.createSymbolicLink(dir.resolve("..data_tmp"), dir.relativize(v2));
        Files.move(dir.resolve("..data_tmp"), dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
        assertEquals(Map.of("openai-api.yaml", "v2"), texts(RouteDirectory.scan(dir)));
    }

    @Test
    void aLinkThatLeadsNowhereIsAFileGoingAway() throws Exception {
        Files.createSymbolicLink(dir.resolve("gone.yaml"), Path.of("..data", "gone.yaml"));
        assertTrue(RouteDirectory.scan(dir).isEmpty());
    }

    @Test
    void aLargeFileIsReadOnlyFarEnoughToKnowItIsTooLarge() throws Exception {
        Files.write(dir.resolve("big.yaml"), new byte[RouteDirectory.MAX_FILE_BYTES + 100]);
        Content big = (Content) RouteDirectory.scan(dir).get("big.yaml");
        assertTrue(big.tooLarge());
        assertEquals(RouteDirectory.MAX_FILE_BYTES + 1, big.bytes().length);
    }

    @Test
    void aMissingDirectoryIsAnError() {
        assertThrows(java.io.IOException.class, () -> RouteDirectory.scan(dir.resolve("nope")));
        assertFalse(RouteDirectory.isRouteFileName("..data"));
    }

    static Map<String, String> texts(Map<String, Observation> scan) {
        Map<String, String> out = new java.util.TreeMap<>();
        scan.forEach((k, v) -> out.put(k, text(v)));
        return out;
    }
}
