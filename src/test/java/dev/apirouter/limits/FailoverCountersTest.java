package dev.apirouter.limits;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.apirouter.limits.Counters.Bucket;
import dev.apirouter.limits.Counters.Outcome;
import dev.apirouter.limits.Counters.Take;
import dev.apirouter.testing.RedisProcess;
import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Redis killed and restarted under {@link FailoverCounters}: in-process answers (OPEN) or refusals (CLOSED). */
class FailoverCountersTest {
    private static final long NOW = CountersScenarios.T0;
    private final Logger logger = (Logger) LoggerFactory.getLogger(FailoverCounters.class);
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();
    private Vertx vertx;
    private RedisProcess redis;
    private RedisCounters redisCounters;
    private LocalCounters local;

    @BeforeEach
    void start() throws IOException {
        RedisProcess.assumeInstalled();
        vertx = Vertx.vertx();
        redis = RedisProcess.start();
        redisCounters = new RedisCounters(vertx, redis.url(), Duration.ofSeconds(2)); // a loaded machine: a killed Redis fails fast anyway
        local = new LocalCounters();
        log.start();
        logger.addAppender(log);
    }

    @AfterEach
    void stop() {
        logger.detachAppender(log);
        if (redis != null) {
            redis.close();
            vertx.close();
        }
    }

    private FailoverCounters failover(FailoverCounters.Mode mode) {
        return new FailoverCounters(vertx, redisCounters, local, mode, Duration.ofMillis(100));
    }

    private long lines(Level level) {
        return log.list.stream().filter(e -> e.getLevel() == level).count();
    }

    private static <T> T get(Future<T> future) throws Exception {
        return future.toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    private static Throwable failure(Future<?> future) throws Exception {
        return future.toCompletionStage().toCompletableFuture().handle((o, e) -> e).get(5, TimeUnit.SECONDS);
    }

    @Test
    void openAnswersInProcessWhileRedisIsDownThenGoesBackToRedis() throws Exception {
        Bucket rpm = new Bucket("open/rpm", Bucket.Kind.SLIDING_WINDOW, 100, CountersScenarios.MINUTE);
        Bucket parallel = new Bucket("open/parallel", Bucket.Kind.CONCURRENCY, 1, 0);
        try (FailoverCounters counters = failover(FailoverCounters.Mode.OPEN)) {
            assertTrue(get(counters.acquire("r0", List.of(new Take(rpm, 1)), NOW)).admitted());
            assertFalse(counters.degraded());
            assertEquals("redis 127.0.0.1:" + redis.port(), counters.describe());

            redis.kill();
            for (int n = 1; n <= 20; n++) {
                Outcome o = get(counters.acquire("r" + n, List.of(new Take(rpm, 1)), NOW));
                assertTrue(o.admitted(), "request " + n);
                // in process: this replica's own count, from nothing
                assertEquals(100 - n, o.states().get(0).remaining());
            }
            assertTrue(get(counters.acquire("slot", List.of(new Take(parallel, 1)), NOW)).admitted());
            assertTrue(counters.degraded());
            assertTrue(counters.describe().matches("redis 127\\.0\\.0\\.1:\\d+ \\(degraded: in-process counters"
                    + " since \\d\\d:\\d\\d:\\d\\dZ\\)"), counters.describe());
            assertEquals(1, lines(Level.WARN), log.list.toString());

            redis.restart();
            await().atMost(Duration.ofSeconds(10)).until(() -> !counters.degraded());
            assertEquals(1, lines(Level.INFO), log.list.toString());
            assertEquals(1, lines(Level.WARN));
            Outcome inRedis = get(counters.acquire("r21", List.of(new Take(rpm, 1)), NOW));
            assertEquals(99, inRedis.states().get(0).remaining()); // the restarted Redis is empty
            assertEquals("1", redis.cli("GET", redisCounters.countKey(rpm, CounterMath.index(NOW, rpm.windowMillis()))));

            // the slot taken in process is freed in process
            assertFalse(get(local.acquire("other", List.of(new Take(parallel, 1)), NOW)).admitted());
            get(counters.settle("slot", List.of(new Take(parallel, 1)), new long[] {0}, NOW));
            assertTrue(get(local.acquire("other", List.of(new Take(parallel, 1)), NOW)).admitted());
        }
    }

    @Test
    void closedRefusesWhileRedisIsDown() throws Exception {
        Bucket rpm = new Bucket("closed/rpm", Bucket.Kind.SLIDING_WINDOW, 100, CountersScenarios.MINUTE);
        try (FailoverCounters counters = failover(FailoverCounters.Mode.CLOSED)) {
            assertTrue(get(counters.acquire("r0", List.of(new Take(rpm, 1)), NOW)).admitted());
            redis.kill();
            for (int n = 1; n <= 5; n++) {
                assertInstanceOf(CountersUnavailableException.class,
                        failure(counters.acquire("r" + n, List.of(new Take(rpm, 1)), NOW)));
            }
            assertTrue(counters.degraded());
            assertTrue(counters.describe().contains("(degraded: refusing since "), counters.describe());
            assertEquals(1, lines(Level.WARN), log.list.toString());

            redis.restart();
            await().atMost(Duration.ofSeconds(10)).until(() -> !counters.degraded());
            assertEquals(1, lines(Level.INFO), log.list.toString());
            assertTrue(get(counters.acquire("r6", List.of(new Take(rpm, 1)), NOW)).admitted());
        }
    }
}
