package dev.apirouter;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.jul.LevelChangePropagator;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.spi.ContextAwareBase;

/**
 * The gateway's logging configuration, the only one (there is no {@code logback.xml}): a console appender, text
 * ({@link #PATTERN}) or JSON (one object per line) as {@code LOG_FORMAT} says, the root at {@code LOG_LEVEL},
 * Netty and gRPC at WARN, and JUL levels following logback's. {@link Logging} turns the two variables into system
 * properties before the first logger exists. Done in code rather than XML so that no XML parsing (Joran: about half
 * a second on a loaded 2-core machine) comes before the first log line. Found by logback through
 * {@code META-INF/services}; an explicit {@code -Dlogback.configurationFile} still wins (then that file is read as
 * usual). Never log API keys or Authorization headers.
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class FastLogbackConfigurator extends ContextAwareBase implements Configurator {
    static final String PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX} %-5level [%thread] %logger{36} - %msg%n";
    static final String COMMAND_PATTERN = "%level %logger{20}: %msg%n";

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (System.getProperty("logback.configurationFile") != null) {
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        LevelChangePropagator jul = new LevelChangePropagator();
        jul.setContext(context);
        jul.setResetJUL(true);
        context.addListener(jul);
        jul.start();

        if (Boolean.getBoolean(Logging.COMMAND_PROPERTY)) {
            return forCommand(context);
        }
        boolean json = "json".equals(System.getProperty(Logging.FORMAT_PROPERTY));
        Encoder<ILoggingEvent> encoder;
        if (json) {
            JsonEncoder e = new JsonEncoder();
            e.setWithSequenceNumber(false);
            e.setWithNanoseconds(false);
            e.setWithContext(false);
            e.setWithMDC(false);
            e.setWithKVPList(false);
            encoder = e;
        } else {
            PatternLayoutEncoder e = new PatternLayoutEncoder();
            e.setPattern(PATTERN);
            encoder = e;
        }
        encoder.setContext(context);
        encoder.start();
        ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        console.setContext(context);
        console.setName(json ? "json" : "text");
        console.setEncoder(encoder);
        console.start();

        context.getLogger("io.netty").setLevel(Level.WARN);
        context.getLogger("io.grpc").setLevel(Level.WARN);
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(System.getProperty(Logging.LEVEL_PROPERTY, "INFO"), Level.INFO));
        root.addAppender(console);
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /**
     * For a process that only runs an operator command: everything to standard error at WARN in a short layout
     * (standard output carries results only, such as a new key), the etcd/gRPC client libraries only their errors.
     */
    private static ExecutionStatus forCommand(LoggerContext context) {
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setPattern(COMMAND_PATTERN);
        encoder.setContext(context);
        encoder.start();
        ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        console.setContext(context);
        console.setName("command");
        console.setTarget("System.err");
        console.setEncoder(encoder);
        console.start();
        ch.qos.logback.classic.Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.WARN);
        root.addAppender(console);
        for (String noisy : new String[] {"io.etcd", "io.grpc", "io.netty", "io.vertx"}) {
            context.getLogger(noisy).setLevel(Level.ERROR);
        }
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }
}
