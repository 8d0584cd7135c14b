package dev.apirouter;

import dev.apirouter.cli.Cli;
import dev.apirouter.config.Config;
import dev.apirouter.config.ConfigException;
import dev.apirouter.config.Settings;
import dev.apirouter.config.Version;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Entry point. Logging is configured before anything else, from the environment alone, so the first line is out
 * before any network activity. With arguments the process runs one operator command ({@link Cli}) and exits; without
 * any, the settings are bound and the gateway starts.
 */
public final class Main {
    private Main() {
    }

    public static void main(String[] args) {
        long startNanos = System.nanoTime();
        Config config;
        try {
            config = Config.fromEnvironment();
            Logging.configure(config, args.length > 0);
        } catch (RuntimeException e) {
            System.err.println("api-router: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (args.length > 0) {
            System.exit(Cli.run(args, config, System.out, System.err));
            return;
        }
        Logger log = LoggerFactory.getLogger(Main.class);
        Settings settings;
        Gateway gateway;
        try {
            settings = Settings.from(config);
            gateway = new Gateway(settings, startNanos);
        } catch (ConfigException e) {
            log.error("Invalid configuration: {}", e.getMessage());
            System.exit(2);
            return;
        }
        log.info("api-router {} starting: port {}, management port {}, store {}, routes {}, tracing {}",
                Version.current(), settings.http().port(), settings.management().port(), settings.store().describe(),
                settings.routesDir(),
                settings.telemetry().endpoint().map(e -> "to " + e).orElse("off"));
        int exit = gateway.run();
        System.exit(exit);
    }
}
