package dev.apirouter.error;

import java.time.Duration;
import java.util.List;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RepeatingLogTest {
    @Test
    void aFloodBecomesOneLinePerWindowThatCountsTheOthers() {
        Logger logger = (Logger) LoggerFactory.getLogger("repeating-log-test");
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        RepeatingLog log = new RepeatingLog(logger, Duration.ofMillis(300));
        for (int i = 0; i < 1000; i++) {
            log.warn("backend down " + i);
        }
        assertEquals(List.of("backend down 0"), appender.list.stream().map(ILoggingEvent::getFormattedMessage).toList());
        await().atMost(Duration.ofSeconds(5)).until(() -> {
            log.warn("backend down again");
            return appender.list.size() == 2;
        });
        String second = appender.list.get(1).getFormattedMessage();
        assertTrue(second.startsWith("backend down again (and ") && second.contains("more like it"), second);
        assertTrue(Long.parseLong(second.replaceAll(".*\\(and (\\d+) more.*", "$1")) >= 999, second);
    }
}
