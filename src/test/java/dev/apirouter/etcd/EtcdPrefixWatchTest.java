package dev.apirouter.etcd;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import dev.apirouter.config.Settings;
import dev.apirouter.testing.EtcdProcess;
import io.etcd.jetcd.Client;
import io.etcd.jetcd.watch.WatchEvent;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class EtcdPrefixWatchTest {
    /** Every report as a line, in order, recorded on the worker. */
    private static final class Reports implements EtcdPrefixWatch.Listener {
        final LinkedBlockingQueue<String> lines = new LinkedBlockingQueue<>();

        @Override
        public void confirmed() {
            lines.add("confirmed");
        }

        @Override
        public void changed(List<WatchEvent> events) {
            events.forEach(e -> lines.add(e.getEventType() + " "
                    + e.getKeyValue().getKey().toString(StandardCharsets.UTF_8)));
        }

        @Override
        public void behind(long etcdRevision) {
            lines.add("behind");
        }

        @Override
        public void compacted(Throwable error) {
            lines.add("compacted");
        }

        @Override
        public void failed(String cause) {
            lines.add("failed");
        }

        String next() throws InterruptedException {
            String line = lines.poll(20, TimeUnit.SECONDS);
            return line == null ? "nothing within 20 s" : line;
        }
    }

    @Test
    void reportsChangesFromTheRevisionGivenThenCompactionAndFailure() throws Exception {
        ExecutorService worker = Executors.newSingleThreadExecutor();
        try (EtcdProcess etcd = EtcdProcess.start()) {
            long first = etcd.put("/p/a", "1");
            etcd.put("/p/b", "2");
            EtcdClients clients = EtcdClients.of(EtcdClientsTest.settings(etcd.endpoint(), Settings.EtcdSecurity.NONE));
            Reports reports = new Reports();
            EtcdPrefixWatch watch = new EtcdPrefixWatch(clients, "/p/", worker, Duration.ofSeconds(10), reports);
            try (Client client = clients.newClient()) {
                worker.execute(() -> watch.open(client, first + 1));
                assertEquals("confirmed", reports.next());
                assertEquals("PUT /p/b", reports.next(), "from the revision given, not before");
                etcd.put("/other", "x");
                etcd.delete("/p/a");
                assertEquals("DELETE /p/a", reports.next(), "only the prefix");

                long now = etcd.put("/p/c", "3");
                assertEquals("PUT /p/c", reports.next());
                etcd.compact(now);
                worker.execute(() -> watch.open(client, first + 1));
                String afterCompaction = reports.next();
                if (afterCompaction.equals("confirmed")) { // etcd may confirm the watch before cancelling it
                    afterCompaction = reports.next();
                }
                assertEquals("compacted", afterCompaction);

                worker.execute(watch::discard);
                etcd.put("/p/d", "4");
                etcd.kill();
                assertTrue(reports.lines.poll(1, TimeUnit.SECONDS) == null, "a discarded watch reports nothing");
                worker.execute(() -> watch.open(client, now + 1));
                assertEquals("failed", reports.next(), "etcd gone: not confirmed in time or failed");
            }
        } finally {
            worker.shutdownNow();
        }
    }
}
