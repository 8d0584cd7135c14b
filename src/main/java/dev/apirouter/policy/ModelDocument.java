package dev.apirouter.policy;

import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * The contract's model policy document as it is stored (etcd {@code models/<name>}, the policy file's {@code models}
 * map), bound by {@link DocumentBinding}: a field here is a field of the document, and any other field is refused.
 * Absent optional fields are null; {@link #toPolicy} validates the values and applies the defaults.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record ModelDocument(String upstreamModel, List<BackendEntry> backends, TimeoutsEntry timeouts, RoutingEntry routing,
                     List<String> fallbacks, LimitsEntry limits, List<String> aliases) {
    static final String LABEL = "model policy";

    /** One entry of {@code backends}. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record BackendEntry(String url, Integer weight, AuthEntry auth) {
    }

    /**
     * {@code {"secretEnv": "NAME"}} or {@code {"secretFile": "/path"}}: only where the secret is, not the secret (read
     * by the stores, {@link BackendAuth}). A wrong value is never echoed: it may be a secret pasted in the wrong place.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record AuthEntry(String secretEnv, String secretFile) {
    }

    record TimeoutsEntry(Long connectMs, Long firstByteMs, Long idleMs) {
    }

    /** {@code "routing"}: every field optional ({@link Routing#DEFAULTS}). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    record RoutingEntry(String strategy, AffinityEntry affinity, Double loadFactor, RetriesEntry retries) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record AffinityEntry(String header, Integer prefixBytes) {
    }

    @JsonInclude(JsonInclude.Include.NON_NULL)
    record RetriesEntry(Integer attempts, Long backoffMs) {
    }

    static final int MIN_PREFIX_BYTES = 16;
    static final int MAX_PREFIX_BYTES = 1 << 20;
    static final double MAX_LOAD_FACTOR = 100;
    static final int MAX_ATTEMPTS = 10;
    static final long MAX_BACKOFF_MS = 10_000;
    private static final Pattern HEADER_NAME = Pattern.compile("[A-Za-z0-9!#$%&'*+.^_`|~-]+");
    private static final Pattern MODEL_NAME = Pattern.compile("\\S+");

    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    static ModelDocument of(ModelPolicy policy) {
        List<BackendEntry> backends = policy.backends().stream().map(b -> new BackendEntry(b.url(), b.weight(),
                b.auth().map(ModelDocument::authEntry).orElse(null))).toList();
        Timeouts t = policy.timeouts();
        Routing r = policy.routing();
        return new ModelDocument(policy.upstreamModel().orElse(null), backends,
                new TimeoutsEntry(t.connect().toMillis(), t.firstByte().toMillis(), t.idle().toMillis()),
                new RoutingEntry(r.strategy().label(), new AffinityEntry(r.affinityHeader(), r.prefixBytes()),
                        r.loadFactor(), new RetriesEntry(r.attempts(), r.retryBackoff().toMillis())),
                policy.fallbacks().isEmpty() ? null : policy.fallbacks(),
                policy.limits().any() ? LimitsEntry.of(policy.limits(), null) : null,
                policy.aliases().isEmpty() ? null : policy.aliases());
    }

    ModelPolicy toPolicy(String name) throws InvalidDocumentException {
        Optional<String> upstream = DocumentBinding.optionalText(upstreamModel, DocumentBinding.field("", "upstreamModel"));
        if (backends == null || backends.isEmpty()) {
            throw new InvalidDocumentException("'backends' must be a non-empty array");
        }
        List<Backend> parsed = new ArrayList<>();
        for (BackendEntry entry : backends) {
            parsed.add(backend(entry, "backends[" + parsed.size() + "]"));
        }
        if (parsed.stream().allMatch(b -> b.weight() == 0)) {
            throw new InvalidDocumentException("at least one backend needs a weight above 0");
        }
        return new ModelPolicy(name, upstream, parsed, timeoutsOrDefaults(), routingOrDefaults(),
                fallbacksOf(name), LimitsEntry.modelLimits(limits), aliasesOf(name));
    }

    /**
     * {@code "aliases"}: names without spaces, not the model's own, no repeats. Whether an alias clashes with another
     * model's name or alias is a question about the whole view: {@link PolicyView.Builder#putModel} answers it.
     */
    private List<String> aliasesOf(String name) throws InvalidDocumentException {
        if (aliases == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String alias : aliases) {
            String where = "aliases[" + out.size() + "]";
            if (!PolicyDocuments.isValidModelName(alias)) {
                throw new InvalidDocumentException(where + " must be a model name (1-256 printable characters without"
                        + " spaces)");
            }
            if (alias.equals(name)) {
                throw new InvalidDocumentException(where + " is the model's own name");
            }
            if (out.contains(alias)) {
                throw new InvalidDocumentException(where + " repeats '" + alias + "'");
            }
            out.add(alias);
        }
        return out;
    }

    private Routing routingOrDefaults() throws InvalidDocumentException {
        if (routing == null) {
            return Routing.DEFAULTS;
        }
        Routing.Strategy strategy = Routing.DEFAULTS.strategy();
        if (routing.strategy() != null) {
            strategy = Routing.Strategy.of(routing.strategy()).orElseThrow(() -> new InvalidDocumentException(
                    "routing.strategy must be one of prefix-affinity, least-load, weighted"));
        }
        String header = Routing.DEFAULT_AFFINITY_HEADER;
        int prefixBytes = Routing.DEFAULT_PREFIX_BYTES;
        if (routing.affinity() != null) {
            if (routing.affinity().header() != null) {
                header = routing.affinity().header().toLowerCase(java.util.Locale.ROOT);
                if (!HEADER_NAME.matcher(header).matches()) {
                    throw new InvalidDocumentException("routing.affinity.header must be an HTTP header name");
                }
            }
            if (routing.affinity().prefixBytes() != null) {
                prefixBytes = routing.affinity().prefixBytes();
                if (prefixBytes < MIN_PREFIX_BYTES || prefixBytes > MAX_PREFIX_BYTES) {
                    throw new InvalidDocumentException("routing.affinity.prefixBytes must be a whole number from "
                            + MIN_PREFIX_BYTES + " to " + MAX_PREFIX_BYTES);
                }
            }
        }
        double loadFactor = Routing.DEFAULT_LOAD_FACTOR;
        if (routing.loadFactor() != null) {
            loadFactor = routing.loadFactor();
            if (!(loadFactor >= 1.0 && loadFactor <= MAX_LOAD_FACTOR)) {
                throw new InvalidDocumentException("routing.loadFactor must be a number from 1 to " + (int) MAX_LOAD_FACTOR);
            }
        }
        int attempts = Routing.DEFAULT_ATTEMPTS;
        Duration backoff = Routing.DEFAULT_RETRY_BACKOFF;
        if (routing.retries() != null) {
            if (routing.retries().attempts() != null) {
                attempts = routing.retries().attempts();
                if (attempts < 1 || attempts > MAX_ATTEMPTS) {
                    throw new InvalidDocumentException("routing.retries.attempts must be a whole number from 1 to "
                            + MAX_ATTEMPTS);
                }
            }
            if (routing.retries().backoffMs() != null) {
                long ms = routing.retries().backoffMs();
                if (ms < 0 || ms > MAX_BACKOFF_MS) {
                    throw new InvalidDocumentException("routing.retries.backoffMs must be a whole number from 0 to "
                            + MAX_BACKOFF_MS);
                }
                backoff = Duration.ofMillis(ms);
            }
        }
        return new Routing(strategy, header, prefixBytes, loadFactor, attempts, backoff);
    }

    private List<String> fallbacksOf(String name) throws InvalidDocumentException {
        if (fallbacks == null) {
            return List.of();
        }
        List<String> out = new ArrayList<>();
        for (String fallback : fallbacks) {
            String where = "fallbacks[" + out.size() + "]";
            if (fallback == null || !MODEL_NAME.matcher(fallback).matches()) {
                throw new InvalidDocumentException(where + " must be a model name (a non-empty string without spaces)");
            }
            if (fallback.equals(name)) {
                throw new InvalidDocumentException(where + " names the model itself");
            }
            if (out.contains(fallback)) {
                throw new InvalidDocumentException(where + " repeats '" + fallback + "'");
            }
            out.add(fallback);
        }
        return out;
    }

    private static Backend backend(BackendEntry entry, String where) throws InvalidDocumentException {
        if (entry == null) {
            throw new InvalidDocumentException(where + " must be a JSON object");
        }
        String url = DocumentBinding.optionalText(entry.url(), where + ".url")
                .orElseThrow(() -> new InvalidDocumentException(where + ".url is required"));
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new InvalidDocumentException(where + ".url is not a URL: " + e.getReason());
        }
        if (!("http".equals(uri.getScheme()) || "https".equals(uri.getScheme())) || uri.getHost() == null) {
            throw new InvalidDocumentException(where + ".url must be http(s)://host[:port]");
        }
        if (uri.getQuery() != null || uri.getFragment() != null || uri.getUserInfo() != null) {
            throw new InvalidDocumentException(where + ".url must not carry user info, a query or a fragment");
        }
        int weight = entry.weight() == null ? 1 : entry.weight();
        if (weight < 0) {
            throw new InvalidDocumentException(where + ".weight must be a whole number >= 0");
        }
        String normalized = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        return new Backend(normalized, weight, auth(entry.auth(), where + ".auth"));
    }

    private static Optional<BackendAuth> auth(AuthEntry entry, String where) throws InvalidDocumentException {
        if (entry == null) {
            return Optional.empty();
        }
        if ((entry.secretEnv() == null) == (entry.secretFile() == null)) {
            throw new InvalidDocumentException(where + " needs exactly one of secretEnv (an environment variable's name)"
                    + " or secretFile (a file's absolute path)");
        }
        BackendAuth.Source source = entry.secretEnv() != null ? BackendAuth.Source.ENV : BackendAuth.Source.FILE;
        String name = source == BackendAuth.Source.ENV ? entry.secretEnv() : entry.secretFile();
        String field = where + "." + source.field();
        if (name.isEmpty()) {
            throw new InvalidDocumentException(field + " must be a non-empty string");
        }
        if (source == BackendAuth.Source.ENV && !ENV_NAME.matcher(name).matches()) {
            throw new InvalidDocumentException(field + " must be the name of an environment variable (letters, digits"
                    + " and _, not starting with a digit), not the secret itself");
        }
        if (source == BackendAuth.Source.FILE && (!name.startsWith("/") || name.chars().anyMatch(c -> c < 0x20))) {
            throw new InvalidDocumentException(field + " must be the absolute path of the file holding the secret,"
                    + " not the secret itself");
        }
        return Optional.of(new BackendAuth(source, name));
    }

    private static AuthEntry authEntry(BackendAuth auth) {
        return auth.source() == BackendAuth.Source.ENV ? new AuthEntry(auth.name(), null)
                : new AuthEntry(null, auth.name());
    }

    private Timeouts timeoutsOrDefaults() throws InvalidDocumentException {
        if (timeouts == null) {
            return Timeouts.DEFAULTS;
        }
        return new Timeouts(millis(timeouts.connectMs(), "connectMs", Timeouts.DEFAULT_CONNECT),
                millis(timeouts.firstByteMs(), "firstByteMs", Timeouts.DEFAULT_FIRST_BYTE),
                millis(timeouts.idleMs(), "idleMs", Timeouts.DEFAULT_IDLE));
    }

    private static Duration millis(Long value, String field, Duration fallback) throws InvalidDocumentException {
        if (value == null) {
            return fallback;
        }
        if (value <= 0) {
            throw new InvalidDocumentException("timeouts." + field + " must be a whole number of milliseconds > 0");
        }
        return Duration.ofMillis(value);
    }
}
