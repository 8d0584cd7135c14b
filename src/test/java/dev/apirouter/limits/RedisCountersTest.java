package dev.apirouter.limits;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.apirouter.limits.Counters.Bucket;
import dev.apirouter.limits.Counters.Take;
import dev.apirouter.testing.RedisProcess;
import io.vertx.core.Vertx;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The shared scenarios against a real Redis, and what only Redis has: expiry, passwords, timeouts, replicas. */
class RedisCountersTest extends CountersScenarios {
    static final Duration TIMEOUT = Duration.ofMillis(250);
    private static Vertx vertx;
    private static RedisProcess redis;
    private RedisCounters counters;

    @BeforeEach
    void start() throws IOException {
        RedisProcess.assumeInstalled();
        if (redis == null) {
            vertx = Vertx.vertx();
            redis = RedisProcess.start();
        }
        counters = new RedisCounters(vertx, redis.url(), Duration.ofSeconds(2));
    }

    @AfterEach
    void close() {
        if (counters != null) {
            counters.close();
        }
    }

    @AfterAll
    static void stopRedis() {
        if (redis != null) {
            redis.close();
            vertx.close();
        }
    }

    @Override
    Counters counters() {
        return counters;
    }

    @Test
    void keysExpireByThemselves() {
        long now = System.currentTimeMillis();
        Bucket rpm = bucket("rpm", Bucket.Kind.SLIDING_WINDOW, 10, MINUTE);
        Bucket day = bucket("day", Bucket.Kind.DAILY, 10, DAY);
        Bucket parallel = bucket("parallel", Bucket.Kind.CONCURRENCY, 10, 0);
        assertTrue(acquire("r", now, new Take(rpm, 1), new Take(day, 1), new Take(parallel, 1)).admitted());
        assertTtl(counters.countKey(rpm, CounterMath.index(now, MINUTE)), 2 * MINUTE);
        assertTtl(counters.countKey(day, CounterMath.index(now, DAY)), 2 * DAY);
        assertTtl(counters.slotsKey(parallel), Counters.PARALLEL_LEASE_MILLIS);
        assertEquals("1", redis.cli("ZCARD", counters.slotsKey(parallel)));
    }

    private static void assertTtl(String key, long expected) {
        long ttl = Long.parseLong(redis.cli("PTTL", key));
        assertTrue(ttl > expected - 10_000 && ttl <= expected, key + ": PTTL " + ttl + ", expected about " + expected);
    }

    @Test
    void aPasswordInTheUrlWorksAndIsNeverLogged() throws IOException {
        Logger logger = (Logger) LoggerFactory.getLogger(RedisCounters.class);
        ListAppender<ILoggingEvent> appender = new ListAppender<>();
        appender.start();
        logger.addAppender(appender);
        try (RedisProcess secured = RedisProcess.start("s3cret-pw");
             RedisCounters withPassword = new RedisCounters(vertx, secured.url() + "/0", TIMEOUT.multipliedBy(8))) {
            Bucket rpm = bucket("rpm", Bucket.Kind.SLIDING_WINDOW, 1, MINUTE);
            assertTrue(await(withPassword.acquire("r", List.of(new Take(rpm, 1)), T0)).admitted());
            assertEquals("127.0.0.1:" + secured.port(), withPassword.endpoint());
            // and without it, Redis refuses
            try (RedisCounters without = new RedisCounters(vertx, "redis://127.0.0.1:" + secured.port(), TIMEOUT)) {
                assertTrue(without.acquire("r", List.of(new Take(rpm, 1)), T0).toCompletionStage()
                        .toCompletableFuture().handle((o, e) -> e != null).join());
            }
        } finally {
            logger.detachAppender(appender);
        }
        assertFalse(appender.list.isEmpty());
        for (ILoggingEvent event : appender.list) {
            assertFalse(event.getFormattedMessage().contains("s3cret"), event.getFormattedMessage());
        }
    }

    @Test
    void aRedisThatNeverAnswersFailsTheCallWithinTheTimeout() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            List<Socket> accepted = new ArrayList<>();
            Thread acceptor = new Thread(() -> {
                for (int n = 0; n < 20; n++) { // bounded: a few pooled connections at most
                    try {
                        accepted.add(silent.accept());
                    } catch (IOException e) {
                        return;
                    }
                }
            }, "silent-redis");
            acceptor.setDaemon(true);
            acceptor.start();
            try (RedisCounters hung = new RedisCounters(vertx, "redis://127.0.0.1:" + silent.getLocalPort(), TIMEOUT)) {
                Bucket rpm = bucket("rpm", Bucket.Kind.SLIDING_WINDOW, 1, MINUTE);
                for (int n = 0; n < 2; n++) {
                    long started = System.nanoTime();
                    Throwable failure = hung.acquire("r", List.of(new Take(rpm, 1)), T0).toCompletionStage()
                            .toCompletableFuture().handle((o, e) -> e).get(5, TimeUnit.SECONDS);
                    long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
                    assertInstanceOf(TimeoutException.class, failure);
                    assertTrue(millis >= 200 && millis < 1500, "failed after " + millis + " ms");
                }
            } finally {
                silent.close();
                for (Socket s : accepted) {
                    s.close();
                }
            }
        }
    }

    @Test
    void threeReplicasAdmitExactlyTheLimitBetweenThem() throws Exception {
        int limit = 50;
        Bucket rpm = bucket("shared", Bucket.Kind.SLIDING_WINDOW, limit, MINUTE);
        List<RedisCounters> replicas = List.of(new RedisCounters(vertx, redis.url(), Duration.ofSeconds(2)),
                new RedisCounters(vertx, redis.url(), Duration.ofSeconds(2)),
                new RedisCounters(vertx, redis.url(), Duration.ofSeconds(2)));
        ExecutorService threads = Executors.newFixedThreadPool(6);
        AtomicInteger admitted = new AtomicInteger();
        try {
            List<CompletableFuture<?>> all = new ArrayList<>();
            for (int thread = 0; thread < 6; thread++) {
                int th = thread;
                all.add(CompletableFuture.runAsync(() -> {
                    for (int n = 0; n < 30; n++) {
                        RedisCounters replica = replicas.get((th + n) % 3);
                        if (await(replica.acquire("t" + th + "-" + n, List.of(new Take(rpm, 1)), T0 + n)).admitted()) {
                            admitted.incrementAndGet();
                        }
                    }
                }, threads));
            }
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(20, TimeUnit.SECONDS);
        } finally {
            threads.shutdownNow();
            replicas.forEach(RedisCounters::close);
        }
        assertEquals(limit, admitted.get());
    }
}
