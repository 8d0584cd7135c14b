package dev.apirouter.policy;

import java.util.Map;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * What a store reports about itself.
 *
 * @param kind      {@code file}, {@code etcd} or {@code none}
 * @param connected whether the store's own source is reachable right now (always true for a readable file)
 * @param detail    a human-readable sentence: the last problem, or what is in force
 * @param facts     further facts of the store's kind, safe to publish (readiness lists their fields, absent ones left
 *                  out, in declaration order)
 */
public record StoreStatus(String kind, boolean connected, String detail, Facts facts) {
    /** A status with no further facts. */
    public StoreStatus(String kind, boolean connected, String detail) {
        this(kind, connected, detail, new NoFacts());
    }

    /** The facts of one kind of store; a new store kind adds its record here. */
    public sealed interface Facts permits NoFacts, FileFacts, EtcdFacts, UnconfiguredFacts {
    }

    /** Nothing further to say. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record NoFacts() implements Facts {
    }

    /** The policy file read (a path, or {@code classpath:} the demo policy). */
    public record FileFacts(String file) implements Facts {
    }

    /** Why there is no store. */
    public record UnconfiguredFacts(String reason) implements Facts {
    }

    /**
     * The etcd store: where it reads, what it serves and, while etcd is unreachable, since when and why.
     *
     * @param lastUpdate        null before an update from etcd
     * @param rejectedDocuments document id (a hash prefix for keys) to reason; null when none is rejected
     * @param unreachableSince  null while reachable
     * @param lastError         null while reachable
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record EtcdFacts(String endpoints, String prefix, String source, long revision, String lastUpdate,
                            int rejected, Map<String, String> rejectedDocuments, String lastKnownGoodFile,
                            String unreachableSince, String lastError) implements Facts {
    }
}
