package dev.apirouter.deploy;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import dev.apirouter.testing.RequiredTools;

/** The repository, and the external tools the deployment checks run (kubectl, node), each bounded in time. */
final class Tools {

    static final String INSTALL_HINT = "run .ci/install-k8s-tools (as root) first: it installs kubectl and the "
            + "schema validator";

    private static Path root;

    private Tools() {
    }

    /** The repository's top directory: the nearest ancestor of the working directory holding pom.xml and kubernetes/. */
    static synchronized Path repo() {
        if (root == null) {
            Path dir = Path.of("").toAbsolutePath();
            while (dir != null && !(Files.isRegularFile(dir.resolve("pom.xml"))
                    && Files.isDirectory(dir.resolve("kubernetes")))) {
                dir = dir.getParent();
            }
            if (dir == null) {
                fail("cannot find the repository (pom.xml beside kubernetes/) above " + Path.of("").toAbsolutePath());
            }
            root = dir;
        }
        return root;
    }

    static Optional<Path> onPath(String name) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir, name);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /**
     * The named executable; without it the test is skipped saying how to install it (failed under
     * {@code CI_REQUIRE_TOOLS=1}, see {@link RequiredTools}).
     */
    static Path require(String name, String what) {
        Optional<Path> found = onPath(name);
        RequiredTools.assume(found.isPresent(), name + " not installed: " + name + " (" + what + ") is not on PATH ("
                + System.getenv("PATH") + "); " + INSTALL_HINT);
        return found.orElseThrow();
    }

    record Result(List<String> command, int exitCode, String stdout, String stderr) {
        String describe() {
            return String.join(" ", command) + " exited " + exitCode + "\n--- stdout\n" + stdout + "\n--- stderr\n"
                    + stderr;
        }
    }

    /** Runs a command in the repository with the given stdin; fails the test if it outlives the timeout. */
    static Result run(List<String> command, String stdin, Duration timeout) {
        return run(command, stdin, timeout, Map.of());
    }

    /** As {@link #run(List, String, Duration)}, with extra environment variables. */
    static Result run(List<String> command, String stdin, Duration timeout, Map<String, String> env) {
        Path out = null;
        Path err = null;
        Path in = null;
        try {
            out = Files.createTempFile("deploy-check", ".out");
            err = Files.createTempFile("deploy-check", ".err");
            ProcessBuilder builder = new ProcessBuilder(command).directory(repo().toFile())
                    .redirectOutput(out.toFile()).redirectError(err.toFile());
            builder.environment().putAll(env);
            if (stdin != null) {
                in = Files.createTempFile("deploy-check", ".in");
                Files.writeString(in, stdin, StandardCharsets.UTF_8);
                builder.redirectInput(in.toFile());
            } else {
                builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            }
            Process process = builder.start();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
                return fail(String.join(" ", command) + " did not finish within " + timeout.toSeconds() + " s");
            }
            return new Result(List.copyOf(command), process.exitValue(), Files.readString(out), Files.readString(err));
        } catch (IOException e) {
            return fail("cannot run " + String.join(" ", command) + ": " + e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return fail("interrupted while running " + String.join(" ", command));
        } finally {
            for (Path p : new ArrayList<>(java.util.Arrays.asList(out, err, in))) {
                if (p != null) {
                    try {
                        Files.deleteIfExists(p);
                    } catch (IOException ignored) {
                        // temp file
                    }
                }
            }
        }
    }
}
