package dev.apirouter.reload;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import dev.apirouter.reload.RouteDirectory.Content;
import dev.apirouter.reload.RouteDirectory.Observation;

/**
 * Turns successive scans of the routes directory into file changes. A change is reported once the directory has
 * shown the same thing twice in a row (one poll interval), so a file caught half-written, or a link caught between
 * two states, is not acted on; an entry that could not be read changes nothing. Additions and changes come first,
 * then removals, each in file name order (a renamed file's routes are up under the new name before the old name's
 * retire: the reloader lets the added file take the ids and paths of the files removed in the same change).
 */
final class ChangeDetector {
    enum Kind { UPSERT, REMOVE }

    /** One file to (re)load with {@code content}, or to remove. */
    record Change(String file, Kind kind, Content content) {
    }

    private Map<String, Observation> previous = Map.of();

    /** Records a scan as seen without acting on it (the initial load acts on it directly). */
    void seed(Map<String, Observation> scan) {
        previous = Map.copyOf(scan);
    }

    /**
     * The changes to apply, given this scan and the digest of what was last acted on for each file (loaded or
     * rejected; a file absent from {@code acted} has no routes).
     */
    List<Change> detect(Map<String, Observation> scan, Map<String, String> acted) {
        List<Change> removals = new ArrayList<>();
        List<Change> upserts = new ArrayList<>();
        TreeSet<String> names = new TreeSet<>(scan.keySet());
        names.addAll(acted.keySet());
        for (String name : names) {
            Observation now = scan.get(name);
            Observation before = previous.get(name);
            if (now == null) {
                if (before == null && acted.containsKey(name)) {
                    removals.add(new Change(name, Kind.REMOVE, null));
                }
            } else if (now instanceof Content content && before instanceof Content seen
                    && seen.digest().equals(content.digest()) && !content.digest().equals(acted.get(name))) {
                upserts.add(new Change(name, Kind.UPSERT, content));
            }
        }
        previous = Map.copyOf(scan);
        upserts.addAll(removals);
        return upserts;
    }
}
