package dev.apirouter.policy;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class KeyDocumentTest {
    @Test
    void aRecordWrittenAsItsDocumentConvertsBackToItself() throws Exception {
        KeyRecord key = new KeyRecord("team-a", Set.of("a", "b"), true, Optional.of(Instant.parse("2027-01-01T00:00:00Z")));
        assertEquals(key, KeyDocument.of(key).toRecord());
    }

    @Test
    void absentOptionalFieldsTakeTheirDefaults() throws Exception {
        assertEquals(new KeyRecord("", Set.of("*"), false, Optional.empty()),
                new KeyDocument(null, List.of("*"), null, null, null).toRecord());
    }
}
