package dev.apirouter.config;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * Resolves a {@link Setting}: the environment variable when it is set and non-empty, else the default from
 * {@code application.properties}, else absent. Blank values count as unset everywhere.
 */
public final class Config {
    static final String DEFAULTS_RESOURCE = "application.properties";

    private final Map<String, String> env;
    private final Properties defaults;

    public Config(Map<String, String> env, Properties defaults) {
        this.env = Map.copyOf(env);
        this.defaults = defaults;
    }

    /** The process environment over the bundled defaults. */
    public static Config fromEnvironment() {
        return new Config(System.getenv(), bundledDefaults());
    }

    public static Properties bundledDefaults() {
        Properties properties = new Properties();
        try (InputStream in = Config.class.getClassLoader().getResourceAsStream(DEFAULTS_RESOURCE)) {
            if (in != null) {
                properties.load(in);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + DEFAULTS_RESOURCE, e);
        }
        return properties;
    }

    public Optional<String> get(Setting setting) {
        return nonBlank(env.get(setting.envVar())).or(() -> nonBlank(defaults.getProperty(setting.propertyKey())));
    }

    public String require(Setting setting) {
        return get(setting).orElseThrow(() -> new ConfigException(setting, "is required and has no default"));
    }

    public int intValue(Setting setting) {
        String raw = require(setting);
        try {
            return Integer.parseInt(raw);
        } catch (NumberFormatException e) {
            throw new ConfigException(setting, "must be a whole number, got '" + raw + "'");
        }
    }

    public long longValue(Setting setting) {
        String raw = require(setting);
        try {
            return Long.parseLong(raw);
        } catch (NumberFormatException e) {
            throw new ConfigException(setting, "must be a whole number, got '" + raw + "'");
        }
    }

    public boolean booleanValue(Setting setting) {
        String raw = require(setting);
        if (raw.equalsIgnoreCase("true") || raw.equalsIgnoreCase("false")) {
            return Boolean.parseBoolean(raw);
        }
        throw new ConfigException(setting, "must be true or false, got '" + raw + "'");
    }

    private static Optional<String> nonBlank(String value) {
        return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.trim());
    }
}
