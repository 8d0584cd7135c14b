package dev.apirouter.cli;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Callable;

import dev.apirouter.config.Version;
import dev.apirouter.config.Config;
import dev.apirouter.config.ConfigException;
import dev.apirouter.config.Settings;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The operator commands in the gateway's jar: {@code keys create|list|revoke}, {@code policy
 * put|get|delete|validate} and {@code fleet}. With {@code ETCD_ENDPOINTS} set they act on etcd (same prefix, timeouts and deadlines
 * as the gateway); without it they print what to write in the policy file, or read it.
 *
 * <p>Exit codes: 0 done (and help, version), 1 usage error (an unknown command or option, a missing one), 2 invalid
 * input (a document that does not validate, a name that matches nothing), 3 etcd unreachable or too slow, 4 not
 * confirmed ({@code --wait}: the change is stored, some replica did not apply it in time). Results and
 * help go to standard output, notes and errors (usage errors with the usage) to standard error, so
 * {@code KEY=$(java -jar api-router.jar keys create ...)} captures exactly the new key.
 */
public final class Cli {
    public static final int EXIT_OK = 0;
    public static final int EXIT_USAGE = 1;
    public static final int EXIT_INVALID = 2;
    public static final int EXIT_ETCD = 3;
    /** {@code --wait}: the change is stored, but not every replica confirmed it within the timeout. */
    public static final int EXIT_NOT_CONFIRMED = 4;

    static final String NAME = "api-router";

    private Cli() {
    }

    /** Runs one operator command and returns its exit code; never calls {@code System.exit}. */
    public static int run(String[] args, Config config, PrintStream out, PrintStream err) {
        PrintWriter outWriter = new PrintWriter(out, true, StandardCharsets.UTF_8);
        PrintWriter errWriter = new PrintWriter(err, true, StandardCharsets.UTF_8);
        CommandLine cli = commandLine(config, out, err);
        cli.setOut(outWriter);
        cli.setErr(errWriter);
        cli.setParameterExceptionHandler((e, a) -> usageError(e, errWriter));
        cli.setExecutionExceptionHandler((e, command, parsed) -> failed(e, command, errWriter));
        try {
            return cli.execute(args);
        } finally {
            outWriter.flush();
            errWriter.flush();
        }
    }

    /** The command tree: the root, its groups, their commands; {@code help} and {@code -h/--help} on each. */
    private static CommandLine commandLine(Config config, PrintStream out, PrintStream err) {
        CommandLine root = new CommandLine(new Root())
                .addSubcommand(new CommandLine(new KeyCommands(config, out, err)))
                .addSubcommand(new CommandLine(new PolicyCommands(config, out, err)))
                .addSubcommand(new CommandLine(new FleetCommand(config, out, err)));
        root.getCommandSpec().version(NAME + " " + Version.current());
        Usage.configure(root);
        root.setExpandAtFiles(false); // '@file' is a value like any other, never a file of arguments
        root.setSeparator(" ");
        return root;
    }

    /** The store the commands act on, bound from the configuration when a command needs it (never for help). */
    static Settings.Store store(Config config) throws CliException {
        try {
            return Settings.from(config).store();
        } catch (ConfigException e) {
            throw CliException.usage(e.getMessage());
        }
    }

    /** A command word or option that is unknown, missing or malformed: the reason and the usage, exit 1. */
    private static int usageError(ParameterException e, PrintWriter err) {
        err.println(NAME + ": " + e.getMessage());
        CommandLine.UnmatchedArgumentException.printSuggestions(e, err);
        err.println();
        e.getCommandLine().usage(err);
        return EXIT_USAGE;
    }

    private static int failed(Exception e, CommandLine command, PrintWriter err) throws Exception {
        if (e instanceof ConfigException config) { // etcd's TLS files, read when the first etcd client is built
            return failed(CliException.usage(config.getMessage()), command, err);
        }
        if (!(e instanceof CliException failure)) {
            throw e;
        }
        err.println(command.getCommandSpec().qualifiedName(" ") + ": " + failure.getMessage());
        if (failure.exitCode() == EXIT_USAGE) {
            err.println("Run 'java -jar api-router.jar " + command.getCommandSpec().qualifiedName(" ")
                    .substring(NAME.length()).trim() + " --help' for usage.");
        }
        return failure.exitCode();
    }

    /** A group without a command: a usage error. */
    static ParameterException commandNeeded(CommandSpec spec) {
        return new ParameterException(spec.commandLine(), "'" + spec.qualifiedName(" ").substring(NAME.length()).trim()
                + "' needs a command");
    }

    @Command(name = NAME, mixinStandardHelpOptions = true, subcommands = HelpCommand.class,
            description = {"Operator commands of the gateway's jar: java -jar api-router.jar COMMAND [OPTIONS].",
                    "Without arguments the jar starts the gateway."},
            footer = {"",
                    "Where: ETCD_ENDPOINTS set: etcd under ROUTER_ETCD_PREFIX (default /api-router/), bounded by",
                    "ROUTER_ETCD_CONNECT_TIMEOUT_MS and ROUTER_ETCD_CALL_TIMEOUT_MS, with the gateway's etcd auth and",
                    "TLS (ETCD_USERNAME, ETCD_PASSWORD, ETCD_CACERT, ETCD_CERT, ETCD_KEY; https:// endpoints for TLS).",
                    "Unset: the policy file (ROUTER_POLICY_FILE) is read, and changes are printed for you to paste",
                    "into it.",
                    "",
                    "Exit codes: 0 ok, 1 usage error, 2 invalid input, 3 etcd unreachable or timed out,",
                    "4 not confirmed (--wait: the change is stored, but some replica did not apply it in time)."})
    static final class Root implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            throw new ParameterException(spec.commandLine(), "a command is needed");
        }
    }
}
