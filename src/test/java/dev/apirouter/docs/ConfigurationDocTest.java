package dev.apirouter.docs;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import dev.apirouter.config.Setting;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The configuration tables of {@code docs/configuration.md} cannot drift from the code: every {@link Setting} is
 * listed with its default from {@code application.properties}, and nothing is listed that the gateway does not read.
 * Rows of a table headed {@code | variable | default | meaning |} name one variable each, in backticks.
 */
class ConfigurationDocTest {
    static final String DOC = "docs/configuration.md";

    private static final Pattern HEADER = Pattern.compile("^\\|\\s*variable\\s*\\|\\s*default\\s*\\|\\s*meaning\\s*\\|\\s*$");
    private static final Pattern SEPARATOR = Pattern.compile("^\\|(\\s*:?-+:?\\s*\\|)+\\s*$");
    private static final Pattern VARIABLE = Pattern.compile("`([A-Z][A-Z0-9_]*)`");
    private static final Pattern CELL_SPLIT = Pattern.compile("(?<!\\\\)\\|");

    /** variable -> its default cell, in the order of the document. */
    static Map<String, String> table;
    static Properties defaults;

    @BeforeAll
    static void read() throws IOException {
        table = parse(Files.readAllLines(locate(DOC)));
        defaults = new Properties();
        try (InputStream in = Setting.class.getResourceAsStream("/application.properties")) {
            assertNotNull(in, "application.properties is not on the class path");
            defaults.load(in);
        }
    }

    @Test
    void everySettingIsDocumentedWithItsDefault() {
        List<String> problems = new ArrayList<>();
        for (Setting setting : Setting.values()) {
            String name = setting.envVar();
            String value = defaults.getProperty(setting.propertyKey());
            if (value == null) {
                problems.add(name + ": application.properties has no " + setting.propertyKey());
                continue;
            }
            String cell = table.get(name);
            if (cell == null) {
                problems.add(name + ": missing from the tables of " + DOC + " (default " + shown(value) + ")");
            } else if (!defaultMatches(cell, value.trim())) {
                problems.add(name + ": " + DOC + " gives the default '" + cell + "', application.properties "
                        + shown(value.trim()));
            }
        }
        if (!problems.isEmpty()) {
            fail(DOC + " is out of date:\n  " + String.join("\n  ", problems));
        }
    }

    @Test
    void everyDocumentedVariableIsReadByTheGateway() {
        Set<String> known = new TreeSet<>();
        for (Setting setting : EnumSet.allOf(Setting.class)) {
            known.add(setting.envVar());
        }
        List<String> unknown = table.keySet().stream().filter(v -> !known.contains(v)).toList();
        assertEquals(List.of(), unknown, DOC + " lists variables that dev.apirouter.config.Setting does not have");
    }

    @Test
    void parserReadsOneVariablePerRow() {
        Map<String, String> parsed = parse(List.of(
                "text", "| variable | default | meaning |", "|---|---|---|",
                "| `A_B` | `1` | x \\| y |", "| `C` | unset | z |", "", "| other | table |", "|---|---|", "| `D` | e |"));
        assertEquals(Map.of("A_B", "`1`", "C", "unset"), parsed);
        assertTrue(defaultMatches("`1`", "1"));
        assertTrue(defaultMatches("unset", ""));
        assertTrue(defaultMatches("derived: a quarter of the heap", ""));
        assertTrue(!defaultMatches("`2`", "1") && !defaultMatches("unset", "1") && !defaultMatches("`x`", ""));
    }

    /** A set default is shown as itself in backticks; an empty one as "unset" or "derived: how it is computed". */
    static boolean defaultMatches(String cell, String value) {
        if (value.isEmpty()) {
            return cell.equals("unset") || cell.startsWith("derived: ");
        }
        return cell.equals("`" + value + "`");
    }

    private static String shown(String value) {
        return value.isEmpty() ? "empty (document it as 'unset' or 'derived: ...')" : "'`" + value + "`'";
    }

    static Map<String, String> parse(List<String> lines) {
        Map<String, String> rows = new LinkedHashMap<>();
        boolean inTable = false;
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (HEADER.matcher(line).matches()) {
                inTable = true;
                if (i + 1 >= lines.size() || !SEPARATOR.matcher(lines.get(i + 1).strip()).matches()) {
                    fail(DOC + " line " + (i + 2) + ": a variable table's header must be followed by |---|---|---|");
                }
                i++;
                continue;
            }
            if (!line.startsWith("|")) {
                inTable = false;
                continue;
            }
            if (!inTable) {
                continue;
            }
            String[] cells = CELL_SPLIT.split(line.substring(1, line.endsWith("|") ? line.length() - 1 : line.length()), -1);
            if (cells.length != 3) {
                fail(DOC + " line " + (i + 1) + ": expected 3 cells, found " + cells.length + ": " + line);
            }
            var m = VARIABLE.matcher(cells[0].strip());
            if (!m.matches()) {
                fail(DOC + " line " + (i + 1) + ": the first cell must be one variable in backticks: " + cells[0].strip());
            }
            if (rows.put(m.group(1), cells[1].strip()) != null) {
                fail(DOC + ": " + m.group(1) + " is listed twice");
            }
        }
        return rows;
    }

    /** The file, from the working directory or the nearest directory above it that has it (module builds). */
    static Path locate(String relative) {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve(relative);
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        throw new AssertionError(relative + " not found from " + Path.of("").toAbsolutePath());
    }
}
