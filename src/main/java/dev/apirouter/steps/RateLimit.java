package dev.apirouter.steps;

import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.apirouter.call.GatewayCall;
import dev.apirouter.call.TokenUsage;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.limits.Limiter;
import dev.apirouter.limits.Reservation;
import dev.apirouter.limits.Verdict;
import dev.apirouter.policy.KeyRecord;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.routing.InferenceRequest;
import io.vertx.core.http.HttpServerResponse;
import org.apache.camel.AsyncCallback;
import org.apache.camel.Exchange;
import org.apache.camel.support.AsyncProcessorSupport;
import org.apache.camel.support.SynchronizationAdapter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code rate-limit}: the key's and the model's limits ({@link Limiter}), before the request goes to a backend. A
 * request within them reserves its share (a request, an estimate of its tokens, a parallel slot) and settles it with
 * its real token usage when it ends, however it ends; one beyond them is refused with {@code 429}
 * ({@code rate_limit_exceeded}, or {@code insufficient_quota} for the daily quota) and {@code Retry-After}. Every
 * response of a limited request carries the {@code x-ratelimit-*} headers, so OpenAI clients wait the right time. A
 * key and model without limits pass at once, at no cost. A route that does not name this step still gets it:
 * {@code backend-dispatch} runs it first (so a route file written before limits existed cannot bypass them).
 * <p>
 * Token estimate: the body's bytes / 4 for the prompt, plus {@code max_completion_tokens} (or {@code max_tokens}),
 * else {@link #DEFAULT_COMPLETION_ESTIMATE} for the completion; none for a request without a model in its body (a
 * stored response's, {@code response-pin}).
 */
public final class RateLimit extends AsyncProcessorSupport {
    public static final String NAME = "rate-limit";
    static final long DEFAULT_COMPLETION_ESTIMATE = 256;
    private static final Logger LOG = LoggerFactory.getLogger(RateLimit.class);

    private final Limiter limiter;

    public RateLimit(Limiter limiter) {
        this.limiter = limiter;
    }

    @Override
    public boolean process(Exchange exchange, AsyncCallback callback) {
        GatewayCall call = GatewayCall.of(exchange);
        call.limitsChecked();
        KeyRecord key = call.keyRecord();
        ModelPolicy model = call.modelPolicy();
        if (key == null || model == null || !Limiter.applies(key, model)) {
            callback.done(true);
            return true;
        }
        call.requireUsage(); // the tokens it really used settle its reservation
        limiter.admit(call.requestId(), key, model, estimate(call)).onComplete(ar -> {
            if (ar.failed()) {
                exchange.setException(new GatewayException(ErrorCode.OVERLOADED, "The rate-limit counters are"
                        + " unavailable; requests of keys with limits are refused until they are back."));
            } else {
                Verdict verdict = ar.result();
                addHeaders(call.clientResponse(), verdict.headers());
                if (verdict.admitted()) {
                    Reservation reservation = verdict.reservation();
                    call.reserved(reservation);
                    Settle settle = new Settle(call, reservation);
                    call.whenAnswered(settle::run); // before the client can send its next request
                    exchange.getExchangeExtension().addOnCompletion(settle); // no answer: the request ends anyway
                } else {
                    exchange.setException(refusal(call.clientResponse(), verdict, key, model));
                }
            }
            callback.done(false);
        });
        return false;
    }

    static long estimate(GatewayCall call) {
        InferenceRequest request = call.inferenceRequest();
        if (request == null) {
            return 0; // a request for a stored response: it counts as a request, it generates nothing
        }
        long prompt = call.requestBody() == null ? 0 : call.requestBody().length / 4;
        long completion = request.maxTokens() >= 0 ? request.maxTokens() : DEFAULT_COMPLETION_ESTIMATE;
        return prompt + completion;
    }

    private static GatewayException refusal(HttpServerResponse response, Verdict verdict, KeyRecord key,
                                            ModelPolicy model) {
        long wait = verdict.retryAfterMillis();
        if (wait > 0 && response != null) {
            response.putHeader("Retry-After", Long.toString((wait + 999) / 1000));
            response.putHeader("retry-after-ms", Long.toString(wait));
        }
        String scope = verdict.scope().startsWith("model:") ? "the model '" + model.name() + "'"
                : verdict.scope().contains(":model:") ? "key '" + key.name() + "' on model '" + model.name() + "'"
                : "key '" + key.name() + "'";
        if (verdict.quotaExhausted()) {
            return new GatewayException(ErrorCode.INSUFFICIENT_QUOTA, verdict.refusedLimit(), "The daily token quota of " + scope
                    + " is used up; it resets at 00:00 UTC.");
        }
        String what = switch (verdict.refusedLimit()) {
            case "rpm" -> "requests per minute";
            case "tpm" -> "tokens per minute";
            default -> "requests in parallel";
        };
        if (wait < 0) {
            return new GatewayException(ErrorCode.RATE_LIMITED, verdict.refusedLimit(), "This request needs more tokens than the " + what
                    + " limit of " + scope + " allows at all; lower max_tokens or the prompt.");
        }
        return new GatewayException(ErrorCode.RATE_LIMITED, verdict.refusedLimit(), "Rate limit reached for " + scope + " on " + what
                + "; retry in " + Math.max(1, (wait + 999) / 1000) + " s.");
    }

    private static void addHeaders(HttpServerResponse response, Map<String, String> headers) {
        if (response != null && !response.headWritten()) {
            headers.forEach(response::putHeader);
        }
    }

    /** Settles the reservation once: when the backend's answer is over, or when the exchange ends without one. */
    private final class Settle extends SynchronizationAdapter {
        private final GatewayCall call;
        private final Reservation reservation;
        private final AtomicBoolean settled = new AtomicBoolean();

        Settle(GatewayCall call, Reservation reservation) {
            this.call = call;
            this.reservation = reservation;
        }

        @Override
        public void onDone(Exchange exchange) {
            run();
        }

        void run() {
            if (!settled.compareAndSet(false, true)) {
                return;
            }
            long actual;
            if (call.answer() == null) {
                actual = 0; // no backend answered: nothing was used
            } else {
                TokenUsage usage = call.answer().usage();
                actual = usage == null ? -1 : Math.max(0, usage.inputTokens()) + Math.max(0, usage.outputTokens());
            }
            limiter.settle(reservation, actual).onFailure(t -> LOG.debug("Request {}: limits not settled: {}",
                    call.requestId(), t.toString()));
        }
    }
}
