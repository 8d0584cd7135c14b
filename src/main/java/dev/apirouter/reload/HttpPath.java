package dev.apirouter.reload;

import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

import org.apache.camel.component.platform.http.PlatformHttpEndpoint;

/** The HTTP path and methods of a platform-http route, for clash detection. */
record HttpPath(String path, boolean prefix, Set<String> methods) {
    private static final Pattern PARAMETER = Pattern.compile("\\{[^/}]*}");

    static HttpPath of(PlatformHttpEndpoint endpoint) {
        Set<String> methods = new TreeSet<>();
        if (endpoint.getHttpMethodRestrict() != null) {
            for (String m : endpoint.getHttpMethodRestrict().split(",")) {
                if (!m.isBlank()) {
                    methods.add(m.trim().toUpperCase(Locale.ROOT));
                }
            }
        }
        return new HttpPath(endpoint.getPath(), endpoint.isMatchOnUriPrefix(), methods);
    }

    boolean clashesWith(HttpPath other) {
        if (prefix != other.prefix || !PARAMETER.matcher(path).replaceAll("{}")
                .equals(PARAMETER.matcher(other.path).replaceAll("{}"))) {
            return false;
        }
        if (methods.isEmpty() || other.methods.isEmpty()) {
            return true;
        }
        return methods.stream().anyMatch(other.methods::contains);
    }

    String describe() {
        return (methods.isEmpty() ? "any method" : String.join(",", methods)) + " " + path + (prefix ? "*" : "");
    }
}
