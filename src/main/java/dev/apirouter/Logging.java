package dev.apirouter;

import java.util.Locale;
import java.util.Set;

import dev.apirouter.config.Config;
import dev.apirouter.config.ConfigException;
import dev.apirouter.config.Setting;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * Static logging set-up, done first: {@code LOG_LEVEL} and {@code LOG_FORMAT} become the system properties that
 * {@link FastLogbackConfigurator} reads, and the libraries that log elsewhere (Vert.x, gRPC through JUL) are sent to SLF4J.
 * Nothing here touches the network.
 */
final class Logging {
    static final String LEVEL_PROPERTY = "apirouter.log.level";
    static final String FORMAT_PROPERTY = "apirouter.log.format";
    /** Set for a process that runs one operator command: see {@link FastLogbackConfigurator}. */
    static final String COMMAND_PROPERTY = "apirouter.log.command";
    private static final Set<String> LEVELS = Set.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");
    private static final Set<String> FORMATS = Set.of("text", "json");

    private Logging() {
    }

    /** {@code command}: the process runs one operator command, whose standard output carries only its result. */
    static void configure(Config config, boolean command) {
        String level = config.require(Setting.LOG_LEVEL).toUpperCase(Locale.ROOT);
        if (!LEVELS.contains(level)) {
            throw new ConfigException(Setting.LOG_LEVEL, "must be one of " + LEVELS + ", got '" + level + "'");
        }
        String format = config.require(Setting.LOG_FORMAT).toLowerCase(Locale.ROOT);
        if (!FORMATS.contains(format)) {
            throw new ConfigException(Setting.LOG_FORMAT, "must be text or json, got '" + format + "'");
        }
        System.setProperty(LEVEL_PROPERTY, level);
        System.setProperty(FORMAT_PROPERTY, format);
        if (command) {
            System.setProperty(COMMAND_PROPERTY, "true");
        }
        System.setProperty("vertx.logger-delegate-factory-class-name", "io.vertx.core.logging.SLF4JLogDelegateFactory");
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
    }
}
