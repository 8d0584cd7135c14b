package dev.apirouter.reload;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.apache.camel.Route;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.slf4j.LoggerFactory;
import static org.awaitility.Awaitility.await;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The reloader in this JVM with the gateway's HTTP server and platform-http engine, on a temporary directory. */
@Timeout(60)
class RouteReloaderTest {
    static final Duration POLL = Duration.ofMillis(50);
    /** The requirement: a changed file serves within 2 s. */
    static final Duration WITHIN = Duration.ofSeconds(2);
    /** Other waits: bounded, with a margin for machines busy with other work. */
    static final Duration RELOADED = Duration.ofSeconds(5);

    @TempDir
    Path dir;
    TestGateway gateway;
    ListAppender<ILoggingEvent> log;
    Logger logger;

    @BeforeEach
    void captureLog() {
        logger = (Logger) LoggerFactory.getLogger(RouteReloader.class);
        log = new ListAppender<>();
        log.start();
        logger.addAppender(log);
    }

    @AfterEach
    void stop() throws Exception {
        logger.detachAppender(log);
        if (gateway != null) {
            gateway.close();
        }
    }

    static String route(String id, String path, String method, String body) {
        return "- route:\n"
                + "    id: " + id + "\n"
                + "    from:\n"
                + "      uri: platform-http:" + path + "\n"
                + "      parameters:\n"
                + "        httpMethodRestrict: " + method + "\n"
                + "      steps:\n"
                + "        - to: direct:step\n"
                + "        - setBody:\n"
                + "            constant: \"" + body + "\"\n";
    }

    void write(String file, String content) throws Exception {
        Path tmp = dir.resolve("." + file + ".tmp");
        Files.writeString(tmp, content);
        Files.move(tmp, dir.resolve(file), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    void start() throws Exception {
        gateway = TestGateway.start(dir, POLL);
    }

    long awaitBody(String path, String body) throws Exception {
        return gateway.await(path, r -> r.statusCode() == 200 && r.body().equals(body), RELOADED);
    }

    /** Waits (bounded) until the reloader has rejected a file. */
    void awaitFailure() {
        await("a rejected reload").atMost(RELOADED).pollInterval(Duration.ofMillis(10))
                .until(() -> gateway.reloader.status().failures() > 0);
    }

    List<String> errors() {
        return log.list.stream().filter(e -> e.getLevel() == Level.ERROR).map(ILoggingEvent::getFormattedMessage)
                .toList();
    }

    @Test
    void theFilesAreLoadedAndServe() throws Exception {
        write("a.yaml", route("a", "/a", "GET", "a1"));
        write("b.yaml", route("b", "/b", "POST", "b1"));
        start();
        assertEquals("a1", gateway.get("/a").body());
        assertEquals("b1", gateway.post("/b", "{}").body());
        assertEquals("done", gateway.get("/a").headers().firstValue("x-step").orElse(null));
        assertEquals(405, gateway.get("/b").statusCode());
        ReloadStatus status = gateway.reloader.status();
        assertTrue(status.up() && status.watching());
        assertEquals(List.of("a"), status.files().get("a.yaml").routes());
        assertEquals(1, status.files().get("a.yaml").generation());
        assertNotNull(gateway.camel.getRoute("a"), "the first generation keeps the id written in the file");
    }

    @Test
    void aChangedFileIsReloadedAloneWithinTwoSeconds() throws Exception {
        write("a.yaml", route("a", "/a", "GET", "a1"));
        write("b.yaml", route("b", "/b", "GET", "b1"));
        start();
        Route b = gateway.camel.getRoute("b");
        Route builtIn = gateway.camel.getRoute("step");
        write("a.yaml", route("a", "/a", "GET", "a2"));
        long ms = gateway.await("/a", r -> r.statusCode() == 200 && r.body().equals("a2"), WITHIN);
        assertTrue(ms >= 0, "not reloaded within " + WITHIN);
        assertSame(b, gateway.camel.getRoute("b"), "the other file's routes are untouched");
        assertSame(builtIn, gateway.camel.getRoute("step"), "the Java DSL routes are untouched");
        assertNotNull(gateway.camel.getRoute("a#2"));
        assertEquals("a", RouteReloader.publicRouteId("a#2"));
        assertEquals("a", gateway.camel.getRoute("a#2").getProperties().get(RouteInstaller.PROPERTY_ROUTE_ID));
        // the old generation goes away once idle (the route is removed, then the count of retiring ones goes down)
        await("the retired generation is removed").atMost(RELOADED)
                .until(() -> gateway.camel.getRoute("a") == null && gateway.reloader.status().retiringRoutes() == 0);
        assertEquals(2, gateway.reloader.status().files().get("a.yaml").generation());
    }

    @Test
    void aRequestInFlightFinishesOnTheVersionThatStartedIt() throws Exception {
        write("a.yaml", route("a", "/a", "GET", "a1").replace("        - to: direct:step\n",
                "        - to: direct:step\n        - delay:\n            constant: 1500\n"));
        start();
        CompletableFuture<HttpResponse<String>> slow = CompletableFuture.supplyAsync(() -> {
            try {
                return gateway.get("/a");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        await("the slow request is in flight on generation 1").atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(5)).until(() -> gateway.camel.getInflightRepository().size("a") > 0);
        write("a.yaml", route("a", "/a", "GET", "a2"));
        await("generation 2 is installed").atMost(RELOADED).pollInterval(Duration.ofMillis(5))
                .until(() -> gateway.reloader.status().files().get("a.yaml").generation() == 2);
        assertEquals("a2", gateway.get("/a").body(), "new requests are served by the new generation at once");
        assertFalse(slow.isDone(), () -> "the slow request is still running on the old generation: " + slow.join().body());
        assertNotNull(gateway.camel.getRoute("a"), "the old generation is kept while it has a request in flight");
        HttpResponse<String> r = slow.get(5, TimeUnit.SECONDS);
        assertEquals(200, r.statusCode());
        assertEquals("a1", r.body(), "the request finished on the version that started it");
        await("the old generation is removed once idle").atMost(RELOADED).pollInterval(Duration.ofMillis(10))
                .until(() -> gateway.camel.getRoute("a") == null);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', value = {
        "syntax error          | - route:\\n    id: a\\n    from: [uri: x\\n                 | 4 | 1 | expected",
        "unknown DSL key       | - route:\\n    id: a\\n    from:\\n      uri: platform-http:/a\\n      steps:\\n        - tox: direct:step\\n | 6 | 11 | Unknown node id: tox",
        "unknown component     | BAD_STEP:to: nosuchcomponent:x                                            | 9 | 0 | nosuchcomponent",
        "missing bean          | BAD_STEP:bean:\\n            ref: noSuchBean                                | 9 | 0 | noSuchBean",
        "missing processor     | BAD_STEP:process:\\n            ref: noSuchProcessor                       | 9 | 0 | noSuchProcessor",
        "duplicate id in file  | DUPLICATE_IN_FILE                                                         | 11 | 0 | duplicate route id 'a'",
        "id of another file    | DUPLICATE_OTHER_FILE                                                      | 1 | 0 | a route of b.yaml already has it",
        "id of a built-in      | DUPLICATE_BUILT_IN                                                        | 1 | 0 | a built-in route already has it",
        "path of another file  | PATH_CLASH                                                                | 11 | 0 | path clash: route 'a2' serves GET /b, already served by route 'b' of b.yaml",
        "consumer of a built-in| DIRECT_CLASH                                                              | 11 | 0 | Multiple consumers for the same endpoint",
    })
    void aBadFileChangesNothingAndFixingItReloadsIt(String kind, String content, int line, int column, String cause)
            throws Exception {
        write("a.yaml", route("a", "/a", "GET", "a1"));
        write("b.yaml", route("b", "/b", "GET", "b1"));
        start();
        String good = route("a", "/a", "GET", "a1");
        String bad = switch (content) {
            case "DUPLICATE_IN_FILE" -> good + route("a", "/a2", "GET", "x");
            case "DUPLICATE_OTHER_FILE" -> route("b", "/a", "GET", "x");
            case "DUPLICATE_BUILT_IN" -> route("step", "/a", "GET", "x");
            case "PATH_CLASH" -> good + route("a2", "/b", "GET", "x");
            case "DIRECT_CLASH" -> good + "- route:\n    id: a3\n    from:\n      uri: direct:step\n      steps:\n"
                    + "        - log: x\n";
            default -> content.startsWith("BAD_STEP:")
                    ? good.replace("        - to: direct:step\n", "        - to: direct:step\n        - "
                    + content.substring("BAD_STEP:".length()).replace("\\n", "\n") + "\n")
                    : content.replace("\\n", "\n");
        };
        write("a.yaml", bad);
        awaitFailure();
        ReloadStatus status = gateway.reloader.status();
        assertEquals(1, status.failures(), kind + " must be rejected");
        ReloadStatus.FileStatus a = status.files().get("a.yaml");
        assertEquals("failed", a.state());
        assertEquals(1, a.generation(), "generation 1 keeps serving");
        assertTrue(status.up(), "a rejected reload does not make the gateway unready");
        for (int i = 0; i < 5; i++) {
            assertEquals("a1", gateway.get("/a").body(), "the previous routes keep serving");
            assertEquals("b1", gateway.get("/b").body());
        }
        List<String> errors = errors();
        assertEquals(1, errors.size(), "one ERROR line: " + errors);
        String error = errors.get(0);
        assertFalse(error.contains("\n"), error);
        assertTrue(error.startsWith("Route file a.yaml rejected"), error);
        assertTrue(error.contains(cause), error + " should name the cause: " + cause);
        String position = column > 0 ? "line " + line + ", column " + column : "line " + line;
        assertTrue(error.contains(position), error + " should give the position " + position);
        assertTrue(a.error().contains(cause), a.error());
        // two more complete polls of the directory, run here (the same poll the watcher runs every POLL) so that the
        // test knows they happened: neither retries the unchanged bad file
        gateway.reloader.poll();
        gateway.reloader.poll();
        assertEquals(1, errors().size(), "an unchanged bad file is not retried");
        assertEquals(1, gateway.reloader.status().failures(), "an unchanged bad file is not retried");
        assertEquals(1, gateway.camel.getRoutes().stream().filter(r -> r.getRouteId().startsWith("a")).count(),
                "nothing of the bad file is left in the context: " + gateway.camel.getRoutes());

        write("a.yaml", route("a", "/a", "GET", "fixed"));
        assertTrue(awaitBody("/a", "fixed") >= 0, "fixing the file reloads it");
        await().atMost(RELOADED).pollInterval(Duration.ofMillis(5)).untilAsserted(() ->
                assertEquals("loaded", gateway.reloader.status().files().get("a.yaml").state()));
        assertNull(gateway.reloader.status().files().get("a.yaml").error());
        assertEquals("b1", gateway.get("/b").body());
    }

    @Test
    void aRemovedFileTakesItsRoutesAway() throws Exception {
        write("a.yaml", route("a", "/a", "GET", "a1"));
        write("b.yaml", route("b", "/b", "GET", "b1"));
        start();
        Files.delete(dir.resolve("a.yaml"));
        assertTrue(gateway.await("/a", r -> r.statusCode() == 404, RELOADED) >= 0);
        HttpResponse<String> r = gateway.get("/a");
        assertTrue(r.body().contains("\"code\":\"not_found\""), r.body());
        assertEquals("b1", gateway.get("/b").body());
        assertFalse(gateway.reloader.status().files().containsKey("a.yaml"));
        // and the path can be served by another file now
        write("c.yaml", route("c", "/a", "GET", "c1"));
        assertTrue(awaitBody("/a", "c1") >= 0);
    }

    @Test
    void aRenamedFileTakesOverWithoutAGap() throws Exception {
        write("a.yaml", route("a", "/a", "GET", "v1"));
        start();
        List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger answered = new AtomicInteger();
        ExecutorService clients = Executors.newFixedThreadPool(4);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            futures.add(clients.submit(() -> {
                long end = System.nanoTime() + Duration.ofSeconds(10).toNanos();
                while (running.get() && System.nanoTime() < end) {
                    HttpResponse<String> r = gateway.get("/a");
                    if (r.statusCode() != 200) {
                        failures.add(r.statusCode() + " " + r.body());
                    }
                    answered.incrementAndGet();
                }
                return null;
            }));
        }
        try {
            await("the clients are running").atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(10))
                    .until(() -> answered.get() >= 20);
            Files.move(dir.resolve("a.yaml"), dir.resolve("b.yaml"), StandardCopyOption.ATOMIC_MOVE);
            await("a.yaml is gone").atMost(RELOADED).pollInterval(Duration.ofMillis(10))
                    .until(() -> !gateway.reloader.status().files().containsKey("a.yaml"));
            int atSwitch = answered.get();
            await("requests keep being answered after the switch").atMost(Duration.ofSeconds(5))
                    .pollInterval(Duration.ofMillis(10)).until(() -> answered.get() >= atSwitch + 40);
        } finally {
            running.set(false);
            for (Future<?> f : futures) {
                f.get(20, TimeUnit.SECONDS);
            }
            clients.shutdownNow();
        }
        assertEquals(List.of(), failures);
        assertEquals(List.of("b.yaml"), List.copyOf(gateway.reloader.status().files().keySet()));
        assertEquals(List.of("a"), gateway.reloader.status().files().get("b.yaml").routes());
        assertEquals(0, gateway.reloader.status().failures());
    }

    @Test
    void routesWithoutIdGetOneAndAnEmptyFileIsRejected() throws Exception {
        write("a.yaml", route("a", "/a", "GET", "a1"));
        write("noid.yaml", route("x", "/n", "GET", "n1").replace("    id: x\n", "")
                + route("y", "/m", "GET", "m1").replace("    id: y\n", ""));
        start();
        assertEquals(List.of("noid-1", "noid-2"), gateway.reloader.status().files().get("noid.yaml").routes());
        assertEquals("m1", gateway.get("/m").body());
        write("a.yaml", "\n");
        awaitFailure();
        assertTrue(gateway.reloader.status().files().get("a.yaml").error().contains("the file is empty"));
        assertEquals("a1", gateway.get("/a").body(), "an empty file is taken for one being written: nothing changes");
    }

    @Test
    void aFileThatClashedIsLoadedOnceTheOtherFileGivesWay() throws Exception {
        write("a.yaml", route("a", "/a", "GET", "a1"));
        start();
        write("b.yaml", route("b", "/a", "GET", "b1"));
        awaitFailure();
        assertEquals("failed", gateway.reloader.status().files().get("b.yaml").state());
        assertEquals("a1", gateway.get("/a").body());
        // a route moves from a.yaml to b.yaml: once a.yaml lets go of /a, b.yaml is tried again
        write("a.yaml", route("a", "/other", "GET", "a1"));
        assertTrue(awaitBody("/a", "b1") >= 0);
        await().atMost(RELOADED).untilAsserted(() ->
                assertEquals("loaded", gateway.reloader.status().files().get("b.yaml").state()));
    }

    @Test
    void aConfigMapVolumeUpdateIsSeen() throws Exception {
        // the layout kubelet makes: name.yaml -> ..data/name.yaml, ..data -> ..<timestamp>, swapped atomically
        Path v1 = Files.createDirectory(dir.resolve("..2026_01_01_v1"));
        Files.writeString(v1.resolve("api.yaml"), route("api", "/api", "GET", "v1"));
        Files.createSymbolicLink(dir.resolve("..data"), dir.relativize(v1));
        Files.createSymbolicLink(dir.resolve("api.yaml"), Path.of("..data", "api.yaml"));
        start();
        assertEquals("v1", gateway.get("/api").body());
        assertEquals(List.of("api.yaml"), List.copyOf(gateway.reloader.status().files().keySet()),
                "hidden entries are not route files");

        Path v2 = Files.createDirectory(dir.resolve("..2026_01_01_v2"));
        Files.writeString(v2.resolve("api.yaml"), route("api", "/api", "GET", "v2"));
        Files.createSymbolicLink(dir.resolve("..data_tmp"), dir.relativize(v2));
        Files.move(dir.resolve("..data_tmp"), dir.resolve("..data"), StandardCopyOption.ATOMIC_MOVE);
        deleteTree(v1);
        assertTrue(awaitBody("/api", "v2") >= 0, "the ..data swap is seen");
    }

    static void deleteTree(Path dir) throws Exception {
        try (var entries = Files.list(dir)) {
            for (Path p : entries.toList()) {
                Files.delete(p);
            }
        }
        Files.delete(dir);
    }

    @Test
    void noRequestFailsWhileAFileIsReloadedAgainAndAgain() throws Exception {
        write("a.yaml", route("a", "/a", "POST", "v0"));
        start();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger ok = new AtomicInteger();
        List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        ExecutorService clients = Executors.newFixedThreadPool(8);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            futures.add(clients.submit(() -> {
                long end = System.nanoTime() + Duration.ofSeconds(20).toNanos();
                while (running.get() && System.nanoTime() < end) {
                    try {
                        HttpResponse<String> r = gateway.post("/a", "{}");
                        if (r.statusCode() != 200 || !r.body().startsWith("v")) {
                            failures.add(r.statusCode() + " " + r.body());
                        } else {
                            ok.incrementAndGet();
                        }
                    } catch (Exception e) {
                        failures.add(e.toString());
                    }
                }
                return null;
            }));
        }
        try {
            for (int i = 1; i <= 10; i++) {
                write("a.yaml", route("a", "/a", "POST", "v" + i));
                assertTrue(gateway.await("/a", r -> true, Duration.ofSeconds(1)) >= 0);
                String version = "v" + i;
                await().atMost(RELOADED).pollInterval(Duration.ofMillis(5))
                        .untilAsserted(() -> assertEquals(version, gateway.post("/a", "{}").body()));
            }
        } finally {
            running.set(false);
            for (Future<?> f : futures) {
                f.get(30, TimeUnit.SECONDS);
            }
            clients.shutdownNow();
        }
        assertEquals(List.of(), failures);
        assertTrue(ok.get() > 100, "requests served: " + ok.get());
        assertEquals(11, gateway.reloader.status().files().get("a.yaml").generation());
    }

    @Test
    void thePackagedRoutesAreLoadedOnceWhenThereIsNoDirectory() throws Exception {
        gateway = TestGateway.start(null, POLL);
        ReloadStatus status = gateway.reloader.status();
        assertFalse(status.watching());
        assertTrue(status.up());
        assertEquals(List.of("chat-completions", "completions", "embeddings", "audio-transcriptions",
                        "audio-translations", "responses", "response-by-id", "response-cancel", "messages",
                        "messages-count-tokens", "score", "rerank",
                        "rerank-unversioned", "rerank-v2", "tokenize", "detokenize", "pooling", "classify", "models",
                        "model-retrieve"),
                status.files().get("openai-api.yaml").routes());
        assertNotNull(gateway.camel.getRoute("chat-completions"));
        assertEquals(Map.of(), Map.copyOf(status.files().entrySet().stream()
                .filter(e -> !e.getValue().state().equals("loaded"))
                .collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, Map.Entry::getValue))));
    }

    @Test
    void aFileRejectedAtStartUpMakesTheCheckDownUntilItLoads() throws Exception {
        write("a.yaml", "- route: [\n");
        start();
        assertFalse(gateway.reloader.status().up());
        assertTrue(gateway.reloader.status().details().get("reason").toString().contains("rejected"));
        write("a.yaml", route("a", "/a", "GET", "a1"));
        assertTrue(awaitBody("/a", "a1") >= 0);
        // the new route serves a moment before the reloader has recorded the load
        await("the check is up once the file loaded").atMost(RELOADED)
                .until(() -> gateway.reloader.status().up());
    }

    @Test
    void publicRouteIdDropsTheGenerationOnly() {
        assertEquals("chat-completions", RouteReloader.publicRouteId("chat-completions#12"));
        assertEquals("chat-completions", RouteReloader.publicRouteId("chat-completions"));
        assertEquals("a#b", RouteReloader.publicRouteId("a#b"));
        assertEquals("#3", RouteReloader.publicRouteId("#3"));
        assertNull(RouteReloader.publicRouteId(null));
    }
}
