package dev.apirouter.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.apirouter.config.Settings;
import dev.apirouter.policy.InvalidDocumentException;
import dev.apirouter.policy.PolicyDocuments;
import dev.apirouter.policy.PolicyFile;

/** Reading files for the operator commands: the policy file (without etcd) and documents given on the command line. */
final class PolicyFiles {
    private PolicyFiles() {
    }

    static String path(Settings.Store store) {
        return store.policyFile().map(Path::toString).orElse("ROUTER_POLICY_FILE");
    }

    /** The policy file named by ROUTER_POLICY_FILE, parsed; a usage error when there is none. */
    static JsonNode read(Settings.Store store) throws CliException {
        Path file = store.policyFile().orElseThrow(() -> CliException.usage(
                "neither ETCD_ENDPOINTS nor ROUTER_POLICY_FILE is set: set ETCD_ENDPOINTS to use etcd, or"
                        + " ROUTER_POLICY_FILE to read a policy file"));
        byte[] content = readBytes(file);
        try {
            return PolicyFile.parse(content);
        } catch (InvalidDocumentException e) {
            throw CliException.invalid("policy file " + file + ": " + e.getMessage());
        }
    }

    static byte[] readBytes(Path file) throws CliException {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw CliException.invalid(file + " does not exist");
        } catch (IOException e) {
            throw CliException.invalid("cannot read " + file + ": " + e.getMessage());
        }
    }

    static String pretty(JsonNode node) {
        try {
            return PolicyDocuments.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
