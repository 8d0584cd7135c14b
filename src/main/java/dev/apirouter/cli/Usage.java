package dev.apirouter.cli;

import picocli.CommandLine;
import picocli.CommandLine.HelpCommand;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.UsageMessageSpec;

/**
 * How the commands present themselves: {@code -h/--help} and {@code help} on every command, options in the order
 * written, and the top-level usage listing every command with its options (as {@code keys create --name NAME ...}).
 */
final class Usage {
    private static final int WIDTH = 100;
    private static final String INDENT = "        ";

    private Usage() {
    }

    static void configure(CommandLine root) {
        for (CommandLine group : root.getSubcommands().values()) {
            if (isHelp(group)) {
                continue;
            }
            if (isLeaf(group)) { // a command of its own at the top level, such as 'fleet'
                addHelpOption(group, true);
                CommandLine help = new CommandLine(new HelpCommand());
                help.getCommandSpec().usageMessage().hidden(true);
                group.addSubcommand("help", help);
                group.getCommandSpec().usageMessage().synopsisSubcommandLabel("");
                continue;
            }
            addHelpOption(group, false);
            for (CommandLine command : group.getSubcommands().values()) {
                if (isHelp(command)) {
                    continue;
                }
                // shown in the option lists of groups; on a command it would only clutter its synopsis
                addHelpOption(command, true);
                CommandLine help = new CommandLine(new HelpCommand());
                help.getCommandSpec().usageMessage().hidden(true);
                command.addSubcommand("help", help);
                command.getCommandSpec().usageMessage().synopsisSubcommandLabel("");
            }
        }
        root.setUsageHelpWidth(WIDTH);
        order(root);
        root.getHelpSectionMap().put(UsageMessageSpec.SECTION_KEY_COMMAND_LIST, help -> commandList(root));
    }

    private static void addHelpOption(CommandLine command, boolean hidden) {
        command.getCommandSpec().addOption(OptionSpec.builder("-h", "--help").usageHelp(true).hidden(hidden)
                .description("Show this help message and exit.").build());
    }

    private static void order(CommandLine command) {
        command.getCommandSpec().usageMessage().sortOptions(false).sortSynopsis(false);
        command.getSubcommands().values().forEach(Usage::order);
    }

    /** Every command of every group: its synopsis, then its description. */
    private static String commandList(CommandLine root) {
        StringBuilder list = new StringBuilder();
        for (CommandLine group : root.getSubcommands().values()) {
            if (isHelp(group)) {
                continue;
            }
            if (isLeaf(group)) {
                list.append("  ").append(synopsis(group)).append('\n');
                for (String line : group.getCommandSpec().usageMessage().description()) {
                    list.append(INDENT).append(line).append('\n');
                }
                continue;
            }
            for (CommandLine command : group.getSubcommands().values()) {
                if (isHelp(command)) {
                    continue;
                }
                list.append("  ").append(synopsis(command)).append('\n');
                for (String line : command.getCommandSpec().usageMessage().description()) {
                    list.append(INDENT).append(line).append('\n');
                }
            }
        }
        list.append("  help [COMMAND]\n").append(INDENT)
                .append("The usage of a command: 'help keys', 'keys help create'; -h or --help after any command.\n");
        return list.toString();
    }

    /** {@code keys create --name NAME ...}: the synopsis without the program's name. */
    private static String synopsis(CommandLine command) {
        String synopsis = command.getHelp().synopsis(0).strip();
        return synopsis.substring(synopsis.indexOf(' ') + 1);
    }

    /** A top-level command with no commands under it (not a group). */
    private static boolean isLeaf(CommandLine command) {
        return command.getSubcommands().values().stream().allMatch(Usage::isHelp);
    }

    private static boolean isHelp(CommandLine command) {
        return command.getCommandSpec().helpCommand();
    }
}
