package dev.apirouter.policy;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class ModelDocumentTest {
    @Test
    void aPolicyWrittenAsItsDocumentConvertsBackToItself() throws Exception {
        ModelPolicy policy = new ModelPolicy("m", Optional.of("meta/Llama"), List.of(new Backend("http://a:1", 2),
                new Backend("http://b:1", 0, Optional.of(new BackendAuth(BackendAuth.Source.FILE, "/run/key")))),
                new Timeouts(Duration.ofMillis(5), Duration.ofMillis(6), Duration.ofMillis(7)));
        ModelDocument doc = ModelDocument.of(policy);
        assertEquals(new ModelDocument.AuthEntry(null, "/run/key"), doc.backends().get(1).auth());
        assertEquals(policy, doc.toPolicy("m"));
    }

    @Test
    void absentOptionalFieldsTakeTheirDefaults() throws Exception {
        ModelPolicy p = new ModelDocument(null, List.of(new ModelDocument.BackendEntry("http://a:1/", null, null)),
                new ModelDocument.TimeoutsEntry(null, 5L, null), null, null, null, null).toPolicy("m");
        assertEquals(new Backend("http://a:1", 1), p.backends().get(0));
        assertEquals(new Timeouts(Timeouts.DEFAULT_CONNECT, Duration.ofMillis(5), Timeouts.DEFAULT_IDLE), p.timeouts());
    }
}
