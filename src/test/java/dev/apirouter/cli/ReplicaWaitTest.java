package dev.apirouter.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

/** {@code --wait}'s pieces without etcd: durations, registry records, the confirmation bookkeeping. */
class ReplicaWaitTest {
    @Test
    void waitTimeoutDurations() throws Exception {
        assertEquals(Duration.ofMillis(500), WaitOptions.parse("500ms"));
        assertEquals(Duration.ofSeconds(30), WaitOptions.parse("30s"));
        assertEquals(Duration.ofMinutes(2), WaitOptions.parse("2m"));
        assertEquals(Duration.ofHours(1), WaitOptions.parse(" 1H "));
        for (String bad : List.of("30", "0s", "-1s", "1.5s", "s", "30 s", "PT30S", "")) {
            CliException e = assertThrows(CliException.class, () -> WaitOptions.parse(bad), bad);
            assertEquals(Cli.EXIT_USAGE, e.exitCode(), bad);
        }
        assertEquals("30s", WaitOptions.format(Duration.ofSeconds(30)));
        assertEquals("500ms", WaitOptions.format(Duration.ofMillis(500)));
        assertEquals("2m", WaitOptions.format(Duration.ofMinutes(2)));
    }

    @Test
    void registryRecordsAreReadLeniently() {
        ReplicaRecord r = ReplicaRecord.parse("replicas/gw-1", bytes("{\"id\":\"gw-1\",\"version\":\"1.2.0\","
                + "\"startedAt\":\"2026-01-01T00:00:00Z\",\"managementAddress\":\"10.0.0.1:9090\","
                + "\"appliedRevision\":1234,\"routesGeneration\":3,\"state\":\"serving\"}"));
        assertEquals("gw-1", r.id());
        assertEquals(1234, r.appliedRevision());
        assertEquals("3", r.routesGeneration());
        assertEquals("serving", r.state());
        assertEquals(Instant.parse("2026-01-01T00:00:00Z"), r.startedAt());
        assertTrue(r.hasApplied(1234) && !r.hasApplied(1235));

        ReplicaRecord noId = ReplicaRecord.parse("replicas/host-42", bytes("{\"appliedRevision\":7}"));
        assertEquals("host-42", noId.id(), "the key names a record without an id");
        ReplicaRecord broken = ReplicaRecord.parse("replicas/x", bytes("{\"appliedRevision\":\"soon\"}"));
        assertFalse(broken.hasApplied(0), "an unknown applied revision never confirms");
        assertEquals("?", broken.appliedText());
        assertEquals("not JSON", ReplicaRecord.parse("replicas/y", bytes("{")).problem());

        Instant now = Instant.parse("2026-01-02T03:04:05Z");
        assertEquals("1d3h", ReplicaRecord.age(Instant.parse("2026-01-01T00:00:00Z"), now));
        assertEquals("2h5m", ReplicaRecord.age(now.minusSeconds(2 * 3600 + 300), now));
        assertEquals("4m10s", ReplicaRecord.age(now.minusSeconds(250), now));
        assertEquals("12s", ReplicaRecord.age(now.minusSeconds(12), now));
        assertEquals("-", ReplicaRecord.age(null, now));
    }

    @Test
    void trackerConfirmsDropsAndNamesTheLaggards() {
        ReplicaWait.Tracker t = new ReplicaWait.Tracker(100);
        t.resync(Map.of("replicas/a", rec("a", 100), "replicas/b", rec("b", 90), "replicas/c", rec("c", 95)), 5);
        assertEquals(List.of("confirmed  a  rev 100  after 5 ms"), t.drainLines());
        assertFalse(t.done());
        t.put("replicas/b", rec("b", 101), 80);
        assertEquals(List.of("confirmed  b  rev 101  after 80 ms"), t.drainLines());
        t.put("replicas/b", rec("b", 99), 90); // a confirmed replica stays confirmed
        t.put("replicas/d", rec("d", 50), 95); // appeared during the wait: waited for
        assertEquals(List.of("c", "d"), t.lagging().stream().map(ReplicaRecord::id).sorted().toList());
        t.removed("replicas/c"); // lease expired
        assertTrue(t.drainLines().get(0).startsWith("left       c  (left the registry before confirming"));
        t.resync(Map.of("replicas/a", rec("a", 100), "replicas/b", rec("b", 101)), 120); // d is gone too
        assertTrue(t.done());
        assertEquals(2, t.confirmedCount());
        assertEquals(List.of("c", "d"), t.left().stream().map(ReplicaRecord::id).toList());
        assertFalse(t.noneSeen());
        assertTrue(new ReplicaWait.Tracker(1).noneSeen());
    }

    private static ReplicaRecord rec(String id, long applied) {
        return ReplicaRecord.parse("replicas/" + id, bytes("{\"id\":\"" + id + "\",\"appliedRevision\":" + applied
                + ",\"state\":\"serving\"}"));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
