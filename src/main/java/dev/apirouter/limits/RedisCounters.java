package dev.apirouter.limits;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.TimeoutException;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.net.NetClientOptions;
import io.vertx.redis.client.Command;
import io.vertx.redis.client.Redis;
import io.vertx.redis.client.RedisOptions;
import io.vertx.redis.client.Request;
import io.vertx.redis.client.Response;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The counters in Redis, shared by every replica: one Lua script per {@link #acquire} ({@code counters-acquire.lua},
 * the port of {@link CounterMath}) checks and takes every take atomically, one per {@link #settle}
 * ({@code counters-settle.lua}). Scripts go by EVALSHA, and by EVAL when Redis answers NOSCRIPT (a restarted or
 * flushed Redis), so nothing has to be loaded first.
 * <p>
 * <b>Data.</b> {@code <prefix><bucket id>:<window index>}: a string, the count of a sliding window or a day (the
 * index is {@code floor(now / windowMillis)}), expiring two windows after its last take; {@code <prefix><bucket
 * id>:slots}: a sorted set of request ids scored by the epoch millisecond their lease ends, expiring one lease after
 * its last take; expired members are removed before counting.
 * <p>
 * <b>Time.</b> The caller's {@code nowMillis}, not Redis' TIME: the same calls then give exactly the same states as
 * {@link LocalCounters} (so {@link FailoverCounters} can switch between them, and tests can drive both with one
 * clock). The replicas' clocks are assumed synchronised (NTP: within milliseconds); a replica off by {@code d}
 * counts its takes in the window boundaries as they were {@code d} earlier or later, nothing worse. Expiry (PEXPIRE)
 * is relative, so on Redis' clock, which does not matter.
 * <p>
 * <b>Bounds.</b> Every call fails after {@code timeout} (a {@link TimeoutException}) whatever Redis does; connecting
 * is bounded by the same timeout. The client pools up to {@link #POOL_SIZE} connections, makes a new one when one
 * drops (on the next call: no call waits for a reconnect longer than the timeout), and recycles idle ones; a
 * connection on which nothing was read for {@link #IDLE_CLOSE} (a Redis that stopped answering) is closed so that
 * its waiting calls are released. The URL may carry a password ({@code redis://:secret@host:6379/0}): only
 * {@code host:port} is ever logged or described.
 */
public final class RedisCounters implements Counters {
    static final int POOL_SIZE = 8;
    static final Duration IDLE_CLOSE = Duration.ofSeconds(10);
    static final String DEFAULT_PREFIX = "api-router:limits:";
    private static final Logger LOG = LoggerFactory.getLogger(RedisCounters.class);
    private static final Script ACQUIRE = Script.load("counters-acquire.lua");
    private static final Script SETTLE = Script.load("counters-settle.lua");

    private final Vertx vertx;
    private final Redis redis;
    private final String endpoint;
    private final String prefix;
    private final long timeoutMillis;

    /** Keys under {@value #DEFAULT_PREFIX}. */
    public RedisCounters(Vertx vertx, String redisUrl, Duration timeout) {
        this(vertx, redisUrl, timeout, DEFAULT_PREFIX);
    }

    /**
     * @param redisUrl {@code redis://[:password@]host[:port][/db]} ({@code rediss://} for TLS)
     * @param timeout  the longest any call may take (connecting included) before its Future fails
     * @param prefix   of every key
     */
    public RedisCounters(Vertx vertx, String redisUrl, Duration timeout, String prefix) {
        this.vertx = vertx;
        this.endpoint = hostPort(redisUrl);
        this.prefix = prefix;
        this.timeoutMillis = Math.max(1, timeout.toMillis());
        int idleSeconds = (int) Math.max(IDLE_CLOSE.toSeconds(), 4 * timeoutMillis / 1000);
        this.redis = Redis.createClient(vertx, new RedisOptions()
                .setConnectionString(redisUrl)
                .setNetClientOptions(new NetClientOptions()
                        .setConnectTimeout((int) timeoutMillis)
                        .setTcpKeepAlive(true)
                        .setTcpNoDelay(true)
                        .setReadIdleTimeout(idleSeconds))
                .setMaxPoolSize(POOL_SIZE)
                .setMaxPoolWaiting(1024)
                .setMaxWaitingHandlers(1024)
                .setPoolRecycleTimeout(15_000));
        LOG.info("Limit counters in Redis at {} (every call bounded by {} ms)", endpoint, timeoutMillis);
    }

    /** {@code host:port} of the Redis, without credentials. */
    public String endpoint() {
        return endpoint;
    }

    @Override
    public Future<Outcome> acquire(String requestId, List<Take> takes, long nowMillis) {
        List<String> keys = new ArrayList<>(2 * takes.size());
        List<String> args = new ArrayList<>(3 + 5 * takes.size());
        args.add(Long.toString(nowMillis));
        args.add(requestId);
        args.add(Long.toString(PARALLEL_LEASE_MILLIS));
        for (Take take : takes) {
            Bucket b = take.bucket();
            long w = b.windowMillis();
            long i = b.kind() == Bucket.Kind.CONCURRENCY ? 0 : CounterMath.index(nowMillis, w);
            if (b.kind() == Bucket.Kind.CONCURRENCY) {
                keys.add(slotsKey(b));
                keys.add(slotsKey(b));
            } else {
                keys.add(countKey(b, i));
                keys.add(b.kind() == Bucket.Kind.SLIDING_WINDOW ? countKey(b, i - 1) : countKey(b, i));
            }
            args.add(Integer.toString(CounterMath.code(b.kind())));
            args.add(Long.toString(b.limit()));
            args.add(Long.toString(w));
            args.add(Long.toString(take.amount()));
            args.add(Long.toString(b.kind() == Bucket.Kind.CONCURRENCY ? 0 : nowMillis - i * w));
        }
        return run(ACQUIRE, keys, args).map(r -> {
            int refused = r.get(0).toInteger();
            List<State> states = new ArrayList<>(takes.size());
            for (int t = 0; t < takes.size(); t++) {
                states.add(new State(r.get(1 + 2 * t).toLong(), r.get(2 + 2 * t).toLong()));
            }
            return new Outcome(refused < 0, refused, List.copyOf(states));
        });
    }

    @Override
    public Future<Void> settle(String requestId, List<Take> takes, long[] corrections, long acquiredAtMillis) {
        List<String> keys = new ArrayList<>(takes.size());
        List<String> args = new ArrayList<>(1 + 2 * takes.size());
        args.add(requestId);
        for (int t = 0; t < takes.size(); t++) {
            Bucket b = takes.get(t).bucket();
            keys.add(b.kind() == Bucket.Kind.CONCURRENCY ? slotsKey(b)
                    : countKey(b, CounterMath.index(acquiredAtMillis, b.windowMillis())));
            args.add(Integer.toString(CounterMath.code(b.kind())));
            args.add(Long.toString(t < corrections.length ? corrections[t] : 0));
        }
        return run(SETTLE, keys, args).mapEmpty();
    }

    /** PING, bounded by the timeout: whether Redis answers (the probe of {@link FailoverCounters}). */
    public Future<Void> ping() {
        return bounded(redis.send(Request.cmd(Command.PING)), "PING").mapEmpty();
    }

    @Override
    public void close() {
        redis.close();
    }

    // ------------------------------------------------------------------

    String countKey(Bucket b, long index) {
        return prefix + b.id() + ":" + index;
    }

    String slotsKey(Bucket b) {
        return prefix + b.id() + ":slots";
    }

    /** EVALSHA, then EVAL if Redis does not have the script; the whole bounded by the timeout. */
    private Future<Response> run(Script script, List<String> keys, List<String> args) {
        Future<Response> call = redis.send(script.request(Command.EVALSHA, script.sha, keys, args)).recover(e -> {
            String message = e.getMessage();
            if (message != null && message.startsWith("NOSCRIPT")) {
                return redis.send(script.request(Command.EVAL, script.text, keys, args));
            }
            return Future.failedFuture(e);
        });
        return bounded(call, script.name);
    }

    private <T> Future<T> bounded(Future<T> call, String what) {
        Promise<T> promise = Promise.promise();
        long timer = vertx.setTimer(timeoutMillis, id -> promise.tryFail(new TimeoutException(
                "Redis " + endpoint + " did not answer " + what + " within " + timeoutMillis + " ms")));
        call.onComplete(ar -> {
            vertx.cancelTimer(timer);
            if (ar.succeeded()) {
                promise.tryComplete(ar.result());
            } else {
                promise.tryFail(ar.cause());
            }
        });
        return promise.future();
    }

    /** {@code host:port} of a Redis URL, never its user or password. */
    static String hostPort(String redisUrl) {
        try {
            URI uri = URI.create(redisUrl);
            String host = uri.getHost() == null ? "localhost" : uri.getHost();
            return host + ":" + (uri.getPort() < 0 ? 6379 : uri.getPort());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("not a Redis URL (redis://[:password@]host[:port][/db])");
        }
    }

    /** A Lua script from the class path, with its SHA-1 (EVALSHA's name for it). */
    private record Script(String name, String text, String sha) {
        static Script load(String resource) {
            try (InputStream in = RedisCounters.class.getResourceAsStream(resource)) {
                if (in == null) {
                    throw new IllegalStateException("missing resource " + resource);
                }
                String text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
                byte[] sha = MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8));
                return new Script(resource, text, HexFormat.of().formatHex(sha));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        Request request(Command command, String first, List<String> keys, List<String> args) {
            Request request = Request.cmd(command).arg(first).arg(keys.size());
            keys.forEach(request::arg);
            args.forEach(request::arg);
            return request;
        }
    }
}
