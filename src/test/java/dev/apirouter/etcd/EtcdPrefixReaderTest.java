package dev.apirouter.etcd;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

import dev.apirouter.config.Settings;
import dev.apirouter.testing.EtcdProcess;
import io.etcd.jetcd.Client;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EtcdPrefixReaderTest {
    @Test
    void readsEveryKeyUnderThePrefixInPagesAtOneRevision() throws Exception {
        try (EtcdProcess etcd = EtcdProcess.start()) {
            for (int i = 0; i < 7; i++) {
                etcd.put("/p/k" + i, "v" + i);
            }
            etcd.put("/pother", "outside");
            long revision = etcd.put("/q/k", "outside");
            EtcdClients clients = EtcdClients.of(EtcdClientsTest.settings(etcd.endpoint(), Settings.EtcdSecurity.NONE));
            try (Client client = clients.newClient()) {
                EtcdPrefixReader.Snapshot snapshot = new EtcdPrefixReader(clients, 3).read(client, "/p/");
                assertEquals(revision, snapshot.revision());
                assertEquals(7, snapshot.entries().size(), "three pages of at most 3");
                for (int i = 0; i < 7; i++) {
                    assertEquals("/p/k" + i, snapshot.entries().get(i).getKey().toString(StandardCharsets.UTF_8));
                    assertEquals("v" + i, snapshot.entries().get(i).getValue().toString(StandardCharsets.UTF_8));
                }
                assertEquals(0, new EtcdPrefixReader(clients).read(client, "/empty/").entries().size());
            }
        }
    }
}
