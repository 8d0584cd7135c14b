package dev.apirouter.config;

/** A setting whose value cannot be used; the message names the environment variable. */
public final class ConfigException extends RuntimeException {
    public ConfigException(Setting setting, String problem) {
        super(setting.envVar() + " " + problem);
    }
}
