package dev.apirouter.routing;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.function.UnaryOperator;

import dev.apirouter.fleet.Fleet;
import dev.apirouter.fleet.AttemptEnd;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.Limits;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.Routing;
import dev.apirouter.policy.Timeouts;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RouterTest {
    private static final List<Backend> FOUR = List.of(new Backend("http://10.0.0.1:8000", 1),
            new Backend("http://10.0.0.2:8000", 1), new Backend("http://10.0.0.3:8000", 1),
            new Backend("http://10.0.0.4:8000", 1));
    private static final UnaryOperator<String> NO_HEADERS = name -> null;

    private final Fleet fleet = fleet();
    private final Router router = new Router(fleet, BackendHealth.ALWAYS_HEALTHY, new Random(3)::nextDouble,
            RoutingObserver.NONE);

    private static Fleet fleet() {
        return new Fleet(Duration.ofSeconds(2), 2, Duration.ofSeconds(30), Duration.ofMinutes(5), System::nanoTime);
    }

    private static ModelPolicy policy(Routing.Strategy strategy, List<Backend> backends, List<String> fallbacks) {
        Routing r = Routing.DEFAULTS;
        return new ModelPolicy("m", Optional.empty(), backends, Timeouts.DEFAULTS,
                new Routing(strategy, r.affinityHeader(), r.prefixBytes(), r.loadFactor(), r.attempts(),
                        r.retryBackoff()), fallbacks, Limits.NONE);
    }

    private Decision route(Router r, ModelPolicy policy, String body, UnaryOperator<String> headers) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        return r.route(policy, InferenceRequest.parse(bytes), bytes, headers);
    }

    private static String chat(String system, String... turns) {
        StringBuilder b = new StringBuilder("{\"model\":\"m\",\"stream\":true,\"messages\":[{\"role\":\"system\",\"content\":\"")
                .append(system).append("\"}");
        for (int i = 0; i < turns.length; i++) {
            b.append(",{\"role\":\"").append(i % 2 == 0 ? "user" : "assistant").append("\",\"content\":\"")
                    .append(turns[i]).append("\"}");
        }
        return b.append("]}").toString();
    }

    @Test
    void everyTurnOfAConversationGoesToTheSameBackend() {
        ModelPolicy p = policy(Routing.Strategy.PREFIX_AFFINITY, FOUR, List.of());
        Decision first = route(router, p, chat("You are a tax assistant.", "How much is VAT?"), NO_HEADERS);
        Decision third = route(router, p, chat("You are a tax assistant.", "How much is VAT?", "20%.", "And in 2020?",
                "Also 20%.", "Thanks"), NO_HEADERS);
        assertEquals(Reason.AFFINITY, first.reason());
        assertEquals(first.candidates().get(0), third.candidates().get(0));
        assertEquals(4, first.candidates().size(), "the rest of the ring follows, for retries");
    }

    @Test
    void twoRoutersChooseAloneTheSameBackendForTheSameKey() {
        ModelPolicy p = policy(Routing.Strategy.PREFIX_AFFINITY, FOUR, List.of());
        Router other = new Router(fleet(), BackendHealth.ALWAYS_HEALTHY, new Random(99)::nextDouble,
                RoutingObserver.NONE);
        for (int i = 0; i < 200; i++) {
            String session = "session-" + i;
            UnaryOperator<String> header = name -> name.equals("x-session-id") ? session : null;
            assertEquals(route(router, p, chat("s", "hi"), header).candidates(),
                    route(other, p, chat("s", "hi"), header).candidates());
        }
    }

    @Test
    void keysSpreadOverTheBackendsAndAGoneBackendMovesOnlyItsOwnKeys() {
        ModelPolicy all = policy(Routing.Strategy.PREFIX_AFFINITY, FOUR, List.of());
        ModelPolicy three = policy(Routing.Strategy.PREFIX_AFFINITY, FOUR.subList(0, 3), List.of());
        Map<Backend, Integer> counts = new HashMap<>();
        int moved = 0;
        int n = 4000;
        for (int i = 0; i < n; i++) {
            String user = "user-" + i;
            String body = "{\"model\":\"m\",\"user\":\"" + user + "\",\"prompt\":\"x\"}";
            Backend before = route(router, all, body, NO_HEADERS).candidates().get(0);
            counts.merge(before, 1, Integer::sum);
            Backend after = route(router, three, body, NO_HEADERS).candidates().get(0);
            if (!before.equals(FOUR.get(3))) {
                assertEquals(before, after, "a key whose backend stayed does not move");
            } else {
                moved++;
            }
        }
        for (Backend b : FOUR) {
            assertTrue(counts.get(b) > n / 4 * 0.7 && counts.get(b) < n / 4 * 1.3, b + ": " + counts.get(b));
        }
        assertEquals(counts.get(FOUR.get(3)), moved);
    }

    @Test
    void theHeaderWinsOverTheUserWhichWinsOverThePrompt() {
        ModelPolicy p = policy(Routing.Strategy.PREFIX_AFFINITY, FOUR, List.of());
        int differentPrompts = 0;
        for (int n = 0; n < 50; n++) {
            int i = n;
            String a = "{\"model\":\"m\",\"user\":\"u1\",\"prompt\":\"alpha " + i + "\"}";
            String b = "{\"model\":\"m\",\"user\":\"u1\",\"prompt\":\"beta " + i + "\"}";
            assertEquals(route(router, p, a, NO_HEADERS).candidates(), route(router, p, b, NO_HEADERS).candidates(),
                    "the same user, whatever the prompt");
            UnaryOperator<String> s1 = name -> name.equals("x-session-id") ? "s-" + i : null;
            String other = "{\"model\":\"m\",\"user\":\"u" + (i + 100) + "\",\"prompt\":\"x\"}";
            assertEquals(route(router, p, a, s1).candidates(), route(router, p, other, s1).candidates(),
                    "the same session, whatever the user");
            if (!route(router, p, "{\"model\":\"m\",\"prompt\":\"alpha " + i + "\"}", NO_HEADERS).candidates()
                    .equals(route(router, p, "{\"model\":\"m\",\"prompt\":\"beta " + i + "\"}", NO_HEADERS).candidates())) {
                differentPrompts++;
            }
        }
        assertTrue(differentPrompts > 20, "different prompts spread: " + differentPrompts);
    }

    @Test
    void aBackendAboveItsBoundedLoadSpillsToTheNextOnTheRing() {
        ModelPolicy p = policy(Routing.Strategy.PREFIX_AFFINITY, FOUR, List.of());
        UnaryOperator<String> header = name -> name.equals("x-session-id") ? "hot" : null;
        Decision idle = route(router, p, chat("s", "hi"), header);
        fleet.attemptStarted(idle.candidates().get(0));
        assertEquals(Reason.AFFINITY, route(router, p, chat("s", "hi"), header).reason(), "one more request is no reason to move");
        Backend home = idle.candidates().get(0);
        Backend next = idle.candidates().get(1);
        for (int i = 0; i < 3; i++) {
            fleet.attemptStarted(home); // 3 in flight, none elsewhere: capacity ceil(1.25 * 4 / 4) + 1 = 3
        }
        Decision busy = route(router, p, chat("s", "hi"), header);
        assertEquals(Reason.SPILLED, busy.reason());
        assertEquals(next, busy.candidates().get(0));
        assertEquals(home, busy.candidates().get(1), "the home backend stays a candidate");
        for (Backend b : FOUR) {
            if (!b.equals(home)) {
                fleet.attemptStarted(b);
                fleet.attemptStarted(b); // 3 + 2 + 2 + 2 = 9: capacity ceil(1.25 * 10 / 4) + 1 = 5
            }
        }
        assertEquals(home, route(router, p, chat("s", "hi"), header).candidates().get(0), "balanced again");
    }

    @Test
    void leastLoadTakesTheLowestLoadPerWeight() {
        List<Backend> backends = List.of(new Backend("http://a:1", 1), new Backend("http://b:1", 4));
        ModelPolicy p = policy(Routing.Strategy.LEAST_LOAD, backends, List.of());
        fleet.attemptStarted(backends.get(1));
        fleet.attemptStarted(backends.get(1)); // 2 / 4 < 1 / 1 once a has one
        fleet.attemptStarted(backends.get(0));
        Decision d = route(router, p, "{\"model\":\"m\",\"prompt\":\"x\"}", NO_HEADERS);
        assertEquals(Reason.LEAST_LOAD, d.reason());
        assertEquals(List.of(backends.get(1), backends.get(0)), d.candidates());
    }

    @Test
    void withoutAnyKeyPrefixAffinityRoutesByLoad() {
        ModelPolicy p = policy(Routing.Strategy.PREFIX_AFFINITY, FOUR, List.of());
        assertEquals(Reason.LEAST_LOAD, route(router, p, "{\"model\":\"m\"}", NO_HEADERS).reason());
    }

    @Test
    void anEjectedBackendIsNoCandidateAndWithoutAnyLeftFallbacksAreNext() {
        List<Backend> two = FOUR.subList(0, 2);
        for (int i = 0; i < 2; i++) {
            fleet.attemptStarted(two.get(0));
            fleet.attemptEnded(two.get(0), AttemptEnd.FAILED, 0);
        }
        ModelPolicy p = policy(Routing.Strategy.WEIGHTED, two, List.of("other"));
        assertEquals(List.of(two.get(1)), route(router, p, "{\"model\":\"m\"}", NO_HEADERS).candidates());
        for (int i = 0; i < 2; i++) {
            fleet.attemptStarted(two.get(1));
            fleet.attemptEnded(two.get(1), AttemptEnd.ANSWERED, 500);
        }
        Decision none = route(router, p, "{\"model\":\"m\"}", NO_HEADERS);
        assertEquals(Reason.UNAVAILABLE, none.reason());
        assertEquals(List.of(), none.candidates());
        ModelPolicy noFallback = policy(Routing.Strategy.WEIGHTED, two, List.of());
        assertEquals(2, route(router, noFallback, "{\"model\":\"m\"}", NO_HEADERS).candidates().size(),
                "no fallback: the ejected backends are tried rather than nothing");
        assertNotEquals(Reason.UNAVAILABLE, route(router, noFallback, "{\"model\":\"m\"}", NO_HEADERS).reason());
    }

    @Test
    void drainedBackendsAreNeverCandidates() {
        List<Backend> backends = List.of(new Backend("http://a:1", 0), new Backend("http://b:1", 1));
        for (Routing.Strategy s : Routing.Strategy.values()) {
            assertEquals(List.of(backends.get(1)),
                    route(router, policy(s, backends, List.of()), chat("s", "u"), NO_HEADERS).candidates(), s.label());
        }
        assertEquals(List.of(), route(router, policy(Routing.Strategy.WEIGHTED, List.of(backends.get(0)), List.of()),
                chat("s", "u"), NO_HEADERS).candidates());
    }
}
