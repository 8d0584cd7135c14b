package dev.apirouter.cli;

/** Ends an operator command with an exit code and a message for standard error. */
final class CliException extends Exception {
    private final int exitCode;

    CliException(int exitCode, String message) {
        super(message, null, false, false);
        this.exitCode = exitCode;
    }

    static CliException usage(String message) {
        return new CliException(Cli.EXIT_USAGE, message);
    }

    static CliException invalid(String message) {
        return new CliException(Cli.EXIT_INVALID, message);
    }

    static CliException unreachable(String message) {
        return new CliException(Cli.EXIT_ETCD, message);
    }

    int exitCode() {
        return exitCode;
    }
}
