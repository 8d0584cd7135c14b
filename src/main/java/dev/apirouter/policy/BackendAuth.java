package dev.apirouter.policy;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * How the gateway authenticates to one backend (vLLM started with {@code --api-key}): {@code Authorization: Bearer
 * <secret>}, the secret read from an environment variable ({@code secretEnv}) or a file ({@code secretFile}, such as
 * a mounted Kubernetes Secret, re-read as it rotates).
 *
 * <p>The secret is held only as the header value {@link #authorization()}; {@link #toString()}, {@link #equals} and
 * every message name its source (the variable's name or the file's path), never the value.
 */
public final class BackendAuth {
    /** A secret file larger than this is refused (a secret is a line; a wrong path could name a huge file). */
    static final int MAX_SECRET_BYTES = 8192;

    /** Where a secret comes from; {@link #field()} is the document's field. */
    public enum Source {
        ENV("secretEnv"), FILE("secretFile");

        private final String field;

        Source(String field) {
            this.field = field;
        }

        public String field() {
            return field;
        }
    }

    private final Source source;
    private final String name;
    private volatile String authorization;
    private volatile String problem;

    /** @param name the environment variable's name or the file's path, as the document gives it */
    public BackendAuth(Source source, String name) {
        this.source = Objects.requireNonNull(source);
        this.name = Objects.requireNonNull(name);
    }

    public Source source() {
        return source;
    }

    /** The environment variable's name or the file's path: safe to show. */
    public String name() {
        return name;
    }

    /** The header value {@code Bearer <secret>}; null until the secret has been read. Never log it. */
    public String authorization() {
        return authorization;
    }

    /** Why the last re-reading of a secret file failed (the secret read before stays in use); null when it did not. */
    public String problem() {
        return problem;
    }

    /**
     * Reads the secret of every backend of {@code policy} that has one, so that a document whose secret cannot be
     * read is rejected as a whole.
     *
     * @param env the process environment ({@code System::getenv}); unset and empty variables are alike
     */
    static void readAll(ModelPolicy policy, UnaryOperator<String> env) throws InvalidDocumentException {
        List<Backend> backends = policy.backends();
        for (int i = 0; i < backends.size(); i++) {
            BackendAuth auth = backends.get(i).auth().orElse(null);
            if (auth != null) {
                try {
                    auth.authorization = bearer(auth.read(env));
                } catch (InvalidDocumentException e) {
                    throw new InvalidDocumentException("backends[" + i + "].auth: " + e.getMessage());
                }
            }
        }
    }

    /**
     * Reads a secret file again (rotation). A secret that cannot be read now leaves the one read before in use and
     * is reported by {@link #problem()}.
     *
     * @return true when the secret changed
     * @throws InvalidDocumentException when the file cannot be read now or holds no usable secret
     */
    boolean reread() throws InvalidDocumentException {
        String fresh;
        try {
            fresh = bearer(read(UnaryOperator.identity()));
        } catch (InvalidDocumentException e) {
            problem = e.getMessage();
            throw e;
        }
        problem = null;
        if (fresh.equals(authorization)) {
            return false;
        }
        authorization = fresh;
        return true;
    }

    private String read(UnaryOperator<String> env) throws InvalidDocumentException {
        if (source == Source.ENV) {
            String value = env.apply(name);
            if (value == null) {
                throw new InvalidDocumentException("secretEnv " + name + " is not set in the gateway's environment");
            }
            return checked(value, "the environment variable " + name);
        }
        return checked(readFile(), "the file " + name);
    }

    private String readFile() throws InvalidDocumentException {
        Path path = Path.of(name);
        if (Files.isDirectory(path)) {
            throw new InvalidDocumentException("secretFile " + name + " is a directory, not a file");
        }
        try (InputStream in = Files.newInputStream(path)) {
            byte[] bytes = in.readNBytes(MAX_SECRET_BYTES + 1);
            if (bytes.length > MAX_SECRET_BYTES) {
                throw new InvalidDocumentException("secretFile " + name + " is larger than " + MAX_SECRET_BYTES
                        + " bytes; it must hold the secret alone");
            }
            return new String(bytes, StandardCharsets.ISO_8859_1); // byte for byte; checked() wants printable ASCII
        } catch (NoSuchFileException e) {
            throw new InvalidDocumentException("secretFile " + name + " does not exist");
        } catch (AccessDeniedException e) {
            throw new InvalidDocumentException("secretFile " + name + " cannot be read: permission denied");
        } catch (IOException e) {
            throw new InvalidDocumentException("secretFile " + name + " cannot be read: " + e.getClass().getSimpleName());
        }
    }

    /**
     * The secret without its trailing line break, if it is usable in a header: printable ASCII, no surrounding
     * blanks (HTTP would strip them). The messages say what is wrong, never what the value is.
     */
    private static String checked(String raw, String where) throws InvalidDocumentException {
        int end = raw.length();
        while (end > 0 && (raw.charAt(end - 1) == '\n' || raw.charAt(end - 1) == '\r')) {
            end--;
        }
        String secret = raw.substring(0, end);
        if (secret.isEmpty()) {
            throw new InvalidDocumentException(where + " is empty");
        }
        for (int i = 0; i < secret.length(); i++) {
            char c = secret.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                throw new InvalidDocumentException(where + " holds a control character (CR, LF, TAB or another);"
                        + " a secret must be one line of printable ASCII");
            }
            if (c > 0x7e) {
                throw new InvalidDocumentException(where + " holds a character that is not ASCII;"
                        + " a secret must be one line of printable ASCII");
            }
        }
        if (secret.charAt(0) == ' ' || secret.charAt(secret.length() - 1) == ' ') {
            throw new InvalidDocumentException(where + " starts or ends with a space, which HTTP would not keep");
        }
        return secret;
    }

    private static String bearer(String secret) {
        return "Bearer " + secret;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BackendAuth other && source == other.source && name.equals(other.name);
    }

    @Override
    public int hashCode() {
        return Objects.hash(source, name);
    }

    /** {@code secretEnv=NAME} or {@code secretFile=/path}: never the secret. */
    @Override
    public String toString() {
        return source.field() + "=" + name;
    }
}
