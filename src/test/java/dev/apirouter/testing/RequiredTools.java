package dev.apirouter.testing;

import static org.junit.jupiter.api.Assertions.fail;

import org.junit.jupiter.api.Assumptions;

/**
 * External programs some tests need (etcd and etcdctl, kubectl, node). On a developer's machine without one, those
 * tests are skipped with the reason and how to install it, so {@code mvn test} stays green and says what it did not
 * run. CI must run them all: {@code .ci/run} installs the tools and sets {@code CI_REQUIRE_TOOLS=1}, which turns
 * every such skip into a failure, so a CI machine missing a tool fails loudly instead of passing with less tested.
 */
public final class RequiredTools {
    /** Set to 1 (or true) to fail, rather than skip, a test whose tool is missing. */
    public static final String REQUIRE_ENV = "CI_REQUIRE_TOOLS";

    private RequiredTools() {
    }

    /** True when {@code CI_REQUIRE_TOOLS} is 1 or true. */
    public static boolean required() {
        String value = System.getenv(REQUIRE_ENV);
        return value != null && (value.equals("1") || value.equalsIgnoreCase("true"));
    }

    /** A tool's path: the environment variable {@code envVar} when set, else {@code fallback}. */
    public static String binary(String envVar, String fallback) {
        String value = System.getenv(envVar);
        return value == null || value.isBlank() ? fallback : value;
    }

    /**
     * Nothing when {@code available}; otherwise skips the calling test with {@code reason} (a JUnit assumption), or
     * fails it when {@code CI_REQUIRE_TOOLS} is set.
     */
    public static void assume(boolean available, String reason) {
        if (available) {
            return;
        }
        if (required()) {
            fail(reason + " (" + REQUIRE_ENV + "=" + System.getenv(REQUIRE_ENV) + ": a missing tool fails the run)");
        }
        Assumptions.assumeTrue(false, reason);
    }
}
