package dev.apirouter.limits;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

import dev.apirouter.policy.KeyRecord;
import dev.apirouter.policy.Limits;
import dev.apirouter.policy.ModelPolicy;
import io.vertx.core.Future;

/**
 * Applies the limits of a request's key (over all its requests, and over its requests to this model) and of its
 * model, all at once through the {@link Counters}: admitted only when every limit has room, refused by the first
 * that has none. A key and model without limits cost nothing: no counter is touched.
 * <p>
 * Counters are kept per key <b>name</b> (a key with limits has one): keys that share a name (a tenant's several keys,
 * a rotated key and its successor) share their limits.
 */
public final class Limiter {
    static final long MINUTE = 60_000L;
    static final long DAY = 86_400_000L;
    static final String RPM = "rpm";
    static final String TPM = "tpm";
    static final String PARALLEL = "maxParallel";
    static final String DAILY = "tokensPerDay";
    /** The {@code Retry-After} of a request refused for want of a parallel slot. */
    static final long PARALLEL_RETRY_MILLIS = 1000;

    private final Counters counters;
    private final LongSupplier clock;

    /** @param clock epoch milliseconds */
    public Limiter(Counters counters, LongSupplier clock) {
        this.counters = counters;
        this.clock = clock;
    }

    /** Whether this request is limited at all: then its token usage must be known when it ends. */
    public static boolean applies(KeyRecord key, ModelPolicy model) {
        return model.limits().any() || key.limits().map(l -> l.all().any() || l.of(model.name()).any()).orElse(false);
    }

    /**
     * Checks and reserves. {@code tokens} is the request's estimated tokens (prompt and completion). Fails only when
     * the counters cannot answer and the store's failure mode says to refuse.
     */
    public Future<Verdict> admit(String requestId, KeyRecord key, ModelPolicy model, long tokens) {
        String keyScope = key.name();
        List<Ask> asks = new ArrayList<>(8);
        key.limits().ifPresent(l -> {
            add(asks, "key:" + keyScope, l.all(), tokens);
            add(asks, "key:" + keyScope + ":model:" + model.name(), l.of(model.name()), tokens);
        });
        add(asks, "model:" + model.name(), model.limits(), tokens);
        if (asks.isEmpty()) {
            return Future.succeededFuture(Verdict.UNLIMITED);
        }
        List<Counters.Take> takes = new ArrayList<>(asks.size());
        boolean[] tokenTakes = new boolean[asks.size()];
        for (int i = 0; i < asks.size(); i++) {
            takes.add(asks.get(i).take());
            tokenTakes[i] = asks.get(i).tokens();
        }
        long now = clock.getAsLong();
        return counters.acquire(requestId, takes, now).map(outcome -> verdict(outcome, asks,
                new Reservation(requestId, takes, tokenTakes, tokens, now)));
    }

    /**
     * The request is over: its token takes are corrected to {@code actualTokens} (prompt and completion as the
     * backend reported them; -1 when unknown: the estimate stands) and its parallel slots freed.
     */
    public Future<Void> settle(Reservation reservation, long actualTokens) {
        if (reservation.isEmpty()) {
            return Future.succeededFuture();
        }
        long[] corrections = new long[reservation.takes().size()];
        for (int i = 0; i < corrections.length; i++) {
            if (reservation.tokenTakes()[i] && actualTokens >= 0) {
                corrections[i] = actualTokens - reservation.estimate();
            }
        }
        return counters.settle(reservation.requestId(), reservation.takes(), corrections, reservation.acquiredAtMillis());
    }

    /** One limit of one scope, and the amount this request takes from it. */
    private record Ask(String scope, String limit, Counters.Take take, boolean tokens) {
    }

    private static void add(List<Ask> asks, String scope, Limits limits, long tokens) {
        if (limits.rpm() > 0) {
            asks.add(new Ask(scope, RPM, new Counters.Take(new Counters.Bucket(scope + ":rpm",
                    Counters.Bucket.Kind.SLIDING_WINDOW, limits.rpm(), MINUTE), 1), false));
        }
        if (limits.tpm() > 0) {
            asks.add(new Ask(scope, TPM, new Counters.Take(new Counters.Bucket(scope + ":tpm",
                    Counters.Bucket.Kind.SLIDING_WINDOW, limits.tpm(), MINUTE), tokens), true));
        }
        if (limits.maxParallel() > 0) {
            asks.add(new Ask(scope, PARALLEL, new Counters.Take(new Counters.Bucket(scope + ":parallel",
                    Counters.Bucket.Kind.CONCURRENCY, limits.maxParallel(), 0), 1), false));
        }
        if (limits.tokensPerDay() > 0) {
            asks.add(new Ask(scope, DAILY, new Counters.Take(new Counters.Bucket(scope + ":day",
                    Counters.Bucket.Kind.DAILY, limits.tokensPerDay(), DAY), tokens), true));
        }
    }

    /** The outcome as a verdict, with the headers of the tightest request limit and the tightest token limit. */
    private static Verdict verdict(Counters.Outcome outcome, List<Ask> asks, Reservation reservation) {
        Map<String, String> headers = Verdict.newHeaders();
        tightest(outcome, asks, RPM, "requests", headers);
        tightest(outcome, asks, TPM, "tokens", headers);
        if (outcome.admitted()) {
            return new Verdict(reservation, null, null, 0, headers);
        }
        Ask refused = asks.get(outcome.refused());
        long retry = outcome.states().get(outcome.refused()).resetMillis();
        if (refused.limit().equals(PARALLEL)) {
            retry = PARALLEL_RETRY_MILLIS; // a slot frees when some request ends: nobody knows when
        }
        return new Verdict(Reservation.NONE, refused.limit(), refused.scope(), retry, headers);
    }

    private static void tightest(Counters.Outcome outcome, List<Ask> asks, String limit, String unit,
                                 Map<String, String> headers) {
        int best = -1;
        for (int i = 0; i < asks.size(); i++) {
            if (asks.get(i).limit().equals(limit) && (best < 0
                    || outcome.states().get(i).remaining() < outcome.states().get(best).remaining())) {
                best = i;
            }
        }
        if (best >= 0) {
            Counters.State state = outcome.states().get(best);
            headers.put("x-ratelimit-limit-" + unit, Long.toString(asks.get(best).take().bucket().limit()));
            headers.put("x-ratelimit-remaining-" + unit, Long.toString(state.remaining()));
            headers.put("x-ratelimit-reset-" + unit, duration(state.resetMillis()));
        }
    }

    /** A duration as OpenAI writes it in {@code x-ratelimit-reset-*}: {@code 20ms}, {@code 1s}, {@code 6m0s}. */
    static String duration(long millis) {
        if (millis <= 0) {
            return "0s";
        }
        if (millis < 1000) {
            return millis + "ms";
        }
        long seconds = (millis + 999) / 1000;
        long hours = seconds / 3600;
        long minutes = seconds % 3600 / 60;
        long secs = seconds % 60;
        if (hours > 0) {
            return hours + "h" + minutes + "m" + secs + "s";
        }
        return minutes > 0 ? minutes + "m" + secs + "s" : secs + "s";
    }
}
