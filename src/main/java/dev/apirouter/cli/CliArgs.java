package dev.apirouter.cli;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The arguments of one command: {@code --option value} or {@code --option=value}, flags, and positionals. */
final class CliArgs {
    private final Map<String, String> options = new HashMap<>();
    private final List<String> positionals = new ArrayList<>();

    private CliArgs() {
    }

    /**
     * Parses {@code args}; {@code valued} names the options that take a value, {@code flags} those that do not. Any
     * other {@code --name} is a usage error.
     */
    static CliArgs parse(List<String> args, Set<String> valued, Set<String> flags) throws CliException {
        CliArgs parsed = new CliArgs();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (!arg.startsWith("--") || arg.equals("--")) {
                parsed.positionals.add(arg);
                continue;
            }
            String name = arg.substring(2);
            String value = null;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            }
            if (flags.contains(name)) {
                if (value != null) {
                    throw CliException.usage("--" + name + " takes no value");
                }
                parsed.options.put(name, "true");
            } else if (valued.contains(name)) {
                if (value == null) {
                    if (i + 1 >= args.size() || args.get(i + 1).startsWith("--")) {
                        throw CliException.usage("--" + name + " needs a value");
                    }
                    value = args.get(++i);
                }
                if (parsed.options.put(name, value) != null) {
                    throw CliException.usage("--" + name + " is given twice");
                }
            } else {
                throw CliException.usage("unknown option --" + name);
            }
        }
        return parsed;
    }

    Optional<String> option(String name) {
        return Optional.ofNullable(options.get(name));
    }

    String required(String name) throws CliException {
        String v = options.get(name);
        if (v == null || v.isBlank()) {
            throw CliException.usage("--" + name + " is required");
        }
        return v.trim();
    }

    boolean flag(String name) {
        return options.containsKey(name);
    }

    List<String> positionals() {
        return positionals;
    }

    void noPositionals() throws CliException {
        if (!positionals.isEmpty()) {
            throw CliException.usage("unexpected argument '" + positionals.get(0) + "'");
        }
    }
}
