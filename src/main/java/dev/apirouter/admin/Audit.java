package dev.apirouter.admin;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One line per change made through the admin API, on its own logger ({@code dev.apirouter.audit}) so that it can
 * be routed or kept apart: who (the admin token's label), what, on what, and the etcd revision. Never key material:
 * targets are key and model names.
 */
final class Audit {
    static final String LOGGER = "dev.apirouter.audit";
    private static final Logger LOG = LoggerFactory.getLogger(LOGGER);

    private final String admin;

    Audit(String adminLabel) {
        this.admin = adminLabel;
    }

    void changed(Outcome outcome) {
        LOG.info("audit admin={} action={} target={} records={} revision={}", admin, outcome.action(),
                quoted(outcome.target()), outcome.records(), outcome.revision());
    }

    /** A name as one token of the line: quoted when it holds a space, a quote or '=', so the line stays parseable. */
    static String quoted(String target) {
        if (target.chars().noneMatch(c -> c == ' ' || c == '"' || c == '=' || c < 0x20)) {
            return target;
        }
        return '"' + target.replace("\\", "\\\\").replace("\"", "\\\"").replaceAll("\\p{Cntrl}", "?") + '"';
    }
}
