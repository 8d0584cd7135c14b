package dev.apirouter.policy;

import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The contract's API key record as it is stored (etcd {@code keys/<sha256>}, the policy file's {@code keys} map),
 * bound by {@link DocumentBinding}: a field here is a field of the document, and any other field is refused.
 * Absent optional fields are null; {@link #toRecord} validates the values and applies the defaults.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record KeyDocument(String name, List<String> models, Boolean disabled, String expiresAt, LimitsEntry limits) {
    static final String LABEL = "key record";

    static KeyDocument of(KeyRecord key) {
        return new KeyDocument(key.name(), List.copyOf(key.models()), key.disabled(),
                key.expiresAt().map(Instant::toString).orElse(null),
                key.limits().map(l -> LimitsEntry.of(l.all(), l.models())).orElse(null));
    }

    KeyRecord toRecord() throws InvalidDocumentException {
        String n = DocumentBinding.optionalText(name, DocumentBinding.field("", "name")).orElse("");
        if (models == null) {
            throw new InvalidDocumentException("'models' must be an array of model names (or [\"*\"])");
        }
        Set<String> allowed = new LinkedHashSet<>();
        for (String model : models) {
            if (model == null || model.isBlank()) {
                throw new InvalidDocumentException("'models' must hold non-empty strings");
            }
            allowed.add(model);
        }
        Optional<Instant> expires;
        try {
            expires = DocumentBinding.optionalText(expiresAt, DocumentBinding.field("", "expiresAt")).map(Instant::parse);
        } catch (DateTimeParseException e) {
            throw new InvalidDocumentException("'expiresAt' must be an ISO-8601 instant such as 2027-01-01T00:00:00Z");
        }
        if (limits != null && n.isEmpty()) {
            throw new InvalidDocumentException("a key with 'limits' needs a 'name': its counters are kept by name");
        }
        return new KeyRecord(n, allowed, Boolean.TRUE.equals(disabled), expires, LimitsEntry.keyLimits(limits));
    }
}
