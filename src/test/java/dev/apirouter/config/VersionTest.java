package dev.apirouter.config;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class VersionTest {
    @Test
    void withoutAJarManifestTheVersionIsDev() {
        assertEquals("dev", Version.current());
    }
}
