package dev.apirouter.policy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BackendAuthTest {
    static final String SECRET = "sk-backend-secret-42";

    @TempDir
    Path dir;

    private static ModelPolicy policy(BackendAuth... auths) {
        List<Backend> backends = new java.util.ArrayList<>();
        backends.add(new Backend("http://open:1", 1));
        for (BackendAuth auth : auths) {
            backends.add(new Backend("http://b" + backends.size() + ":1", 1, Optional.of(auth)));
        }
        return new ModelPolicy("m", Optional.empty(), backends, Timeouts.DEFAULTS);
    }

    private static String read(BackendAuth auth, Map<String, String> env) throws InvalidDocumentException {
        BackendAuth.readAll(policy(auth), env::get);
        return auth.authorization();
    }

    private static BackendAuth env(String name) {
        return new BackendAuth(BackendAuth.Source.ENV, name);
    }

    private BackendAuth file(String content) throws Exception {
        return file(content.getBytes(StandardCharsets.ISO_8859_1));
    }

    private BackendAuth file(byte[] content) throws Exception {
        Path path = Files.write(Files.createTempFile(dir, "secret", ""), content);
        return new BackendAuth(BackendAuth.Source.FILE, path.toString());
    }

    private static String rejection(BackendAuth auth, Map<String, String> env) {
        InvalidDocumentException e = assertThrows(InvalidDocumentException.class, () -> read(auth, env));
        assertFalse(e.getMessage().contains(SECRET), e.getMessage());
        assertNull(auth.authorization());
        return e.getMessage();
    }

    @Test
    void anEnvironmentVariableGivesTheBearerHeader() throws Exception {
        assertEquals("Bearer " + SECRET, read(env("VLLM_KEY_A"), Map.of("VLLM_KEY_A", SECRET)));
        assertEquals("Bearer " + SECRET, read(env("VLLM_KEY_A"), Map.of("VLLM_KEY_A", SECRET + "\n")));
    }

    @Test
    void anUnsetOrEmptyVariableRejectsTheDocument() {
        assertEquals("backends[1].auth: secretEnv VLLM_KEY_A is not set in the gateway's environment",
                rejection(env("VLLM_KEY_A"), Map.of()));
        assertEquals("backends[1].auth: the environment variable VLLM_KEY_A is empty",
                rejection(env("VLLM_KEY_A"), Map.of("VLLM_KEY_A", "")));
    }

    @Test
    void aFileLosesItsTrailingLineBreak() throws Exception {
        assertEquals("Bearer " + SECRET, read(file(SECRET), Map.of()));
        assertEquals("Bearer " + SECRET, read(file(SECRET + "\n"), Map.of()));
        assertEquals("Bearer " + SECRET, read(file(SECRET + "\r\n"), Map.of()));
    }

    @Test
    void anUnreadableOrUnusableFileRejectsTheDocumentSayingWhy() throws Exception {
        String missing = dir.resolve("missing").toString();
        assertEquals("backends[1].auth: secretFile " + missing + " does not exist",
                rejection(new BackendAuth(BackendAuth.Source.FILE, missing), Map.of()));
        assertEquals("backends[1].auth: secretFile " + dir + " is a directory, not a file",
                rejection(new BackendAuth(BackendAuth.Source.FILE, dir.toString()), Map.of()));
        BackendAuth empty = file("");
        assertEquals("backends[1].auth: the file " + empty.name() + " is empty", rejection(empty, Map.of()));
        BackendAuth newline = file("\n");
        assertEquals("backends[1].auth: the file " + newline.name() + " is empty", rejection(newline, Map.of()));
        BackendAuth big = file(new byte[BackendAuth.MAX_SECRET_BYTES + 1]);
        assertEquals("backends[1].auth: secretFile " + big.name() + " is larger than 8192 bytes; it must hold the"
                + " secret alone", rejection(big, Map.of()));
        BackendAuth locked = file(SECRET);
        if (Path.of(locked.name()).toFile().setReadable(false) && !Files.isReadable(Path.of(locked.name()))) {
            assertEquals("backends[1].auth: secretFile " + locked.name() + " cannot be read: permission denied",
                    rejection(locked, Map.of()));
        }
    }

    @Test
    void aSecretMustBeSafeInAHeader() throws Exception {
        for (String bad : List.of(SECRET + "\r\nX-Injected: 1", SECRET + "\nline2", "sk\u0000" + SECRET, "sk\t" + SECRET,
                "sk\u007f" + SECRET)) {
            BackendAuth auth = file(bad);
            assertEquals("backends[1].auth: the file " + auth.name() + " holds a control character (CR, LF, TAB or"
                    + " another); a secret must be one line of printable ASCII", rejection(auth, Map.of()), bad);
        }
        BackendAuth latin = file("sk-\u00e9" + SECRET);
        assertEquals("backends[1].auth: the file " + latin.name() + " holds a character that is not ASCII; a secret"
                + " must be one line of printable ASCII", rejection(latin, Map.of()));
        assertEquals("backends[1].auth: the environment variable K starts or ends with a space, which HTTP would not"
                + " keep", rejection(env("K"), Map.of("K", " " + SECRET)));
        assertEquals("backends[1].auth: the environment variable K holds a control character (CR, LF, TAB or"
                + " another); a secret must be one line of printable ASCII",
                rejection(env("K"), Map.of("K", SECRET + "\r\nX-Injected: 1")));
    }

    @Test
    void rotationIsPickedUpAndAFailedReadingKeepsTheSecretInUse() throws Exception {
        BackendAuth auth = file(SECRET + "\n");
        read(auth, Map.of());
        Path path = Path.of(auth.name());
        assertFalse(auth.reread(), "unchanged");

        Files.writeString(path, "sk-rotated\n");
        assertTrue(auth.reread());
        assertEquals("Bearer sk-rotated", auth.authorization());

        Files.writeString(path, "");
        InvalidDocumentException e = assertThrows(InvalidDocumentException.class, auth::reread);
        assertEquals("the file " + path + " is empty", e.getMessage());
        assertEquals(e.getMessage(), auth.problem());
        assertEquals("Bearer sk-rotated", auth.authorization(), "the secret read before stays in use");

        Files.writeString(path, "sk-rotated");
        assertFalse(auth.reread());
        assertNull(auth.problem());
    }

    @Test
    void onlyTheSourceIsEverShown() throws Exception {
        BackendAuth auth = env("VLLM_KEY_A");
        read(auth, Map.of("VLLM_KEY_A", SECRET));
        Backend backend = new Backend("http://a:1", 1, Optional.of(auth));
        assertEquals("secretEnv=VLLM_KEY_A", auth.toString());
        assertFalse(backend.toString().contains(SECRET), backend.toString());
        assertFalse(policy(auth).toString().contains(SECRET));
        assertEquals(env("VLLM_KEY_A"), auth, "equal by source, whatever was read");
        assertEquals(env("VLLM_KEY_A").hashCode(), auth.hashCode());
    }
}
