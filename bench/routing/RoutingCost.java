import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.UnaryOperator;

import dev.apirouter.fleet.Fleet;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.Limits;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.Routing;
import dev.apirouter.policy.Timeouts;
import dev.apirouter.routing.BackendHealth;
import dev.apirouter.routing.InferenceRequest;
import dev.apirouter.routing.Router;
import dev.apirouter.routing.RoutingObserver;

/**
 * The cost of the routing decision (bench only): nanoseconds per {@code Router.route} call for each strategy, one
 * and four backends, a chat body with a 2 KiB system prompt, on one thread after a warm-up; and the cost of parsing
 * that body ({@code InferenceRequest.parse}, which every request pays, before and after routing existed). Prints
 * key=value lines. Compiled and run against the gateway's jar by bench/routing-cost.sh.
 */
public final class RoutingCost {
    static volatile Object sink;

    public static void main(String[] args) {
        long rounds = args.length > 0 ? Long.parseLong(args[0]) : 2_000_000;
        String system = "You are a helpful assistant. ".repeat(70); // ~2 KiB
        byte[] body = ("{\"model\":\"m\",\"stream\":true,\"max_tokens\":64,\"messages\":[{\"role\":\"system\",\"content\":\""
                + system + "\"},{\"role\":\"user\",\"content\":\"What is the capital of France?\"},"
                + "{\"role\":\"assistant\",\"content\":\"Paris.\"},{\"role\":\"user\",\"content\":\"And of Italy?\"}]}")
                .getBytes(StandardCharsets.UTF_8);
        Fleet fleet = new Fleet(Duration.ofSeconds(2), 5, Duration.ofSeconds(5), Duration.ofMinutes(5), System::nanoTime);
        Router router = new Router(fleet, BackendHealth.ALWAYS_HEALTHY, () -> ThreadLocalRandom.current().nextDouble(),
                RoutingObserver.NONE);
        InferenceRequest request = InferenceRequest.parse(body);
        UnaryOperator<String> noHeaders = name -> null;
        System.out.printf(Locale.ROOT, "body_bytes=%d%n", body.length);
        System.out.printf(Locale.ROOT, "parse_ns=%.0f%n", time(rounds / 4, () -> sink = InferenceRequest.parse(body)));
        for (int n : new int[] {1, 4}) {
            List<Backend> backends = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                backends.add(new Backend("http://10.0.0." + (i + 1) + ":8000", 1));
            }
            for (Routing.Strategy s : Routing.Strategy.values()) {
                Routing d = Routing.DEFAULTS;
                ModelPolicy policy = new ModelPolicy("m", Optional.empty(), backends, Timeouts.DEFAULTS,
                        new Routing(s, d.affinityHeader(), d.prefixBytes(), d.loadFactor(), d.attempts(), d.retryBackoff()),
                        List.of(), Limits.NONE);
                double ns = time(rounds, () -> sink = router.route(policy, request, body, noHeaders));
                System.out.printf(Locale.ROOT, "route_%s_%d_ns=%.0f%n", s.label().replace('-', '_'), n, ns);
            }
        }
    }

    /** Mean nanoseconds per call over {@code rounds} calls, after as many warm-up calls. */
    static double time(long rounds, Runnable call) {
        for (long i = 0; i < rounds; i++) {
            call.run();
        }
        long t0 = System.nanoTime();
        for (long i = 0; i < rounds; i++) {
            call.run();
        }
        return (System.nanoTime() - t0) / (double) rounds;
    }
}
