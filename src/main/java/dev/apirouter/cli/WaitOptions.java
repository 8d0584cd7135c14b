package dev.apirouter.cli;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import picocli.CommandLine.Option;

/** {@code --wait} and {@code --wait-timeout} of the commands that change the store. */
final class WaitOptions {
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);
    private static final Pattern DURATION = Pattern.compile("(\\d{1,9})(ms|s|m|h)");

    @Option(names = "--wait", description = {
            "After the change, wait until every replica in the registry has applied it (etcd)."})
    boolean wait;

    @Option(names = "--wait-timeout", paramLabel = "DURATION", description = {
            "How long --wait waits (implies --wait): 500ms, 30s, 2m. Default 30s."})
    String timeout;

    boolean enabled() {
        return wait || timeout != null;
    }

    /** How long to wait when {@code --wait} (or {@code --wait-timeout}) is given; empty otherwise. */
    static java.util.Optional<Duration> requested(WaitOptions options) throws CliException {
        return options == null || !options.enabled() ? java.util.Optional.empty()
                : java.util.Optional.of(options.timeout());
    }

    Duration timeout() throws CliException {
        return timeout == null ? DEFAULT_TIMEOUT : parse(timeout);
    }

    /** {@code 500ms}, {@code 30s}, {@code 2m}, {@code 1h}; more than 0. */
    static Duration parse(String raw) throws CliException {
        Matcher m = DURATION.matcher(raw.trim().toLowerCase(Locale.ROOT));
        if (!m.matches()) {
            throw CliException.usage("--wait-timeout takes a duration such as 500ms, 30s or 2m, not '" + raw + "'");
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "ms" -> Duration.ofMillis(n);
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            default -> Duration.ofHours(n);
        };
        if (d.isZero()) {
            throw CliException.usage("--wait-timeout must be more than 0");
        }
        return d;
    }

    /** {@code 30s}, {@code 500ms}, {@code 2m}: as an operator writes it. */
    static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }
}
