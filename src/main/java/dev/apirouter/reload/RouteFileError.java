package dev.apirouter.reload;

/**
 * Why a route file was rejected: where in the file (1-based line and column, 0 when unknown) and the cause, on one
 * line. A {@link Kind#CONFLICT} depends on the other files too (a route id or path another file already uses), so
 * it is retried when another file changes; an {@link Kind#INVALID} file is retried only when it changes.
 */
final class RouteFileError extends Exception {
    enum Kind { INVALID, CONFLICT }

    private final String file;
    private final int line;
    private final int column;
    private final String cause;
    private final Kind kind;

    RouteFileError(String file, int line, int column, String cause, Kind kind) {
        super(file + position(line, column) + ": " + cause, null, false, false);
        this.file = file;
        this.line = line;
        this.column = column;
        this.cause = oneLine(cause);
        this.kind = kind;
    }

    String file() {
        return file;
    }

    int line() {
        return line;
    }

    int column() {
        return column;
    }

    /** The cause, on one line. */
    String reason() {
        return cause;
    }

    Kind kind() {
        return kind;
    }

    /** {@code line 6, column 13: expected ...}, or just the cause when the position is unknown. */
    String describe() {
        String where = position(line, column);
        return where.isEmpty() ? cause : where.substring(2) + ": " + cause;
    }

    static String position(int line, int column) {
        if (line <= 0) {
            return "";
        }
        return column > 0 ? ", line " + line + ", column " + column : ", line " + line;
    }

    static String oneLine(String text) {
        if (text == null || text.isBlank()) {
            return "unknown error";
        }
        String line = text.replaceAll("\\s*[\\r\\n]+\\s*", " ").trim();
        return line.endsWith(".") ? line.substring(0, line.length() - 1) : line;
    }
}
