package dev.apirouter.policy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;

import com.google.protobuf.ByteString;
import io.etcd.jetcd.ByteSequence;
import io.etcd.jetcd.KeyValue;
import io.etcd.jetcd.watch.WatchEvent;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class EtcdDocumentsTest {
    private static final String P = "/api-router/";
    private static final String MODEL = "{\"backends\":[{\"url\":\"http://h:1\"}]}";
    private static final String HASH = "b".repeat(64);

    private static KeyValue kv(String key, String value, long revision) {
        return new KeyValue(io.etcd.jetcd.api.KeyValue.newBuilder()
                .setKey(ByteString.copyFromUtf8(key)).setValue(ByteString.copyFromUtf8(value))
                .setModRevision(revision).build(), ByteSequence.EMPTY);
    }

    @Test
    void aSnapshotReplacesTheDocumentsAndIgnoresKeysOutsideTheLayout() {
        PolicyView before = PolicyView.empty(PolicySource.ETCD).toBuilder().putModel("gone", MODEL.getBytes(StandardCharsets.UTF_8))
                .build(PolicySource.ETCD, 1, Instant.EPOCH);
        PolicyView after = new EtcdDocuments(P).snapshot(before, List.of(kv(P + "models/m", MODEL, 2),
                kv(P + "keys/" + HASH, "{\"models\":[\"*\"]}", 3), kv(P + "other/thing", "x", 4)))
                .build(PolicySource.ETCD, 4, Instant.EPOCH);
        assertEquals(List.of("m"), List.copyOf(after.models().keySet()));
        assertTrue(after.key(HASH).isPresent());
    }

    @Test
    void watchEventsApplyInOrderAndGiveTheHighestRevision() {
        EtcdDocuments documents = new EtcdDocuments(P);
        PolicyView.Builder builder = PolicyView.empty(PolicySource.ETCD).toBuilder();
        long revision = documents.apply(builder, List.of(
                new WatchEvent(kv(P + "models/m", MODEL, 5), null, WatchEvent.EventType.PUT),
                new WatchEvent(kv(P + "models/n", MODEL, 6), null, WatchEvent.EventType.PUT),
                new WatchEvent(kv(P + "models/m", "", 7), null, WatchEvent.EventType.DELETE)), 4);
        assertEquals(7, revision);
        assertEquals(List.of("n"), List.copyOf(builder.build(PolicySource.ETCD, 7, Instant.EPOCH).models().keySet()));
        assertEquals(4, documents.apply(builder, List.of(), 4));
    }

    @Test
    void aKeyOutsideTheLayoutIsShownByItsFirstSegmentOnly() {
        assertEquals("secrets/…", EtcdDocuments.shortKey("secrets/sk-123"));
        assertEquals("sk-0123456789abc…", EtcdDocuments.shortKey("sk-0123456789abcdefgh"));
        assertEquals("readme", EtcdDocuments.shortKey("readme"));
    }
}
