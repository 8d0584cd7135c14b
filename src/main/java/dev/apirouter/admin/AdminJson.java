package dev.apirouter.admin;

import java.io.IOException;
import java.util.Iterator;
import java.util.Set;
import java.util.TreeSet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.apirouter.error.ErrorCode;
import dev.apirouter.error.GatewayException;
import dev.apirouter.policy.PolicyDocuments;

/** Reading the admin API's request bodies: JSON objects with known fields, or a {@code 400} that says what is wrong. */
final class AdminJson {
    static final ObjectMapper JSON = PolicyDocuments.JSON;

    private AdminJson() {
    }

    /** The body as JSON; an empty body is {@code null}. */
    static JsonNode parse(String body) {
        if (body == null || body.isBlank()) {
            return null;
        }
        try {
            return JSON.readTree(body);
        } catch (IOException e) {
            throw new GatewayException(ErrorCode.INVALID_REQUEST, "The body is not JSON.");
        }
    }

    /** {@code body} as an object (a copy the caller may change), else {@code 400} naming what it should be. */
    static ObjectNode object(JsonNode body, String what) {
        if (body == null || !body.isObject()) {
            throw new GatewayException(ErrorCode.INVALID_REQUEST, "The body must be a JSON object: the " + what + ".");
        }
        return body.deepCopy();
    }

    /** {@code 400} for the first field not in {@code allowed}. */
    static void onlyFields(ObjectNode node, Set<String> allowed, String what) {
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String field = it.next();
            if (!allowed.contains(field)) {
                throw new GatewayException(ErrorCode.INVALID_REQUEST, "The " + what + " has an unknown field '" + field
                        + "' (allowed: " + String.join(", ", new TreeSet<>(allowed)) + ").");
            }
        }
    }
}
