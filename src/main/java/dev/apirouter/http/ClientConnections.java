package dev.apirouter.http;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import dev.apirouter.config.Settings;
import io.netty.channel.Channel;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.vertx.core.http.HttpConnection;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.impl.ConnectionBase;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client connections of the gateway's HTTP servers: counted against {@code ROUTER_MAX_CONNECTIONS}, and each
 * HTTP/1.x one given a strict decoder and a {@link ClientGuard}. One sweep per event loop applies the guards'
 * deadlines a few times per timeout (no timer is set or cancelled per request), so a deadline is met within a
 * quarter of the shortest timeout, at most 250 ms late.
 *
 * <p>Reaching into the connection's Netty pipeline uses Vert.x's {@link ConnectionBase#channel()}, an internal API:
 * the edge tests ({@code EdgeIT}) fail if a Vert.x upgrade changes it.
 */
final class ClientConnections implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ClientConnections.class);
    private static final long MAX_SWEEP_MS = 250;
    private static final long MIN_SWEEP_MS = 50;

    private final Settings.Clients limits;
    private final HttpServerOptions options;
    private final long sweepMs;
    private final AtomicInteger open = new AtomicInteger();
    private final AtomicBoolean atLimit = new AtomicBoolean();
    private final AtomicLong refusedAtLimit = new AtomicLong();
    private final Map<EventLoop, Sweep> sweeps = new ConcurrentHashMap<>();

    ClientConnections(Settings.Clients limits, HttpServerOptions options) {
        this.limits = limits;
        this.options = options;
        long shortest = List.of(limits.headerTimeout(), limits.bodyTimeout(), limits.idleTimeout()).stream()
                .mapToLong(Duration::toMillis).min().orElse(MAX_SWEEP_MS * 4);
        this.sweepMs = Math.max(MIN_SWEEP_MS, Math.min(MAX_SWEEP_MS, shortest / 4));
    }

    Settings.Clients limits() {
        return limits;
    }

    int maxConnections() {
        return limits.maxConnections();
    }

    int open() {
        return open.get();
    }

    /** The server's connection handler: called on the connection's event loop before it reads a request. */
    void accept(HttpConnection connection) {
        Channel channel = ((ConnectionBase) connection).channel();
        boolean overLimit = open.incrementAndGet() > limits.maxConnections();
        if (overLimit) {
            refusedAtLimit.incrementAndGet();
            if (atLimit.compareAndSet(false, true)) {
                LOG.warn("Client connection limit reached ({} open, ROUTER_MAX_CONNECTIONS={}): new connections are "
                        + "answered 503 overloaded until some close", open.get() - 1, limits.maxConnections());
            }
        }
        channel.closeFuture().addListener(f -> closed());
        ChannelPipeline pipeline = channel.pipeline();
        if (pipeline.get("httpDecoder") == null) {
            return; // HTTP/2 (h2c, opted in): frames, not HTTP/1 messages; Vert.x's HTTP/2 settings bound it
        }
        pipeline.replace("httpDecoder", "httpDecoder", new StrictRequestDecoder(options));
        ClientGuard guard = new ClientGuard(this, overLimit);
        pipeline.addAfter("httpEncoder", ClientGuard.NAME, guard);
        Sweep sweep = sweeps.computeIfAbsent(channel.eventLoop(), Sweep::new);
        sweep.guards.add(guard);
        channel.closeFuture().addListener(f -> sweep.guards.remove(guard));
    }

    private void closed() {
        int now = open.decrementAndGet();
        if (now < limits.maxConnections() && atLimit.compareAndSet(true, false)) {
            LOG.info("Client connections back under the limit ({} open); {} were answered 503 while at the limit",
                    now, refusedAtLimit.getAndSet(0));
        }
    }

    @Override
    public void close() {
        sweeps.values().forEach(s -> s.task.cancel(false));
        sweeps.clear();
    }

    /** The guards of one event loop, swept on that loop: no locking. */
    private final class Sweep {
        final Set<ClientGuard> guards = new HashSet<>();
        final ScheduledFuture<?> task;

        Sweep(EventLoop loop) {
            task = loop.scheduleAtFixedRate(this::run, sweepMs, sweepMs, TimeUnit.MILLISECONDS);
        }

        private void run() {
            long now = System.nanoTime();
            for (ClientGuard guard : new ArrayList<>(guards)) { // a sweep may close connections, which removes them
                guard.sweep(now);
            }
        }
    }
}
