package dev.apirouter.policy;

/** Where the view in force came from. */
public enum PolicySource {
    FILE("file"),
    ETCD("etcd"),
    LAST_KNOWN_GOOD("last-known-good");

    private final String label;

    PolicySource(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }
}
