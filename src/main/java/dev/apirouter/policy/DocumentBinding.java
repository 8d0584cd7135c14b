package dev.apirouter.policy;

import java.util.Collection;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.InputCoercionException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.CoercionAction;
import com.fasterxml.jackson.databind.cfg.CoercionInputShape;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.type.LogicalType;

/**
 * Binds a document's JSON tree to its record ({@link ModelDocument}, {@link KeyDocument}) strictly: an unknown field
 * or a value of the wrong JSON type is refused, never coerced (no {@code "5"} for 5, no 5 for {@code "5"}, no 1.5
 * for a whole number). Jackson's errors become messages that give the field's path and what it must be, and never the
 * value (it may be a secret pasted in the wrong place).
 */
final class DocumentBinding {
    private static final ObjectMapper STRICT = strictMapper();

    private DocumentBinding() {
    }

    /**
     * @param label what the document is ("model policy", "key record"), for messages about the document as a whole
     */
    static <T> T bind(JsonNode doc, Class<T> type, String label) throws InvalidDocumentException {
        T bound;
        try {
            bound = STRICT.treeToValue(doc, type);
        } catch (UnrecognizedPropertyException e) {
            List<JsonMappingException.Reference> path = e.getPath();
            String where = describe(path.subList(0, Math.max(0, path.size() - 1)), label);
            throw new InvalidDocumentException(where + " has an unknown field '" + e.getPropertyName() + "' (allowed: "
                    + String.join(", ", e.getKnownPropertyIds().stream().map(String::valueOf).sorted().toList()) + ")");
        } catch (JsonMappingException e) {
            throw new InvalidDocumentException(describe(e.getPath(), label) + " must be " + expected(e));
        } catch (JsonProcessingException e) {
            throw new InvalidDocumentException(label + " is unreadable: " + e.getClass().getSimpleName());
        }
        if (bound == null) {
            throw new InvalidDocumentException(label + " must be a JSON object");
        }
        return bound;
    }

    /** The message name of a field: {@code 'name'} at the top of a document, {@code parent.name} below it. */
    static String field(String parent, String name) {
        return parent.isEmpty() ? "'" + name + "'" : parent + "." + name;
    }

    /** An optional text field: absent or null is empty; present, it must be a non-blank string. */
    static Optional<String> optionalText(String value, String where) throws InvalidDocumentException {
        if (value != null && value.isBlank()) {
            throw new InvalidDocumentException(where + " must be a non-empty string");
        }
        return Optional.ofNullable(value);
    }

    private static String describe(List<JsonMappingException.Reference> path, String label) {
        if (path.isEmpty()) {
            return label;
        }
        if (path.size() == 1 && path.get(0).getFieldName() != null) {
            return field("", path.get(0).getFieldName());
        }
        StringBuilder where = new StringBuilder();
        for (JsonMappingException.Reference ref : path) {
            if (ref.getFieldName() != null) {
                where.append(where.isEmpty() ? "" : ".").append(ref.getFieldName());
            } else {
                where.append('[').append(ref.getIndex()).append(']');
            }
        }
        return where.toString();
    }

    private static String expected(JsonMappingException e) {
        Class<?> target = e instanceof MismatchedInputException m ? m.getTargetType()
                : e.getCause() instanceof InputCoercionException c ? c.getTargetType() : null;
        if (target == null) {
            return "a value of the right type";
        }
        if (target == String.class) {
            return "a non-empty string";
        }
        if (target == Integer.class || target == int.class || target == Long.class || target == long.class) {
            return "a whole number" + (e.getCause() instanceof InputCoercionException ? " in range" : "");
        }
        if (target == Double.class || target == double.class) {
            return "a number";
        }
        if (target == Boolean.class || target == boolean.class) {
            return "true or false";
        }
        if (Collection.class.isAssignableFrom(target)) {
            return "an array";
        }
        return "a JSON object";
    }

    private static ObjectMapper strictMapper() {
        JsonMapper mapper = JsonMapper.builder()
                .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
                .build();
        for (LogicalType type : new LogicalType[] {LogicalType.Textual, LogicalType.Integer, LogicalType.Boolean}) {
            mapper.coercionConfigFor(type)
                    .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
                    .setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail);
        }
        return mapper;
    }
}
