package dev.apirouter.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

import dev.apirouter.config.Config;
import dev.apirouter.config.ConfigException;
import dev.apirouter.config.Settings;

/**
 * The operator commands in the gateway's jar: {@code keys create|list|revoke} and {@code policy
 * put|get|delete|validate}. With {@code ETCD_ENDPOINTS} set they act on etcd (same prefix, timeouts and deadlines
 * as the gateway); without it they print what to write in the policy file, or read it.
 *
 * <p>Exit codes: 0 done, 1 usage error, 2 invalid input (a document that does not validate, a name that matches
 * nothing), 3 etcd unreachable or too slow. Results go to standard output, notes and errors to standard error, so
 * {@code KEY=$(java -jar api-router.jar keys create ...)} captures exactly the new key.
 */
public final class Cli {
    public static final int EXIT_OK = 0;
    public static final int EXIT_USAGE = 1;
    public static final int EXIT_INVALID = 2;
    public static final int EXIT_ETCD = 3;

    static final String USAGE = """
            Usage: java -jar api-router.jar <command> [options]

            API keys (only the SHA-256 of a key is ever stored):
              keys create --name NAME --models M1,M2 [--expires-at 2027-01-01T00:00:00Z]
                    Generates a key and prints it once, alone on standard output. Stores its record
                    (etcd) or prints the record to paste under 'keys:' in the policy file.
                    --models '*' allows every model.
              keys list [--json]
                    Name, hash prefix, models, disabled and expiry of every key (never a key or a whole hash).
              keys revoke (--name NAME | --hash PREFIX) [--delete]
                    Disables the matching key(s) (disabled: true); --delete removes the record instead.

            Model policies:
              policy put --model MODEL --file FILE
                    Validates the model policy in FILE (JSON or YAML), then stores it (etcd) or prints
                    the policy-file form. An invalid policy is refused (exit 2) and nothing is stored.
              policy get [--model MODEL]
                    Prints one model policy, or the whole store in policy-file form (usable as ROUTER_POLICY_FILE).
              policy delete --model MODEL
                    Removes a model policy (etcd).
              policy validate FILE [--model MODEL]
                    Checks a model policy file or a whole policy file; needs no etcd.

            Where: ETCD_ENDPOINTS set: etcd under ROUTER_ETCD_PREFIX (default /api-router/), bounded by
            ROUTER_ETCD_CONNECT_TIMEOUT_MS and ROUTER_ETCD_CALL_TIMEOUT_MS, with the gateway's etcd auth and
            TLS (ETCD_USERNAME, ETCD_PASSWORD, ETCD_CACERT, ETCD_CERT, ETCD_KEY; https:// endpoints for TLS).
            Unset: the policy file (ROUTER_POLICY_FILE) is read, and changes are printed for you to paste into it.

            Exit codes: 0 ok, 1 usage error, 2 invalid input, 3 etcd unreachable or timed out.
            """;

    private Cli() {
    }

    /** True when {@code args} name an operator command ({@code keys ...} or {@code policy ...}). */
    public static boolean isCommand(String[] args) {
        return args.length > 0 && (args[0].equals("keys") || args[0].equals("policy"));
    }

    /** Runs one operator command and returns its exit code; never calls {@code System.exit}. */
    public static int run(String[] args, Config config, PrintStream out, PrintStream err) {
        List<String> list = Arrays.asList(args);
        if (list.isEmpty() || isHelp(list.get(0))) {
            (list.isEmpty() ? err : out).print(USAGE);
            return list.isEmpty() ? EXIT_USAGE : EXIT_OK;
        }
        String group = list.get(0);
        if (!group.equals("keys") && !group.equals("policy")) {
            err.println("api-router: unknown command '" + group + "'");
            err.print(USAGE);
            return EXIT_USAGE;
        }
        if (list.size() < 2 || isHelp(list.get(1))) {
            (list.size() < 2 ? err : out).print(USAGE);
            return list.size() < 2 ? EXIT_USAGE : EXIT_OK;
        }
        String command = list.get(1);
        List<String> rest = list.subList(2, list.size());
        if (rest.stream().anyMatch(Cli::isHelp)) {
            out.print(USAGE);
            return EXIT_OK;
        }
        try {
            try {
                Settings.Store store = Settings.from(config).store();
                if (group.equals("keys")) {
                    new KeyCommands(store, out, err).run(command, rest);
                } else {
                    new PolicyCommands(store, out, err).run(command, rest);
                }
            } catch (ConfigException e) { // from the settings, or etcd's TLS files read by the first etcd client
                throw CliException.usage(e.getMessage());
            }
            return EXIT_OK;
        } catch (CliException e) {
            err.println("api-router " + group + " " + command + ": " + e.getMessage());
            if (e.exitCode() == EXIT_USAGE) {
                err.println("Run 'java -jar api-router.jar --help' for usage.");
            }
            return e.exitCode();
        }
    }

    /**
     * For a process that only runs a command: all logging goes to standard error at WARN (standard output carries
     * results only, such as a new key), and the etcd/gRPC client libraries only report errors.
     */
    public static void quietLogging() {
        if (org.slf4j.LoggerFactory.getILoggerFactory() instanceof ch.qos.logback.classic.LoggerContext context) {
            ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
            root.detachAndStopAllAppenders();
            ch.qos.logback.classic.encoder.PatternLayoutEncoder encoder =
                    new ch.qos.logback.classic.encoder.PatternLayoutEncoder();
            encoder.setContext(context);
            encoder.setPattern("%level %logger{20}: %msg%n");
            encoder.start();
            ch.qos.logback.core.ConsoleAppender<ch.qos.logback.classic.spi.ILoggingEvent> appender =
                    new ch.qos.logback.core.ConsoleAppender<>();
            appender.setContext(context);
            appender.setTarget("System.err");
            appender.setEncoder(encoder);
            appender.start();
            root.addAppender(appender);
            root.setLevel(ch.qos.logback.classic.Level.WARN);
            for (String noisy : List.of("io.etcd", "io.grpc", "io.netty", "io.vertx")) {
                context.getLogger(noisy).setLevel(ch.qos.logback.classic.Level.ERROR);
            }
        }
    }

    private static boolean isHelp(String arg) {
        return arg.equals("--help") || arg.equals("-h") || arg.equals("help");
    }
}
