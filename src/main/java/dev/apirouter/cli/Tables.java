package dev.apirouter.cli;

import java.io.PrintStream;
import java.util.List;

/** Plain-text tables of the CLI's listings: columns padded to their widest cell, two spaces apart. */
final class Tables {
    private Tables() {
    }

    /** Prints {@code rows} (the first is the header) to {@code out}. */
    static void print(PrintStream out, List<String[]> rows) {
        int[] width = new int[rows.get(0).length];
        for (String[] row : rows) {
            for (int i = 0; i < row.length; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        for (String[] row : rows) {
            StringBuilder line = new StringBuilder();
            for (int i = 0; i < row.length; i++) {
                line.append(row[i]);
                if (i < row.length - 1) {
                    line.append(" ".repeat(width[i] - row[i].length() + 2));
                }
            }
            out.println(line.toString().stripTrailing());
        }
    }
}
