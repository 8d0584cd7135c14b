package dev.apirouter.upload;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * The {@code ; name=value} parameters of a header value (Content-Type, Content-Disposition): names case-insensitive,
 * values as tokens or quoted strings (a quoted value may hold {@code ;}, and {@code \"} escapes).
 */
final class Parameters {
    private final Map<String, String> values;

    private Parameters(Map<String, String> values) {
        this.values = values;
    }

    /** Parses what follows the header value's first {@code ;}. */
    static Parameters of(String text) {
        Map<String, String> values = new HashMap<>();
        int i = 0;
        int n = text.length();
        while (i < n) {
            while (i < n && (text.charAt(i) == ' ' || text.charAt(i) == '\t' || text.charAt(i) == ';')) {
                i++;
            }
            int nameStart = i;
            while (i < n && text.charAt(i) != '=' && text.charAt(i) != ';') {
                i++;
            }
            String name = text.substring(nameStart, i).trim().toLowerCase(Locale.ROOT);
            if (i >= n || text.charAt(i) == ';') {
                continue; // a parameter without a value
            }
            i++; // '='
            while (i < n && text.charAt(i) == ' ') {
                i++;
            }
            StringBuilder value = new StringBuilder();
            if (i < n && text.charAt(i) == '"') {
                i++;
                while (i < n && text.charAt(i) != '"') {
                    if (text.charAt(i) == '\\' && i + 1 < n) {
                        i++;
                    }
                    value.append(text.charAt(i++));
                }
                i++; // closing quote
                while (i < n && text.charAt(i) != ';') {
                    i++;
                }
            } else {
                int valueStart = i;
                while (i < n && text.charAt(i) != ';') {
                    i++;
                }
                value.append(text, valueStart, i);
                int end = value.length();
                while (end > 0 && (value.charAt(end - 1) == ' ' || value.charAt(end - 1) == '\t')) {
                    end--;
                }
                value.setLength(end);
            }
            values.putIfAbsent(name, value.toString());
        }
        return new Parameters(values);
    }

    /** The value of {@code name} (lower case), null when absent. */
    String get(String name) {
        return values.get(name);
    }
}
