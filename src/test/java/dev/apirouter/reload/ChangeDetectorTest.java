package dev.apirouter.reload;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.apirouter.reload.ChangeDetector.Change;
import dev.apirouter.reload.ChangeDetector.Kind;
import dev.apirouter.reload.RouteDirectory.Content;
import dev.apirouter.reload.RouteDirectory.Observation;
import dev.apirouter.reload.RouteDirectory.Unreadable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;

@Timeout(10)
class ChangeDetectorTest {
    final ChangeDetector detector = new ChangeDetector();
    final Map<String, String> acted = new HashMap<>();

    static Content content(String text) {
        return Content.of(text.getBytes(StandardCharsets.UTF_8));
    }

    static Map<String, Observation> scan(Object... nameAndObservation) {
        Map<String, Observation> scan = new HashMap<>();
        for (int i = 0; i < nameAndObservation.length; i += 2) {
            Object o = nameAndObservation[i + 1];
            scan.put((String) nameAndObservation[i], o instanceof String s ? content(s) : (Observation) o);
        }
        return scan;
    }

    List<String> detect(Map<String, Observation> scan) {
        List<Change> changes = detector.detect(scan, acted);
        for (Change c : changes) {
            if (c.kind() == Kind.REMOVE) {
                acted.remove(c.file());
            } else {
                acted.put(c.file(), c.content().digest());
            }
        }
        return changes.stream().map(c -> c.kind() + " " + c.file()).toList();
    }

    @Test
    void aNewFileIsReportedOnceItReadsTheSameTwice() {
        assertEquals(List.of(), detect(scan("a.yaml", "v1")), "first sight: maybe half-written");
        assertEquals(List.of("UPSERT a.yaml"), detect(scan("a.yaml", "v1")));
        assertEquals(List.of(), detect(scan("a.yaml", "v1")), "acted on already");
    }

    @Test
    void aFileStillBeingWrittenWaitsUntilItSettles() {
        detector.seed(scan("a.yaml", "v1"));
        acted.put("a.yaml", content("v1").digest());
        assertEquals(List.of(), detect(scan("a.yaml", "- rou")));
        assertEquals(List.of(), detect(scan("a.yaml", "- route: {}")));
        assertEquals(List.of("UPSERT a.yaml"), detect(scan("a.yaml", "- route: {}")));
    }

    @Test
    void aChangeBackToWhatWasLoadedIsNoChange() {
        detector.seed(scan("a.yaml", "v1"));
        acted.put("a.yaml", content("v1").digest());
        assertEquals(List.of(), detect(scan("a.yaml", "v2")));
        assertEquals(List.of(), detect(scan("a.yaml", "v1")));
        assertEquals(List.of(), detect(scan("a.yaml", "v1")));
    }

    @Test
    void aRemovedFileIsReportedOnceItStaysAway() {
        detector.seed(scan("a.yaml", "v1", "b.yaml", "b"));
        acted.put("a.yaml", content("v1").digest());
        acted.put("b.yaml", content("b").digest());
        assertEquals(List.of(), detect(scan("b.yaml", "b")));
        assertEquals(List.of("REMOVE a.yaml"), detect(scan("b.yaml", "b")));
        assertEquals(List.of(), detect(scan("b.yaml", "b")));
    }

    @Test
    void aFileGoneForOneScanOnlyIsNoChange() {
        detector.seed(scan("a.yaml", "v1"));
        acted.put("a.yaml", content("v1").digest());
        assertEquals(List.of(), detect(scan()));
        assertEquals(List.of(), detect(scan("a.yaml", "v1")));
        assertEquals(List.of(), detect(scan("a.yaml", "v1")));
    }

    @Test
    void anUnreadableFileChangesNothing() {
        detector.seed(scan("a.yaml", "v1"));
        acted.put("a.yaml", content("v1").digest());
        assertEquals(List.of(), detect(scan("a.yaml", new Unreadable("gone while reading"))));
        assertEquals(List.of(), detect(scan("a.yaml", new Unreadable("gone while reading"))));
        assertEquals(List.of(), detect(scan("a.yaml", "v2")));
        assertEquals(List.of("UPSERT a.yaml"), detect(scan("a.yaml", "v2")));
    }

    @Test
    void changesComeFirstThenRemovalsByName() {
        detector.seed(scan("a.yaml", "a", "c.yaml", "c"));
        acted.put("a.yaml", content("a").digest());
        acted.put("c.yaml", content("c").digest());
        Map<String, Observation> next = scan("b.yaml", "b", "c.yaml", "c2", "d.yaml", "d");
        assertEquals(List.of(), detect(next));
        assertEquals(List.of("UPSERT b.yaml", "UPSERT c.yaml", "UPSERT d.yaml", "REMOVE a.yaml"), detect(next));
    }

    @Test
    void aRejectedFileIsNotRetriedUntilItChanges() {
        detector.seed(scan("a.yaml", "bad"));
        acted.put("a.yaml", content("bad").digest()); // rejected, but acted on
        assertEquals(List.of(), detect(scan("a.yaml", "bad")));
        assertEquals(List.of(), detect(scan("a.yaml", "bad")));
        assertEquals(List.of(), detect(scan("a.yaml", "good")));
        assertEquals(List.of("UPSERT a.yaml"), detect(scan("a.yaml", "good")));
    }
}
