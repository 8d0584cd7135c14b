package dev.apirouter.deploy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.apirouter.config.Setting;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The Dockerfile, read statically (no Docker engine here): a Maven build stage, then a JRE 17 runtime that runs
 * {@code java -jar} on the built jar as a numeric non-root user.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class DockerfileTest {

    record Instruction(String keyword, String args) {
    }

    record Stage(String image, String name, List<Instruction> instructions) {
        List<Instruction> all(String keyword) {
            return instructions.stream().filter(i -> i.keyword.equals(keyword)).toList();
        }
    }

    private static List<Stage> stages;

    @BeforeAll
    static void parse() throws IOException {
        List<String> lines = Files.readAllLines(Tools.repo().resolve("Dockerfile"));
        List<Instruction> instructions = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : lines) {
            String trimmed = line.strip();
            if (current.isEmpty() && (trimmed.isEmpty() || trimmed.startsWith("#"))) {
                continue;
            }
            if (!current.isEmpty() && trimmed.startsWith("#")) {
                continue; // comment inside a continued instruction
            }
            if (trimmed.endsWith("\\")) {
                current.append(trimmed, 0, trimmed.length() - 1).append(' ');
                continue;
            }
            current.append(trimmed);
            String text = current.toString().strip();
            current.setLength(0);
            int space = text.indexOf(' ');
            instructions.add(space < 0 ? new Instruction(text.toUpperCase(Locale.ROOT), "")
                    : new Instruction(text.substring(0, space).toUpperCase(Locale.ROOT), text.substring(space + 1).strip()));
        }
        stages = new ArrayList<>();
        for (Instruction i : instructions) {
            if (i.keyword.equals("FROM")) {
                String[] parts = i.args.replaceAll("--platform=\\S+\\s*", "").split("\\s+");
                String name = parts.length >= 3 && parts[1].equalsIgnoreCase("AS") ? parts[2] : null;
                stages.add(new Stage(parts[0], name, new ArrayList<>()));
            } else if (stages.isEmpty()) {
                if (!i.keyword.equals("ARG")) {
                    fail("Dockerfile: " + i.keyword + " before the first FROM");
                }
            } else {
                stages.get(stages.size() - 1).instructions.add(i);
            }
        }
    }

    private static Stage runtime() {
        return stages.get(stages.size() - 1);
    }

    @Test
    void buildsWithMavenThenRunsOnAJre17() {
        assertTrue(stages.size() >= 2, "multi-stage: a build stage and a runtime stage");
        Stage build = stages.get(0);
        assertTrue(build.image.startsWith("maven:3.9-eclipse-temurin-17"), "build stage image: " + build.image);
        assertTrue(build.name != null, "the build stage is named, so the runtime can copy from it");
        assertTrue(build.all("RUN").stream().anyMatch(r -> r.args.matches("(?s).*\\bmvn\\b.*\\bpackage\\b.*")),
                "the build stage runs mvn ... package");
        assertTrue(runtime().image.startsWith("eclipse-temurin:17-jre"), "runtime image: " + runtime().image);
    }

    @Test
    void runtimeRunsAsANumericNonRootUser() {
        List<Instruction> users = runtime().all("USER");
        assertFalse(users.isEmpty(), "the runtime stage sets no USER: the container would run as root");
        String user = users.get(users.size() - 1).args.split(":")[0];
        assertTrue(user.matches("\\d+"), "USER should be numeric so that Kubernetes' runAsNonRoot can verify it: "
                + user);
        assertNotEquals("0", user, "USER 0 is root");
    }

    @Test
    void entrypointIsJavaJarOnTheBuiltJar() throws IOException {
        List<Instruction> entrypoints = runtime().all("ENTRYPOINT");
        assertFalse(entrypoints.isEmpty(), "no ENTRYPOINT");
        String raw = entrypoints.get(entrypoints.size() - 1).args;
        assertTrue(raw.startsWith("["), "ENTRYPOINT in exec form (JSON array), so java is PID 1 and gets SIGTERM: "
                + raw);
        List<String> argv = new ArrayList<>();
        new ObjectMapper().readTree(raw).forEach(a -> argv.add(a.asText()));
        assertTrue(argv.get(0).equals("java") || argv.get(0).endsWith("/bin/java"), "ENTRYPOINT runs java: " + argv);
        int jar = argv.indexOf("-jar");
        assertTrue(jar > 0 && jar + 1 < argv.size(), "ENTRYPOINT is java -jar <jar>: " + argv);
        String jarPath = argv.get(jar + 1);
        assertEquals(jar + 2, argv.size(), "nothing after the jar in ENTRYPOINT: arguments belong to `docker run` / "
                + "the pod's args (the operator commands): " + argv);
        Pattern copy = Pattern.compile("--from=(\\S+)\\s+(\\S*target/api-router\\.jar)\\s+(\\S+)");
        boolean copied = false;
        for (Instruction c : runtime().all("COPY")) {
            Matcher m = copy.matcher(c.args);
            if (m.find() && m.group(1).equals(stages.get(0).name)) {
                String dest = m.group(3);
                copied |= dest.equals(jarPath) || (dest.endsWith("/") && jarPath.equals(dest + "api-router.jar"));
            }
        }
        assertTrue(copied, "the runtime copies the build stage's target/api-router.jar to " + jarPath);
    }

    @Test
    void exposesTheAppsDefaultPortsAndSetsOnlyVariablesTheAppOrJvmRead() {
        for (Setting setting : List.of(Setting.HTTP_PORT, Setting.MANAGEMENT_PORT)) {
            String port = App.defaults().getProperty(setting.propertyKey()).trim();
            assertTrue(runtime().all("EXPOSE").stream()
                            .anyMatch(e -> e.args.matches("(^|.*\\s)" + port + "(/tcp)?(\\s.*|$)")),
                    "EXPOSE " + port + " (" + setting.propertyKey() + ")");
        }
        Set<String> unknown = new TreeSet<>();
        Pattern assignment = Pattern.compile("([A-Za-z_][A-Za-z0-9_]*)=(\"[^\"]*\"|\\S*)");
        for (Instruction env : runtime().all("ENV")) {
            Matcher m = assignment.matcher(env.args);
            while (m.find()) {
                unknown.add(m.group(1));
            }
        }
        unknown.removeAll(App.settingVariables());
        unknown.removeAll(App.JVM_STANDARD_VARIABLES);
        assertTrue(unknown.isEmpty(), "the image sets env vars the app does not read: " + unknown);
    }

    /** The demo policy (a key allowed every model) is for ./run-demo.sh only: the image never turns it on. */
    @Test
    void theImageNeverServesTheDemoPolicy() {
        for (Stage stage : stages) {
            for (Instruction i : stage.instructions()) {
                assertFalse(i.args.contains(Setting.DEMO.envVar()), "the Dockerfile sets " + Setting.DEMO.envVar()
                        + ": " + i.keyword + " " + i.args);
            }
        }
    }

    @Test
    void buildContextKeepsWhatTheBuildNeeds() throws IOException {
        Set<String> ignored = new TreeSet<>();
        for (String line : Files.readAllLines(Tools.repo().resolve(".dockerignore"))) {
            String l = line.strip();
            if (!l.isEmpty() && !l.startsWith("#")) {
                ignored.add(l.replaceAll("^/|/$", ""));
            }
        }
        for (String needed : List.of("pom.xml", "src", "routes")) {
            assertFalse(ignored.contains(needed), ".dockerignore drops " + needed + ", which the build needs");
        }
        assertTrue(ignored.contains(".git") && (ignored.contains("target") || ignored.contains("**/target")),
                ".dockerignore should keep .git and build output out of the context");
    }

    @Test
    void kubernetesRunsTheImagesUser() {
        List<Instruction> users = runtime().all("USER");
        assertFalse(users.isEmpty(), "the runtime stage sets no USER");
        String user = users.get(users.size() - 1).args.split(":")[0];
        for (String dir : Rendered.ALL) {
            JsonNode pod = Rendered.podSpec(Rendered.of(dir).gateway());
            assertEquals(user, pod.path("securityContext").path("runAsUser").asText(),
                    dir + ": the pod's runAsUser differs from the image's USER");
        }
    }
}
