package dev.apirouter.e2e;

import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

import dev.apirouter.auth.ApiKeys;
import dev.apirouter.sim.VllmSimulator;
import dev.apirouter.testing.EtcdProcess;
import dev.apirouter.testing.GatewayProcess;
import dev.apirouter.testing.HeadlessChromium;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Keys;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.support.ui.ExpectedConditions;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The console in a real browser (Debian's headless chromium through Selenium), against the jar with the etcd store,
 * two simulated backends and a trickle of traffic: signing in (a wrong token shows the API's refusal), a backend
 * shown unhealthy once its simulator is stopped, and a key created on the keys page, used for a real request, then
 * disabled on the page and refused (a refused rotation shows the API's message; revoking removes it); the overview
 * charting the traffic, this replica in the registry, and signing out. Pages are opened with the keyboard. Screenshots of the overview, models, keys and replicas pages are kept in {@code target/console-screenshots/}.
 */
@Timeout(120)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ConsoleBrowserIT {
    static final String ADMIN = "console-it-admin-token";
    static final String TRAFFIC_KEY = "sk-console-it-traffic";
    static final String PREFIX = "/api-router/";
    static final String MODEL = "chat";
    static final Path SCREENSHOTS = Path.of("target", "console-screenshots");
    static final Duration UI_WAIT = Duration.ofSeconds(15);
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    @TempDir
    static Path tmp;
    static EtcdProcess etcd;
    static VllmSimulator steady;
    static VllmSimulator doomed;
    static GatewayProcess gateway;
    static HeadlessChromium chromium;
    static WebDriver browser;
    static final AtomicBoolean trafficStops = new AtomicBoolean();
    static Thread traffic;

    /** Starts everything when the tools are there; each test says (skips or fails) when they are not. */
    @BeforeAll
    static void start() throws Exception {
        if (!HeadlessChromium.installed() || !EtcdProcess.installed()) {
            return;
        }
        etcd = EtcdProcess.start();
        VllmSimulator.Options options = new VllmSimulator.Options().port(0).engine(true).tokenDelayMs(5).maxTokens(12);
        steady = VllmSimulator.start(options);
        doomed = VllmSimulator.start(options);
        etcd.put(PREFIX + "models/" + MODEL, "{\"upstreamModel\":\"" + VllmSimulator.DEFAULT_MODEL + "\","
                + "\"routing\":{\"strategy\":\"least-load\"},\"backends\":[{\"url\":\"" + steady.baseUrl() + "\"},"
                + "{\"url\":\"" + doomed.baseUrl() + "\"}]}");
        etcd.put(PREFIX + "keys/" + ApiKeys.sha256Hex(TRAFFIC_KEY), "{\"name\":\"traffic\",\"models\":[\"*\"]}");
        Map<String, String> env = new HashMap<>(etcd.clientEnv());
        env.putAll(GatewayProcess.env("ROUTER_ADMIN_TOKEN", ADMIN, "POD_NAME", "console-it",
                "ROUTER_DATA_DIR", tmp.resolve("data").toString(),
                "ROUTER_BACKEND_PROBE_INTERVAL_MS", "200", "ROUTER_BACKEND_UNHEALTHY_AFTER", "1",
                "ROUTER_BACKEND_METRICS_INTERVAL_MS", "500"));
        gateway = GatewayProcess.start(env);
        gateway.awaitReady(Duration.ofSeconds(30));
        await("the model is served").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                .until(() -> chat(TRAFFIC_KEY, false).statusCode() == 200);
        traffic = new Thread(ConsoleBrowserIT::sendTraffic, "console-it-traffic");
        traffic.setDaemon(true);
        traffic.start();
        chromium = HeadlessChromium.start(tmp);
        browser = chromium.driver();
    }

    @AfterAll
    static void stop() throws Exception {
        trafficStops.set(true);
        if (traffic != null) {
            traffic.join(5000);
        }
        if (chromium != null) {
            chromium.close();
        }
        if (gateway != null) {
            assertFalse(gateway.output().contains(ADMIN), "the admin token is never logged");
            gateway.close();
        }
        for (AutoCloseable c : new AutoCloseable[] {doomed, steady, etcd}) {
            if (c != null) {
                c.close();
            }
        }
    }

    static void assumeTools() {
        HeadlessChromium.assumeInstalled();
        EtcdProcess.assumeInstalled();
    }

    /** A few requests a second, streamed and not, so that the overview has figures to chart; bounded. */
    static void sendTraffic() {
        for (int i = 0; i < 600 && !trafficStops.get(); i++) {
            try {
                chat(TRAFFIC_KEY, i % 2 == 0);
                Thread.sleep(150);
            } catch (InterruptedException e) {
                return;
            } catch (Exception e) {
                // a refused or failed request is traffic too
            }
        }
    }

    static HttpResponse<String> chat(String key, boolean stream) throws Exception {
        String body = "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]"
                + (stream ? ",\"stream\":true,\"stream_options\":{\"include_usage\":true}" : "") + "}";
        return HTTP.send(HttpRequest.newBuilder(gateway.uri("/v1/chat/completions")).timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static WebElement visible(By by) {
        return chromium.waitUpTo(UI_WAIT).until(ExpectedConditions.visibilityOfElementLocated(by));
    }

    /** The element's text, looked up again if the page re-rendered it meanwhile. */
    static String text(By by) {
        return chromium.waitUpTo(UI_WAIT).until(d -> d.findElement(by).getText());
    }

    static void textAppears(By by, String text) {
        chromium.waitUpTo(UI_WAIT).until(ExpectedConditions.textToBePresentInElementLocated(by, text));
    }

    /** Opens a page from the navigation with the keyboard (Enter on its link); its heading gets the focus. */
    static void open(String page) {
        browser.findElement(By.cssSelector("#nav a[data-page='" + page + "']")).sendKeys(Keys.ENTER);
        visible(By.cssSelector("#nav a[data-page='" + page + "'][aria-current='page']"));
        chromium.waitUpTo(UI_WAIT).until(d -> "H1".equals(script("return document.activeElement.tagName")));
    }

    static Object script(String javascript) {
        return chromium.driver().executeScript(javascript);
    }

    /** Types the token and submits with the button, or with Enter in the field (the keyboard's way). */
    static void signIn(String token, boolean withEnter) {
        WebElement field = visible(By.id("token"));
        field.clear();
        if (withEnter) {
            field.sendKeys(token, Keys.ENTER);
        } else {
            field.sendKeys(token);
            browser.findElement(By.id("login-submit")).click();
        }
    }

    @Test
    @Order(1)
    void aWrongTokenIsRefusedAndTheRightOneShowsTheOverview() throws Exception {
        assumeTools();
        browser.get(gateway.managementUri("/ui/").toString());
        signIn(ADMIN + "-wrong", false);
        textAppears(By.id("login-error"), "admin token");
        assertTrue(text(By.id("login-error")).contains("401 unauthorized"), text(By.id("login-error")));
        assertFalse(browser.findElement(By.id("page")).isDisplayed());

        signIn(ADMIN, true);
        visible(By.cssSelector("#page h1"));
        assertEquals("Overview", text(By.cssSelector("#page h1")));
        assertEquals(ADMIN, script("return sessionStorage.getItem('api-router.admin-token')"), "kept for the tab only");
        assertEquals("", browser.findElement(By.id("token")).getAttribute("value"), "the field is emptied");
        // the live figures: two readings make a rate, and the traffic makes it more than zero
        chromium.waitUpTo(UI_WAIT).until(d -> !figure("requests").matches("–|0"));
        chromium.waitUpTo(UI_WAIT).until(d -> figure("ttftP50").endsWith("ms") || figure("ttftP50").endsWith(" s"));
        assertEquals(6, browser.findElements(By.cssSelector("[data-figure] svg.chart path.line")).size());
    }

    static String figure(String key) {
        return text(By.cssSelector("[data-figure='" + key + "'] .figure"));
    }

    @Test
    @Order(2)
    void aStoppedBackendIsShownUnhealthy() throws Exception {
        assumeTools();
        open("models");
        By doomedHealth = By.cssSelector("tr[data-backend='" + doomed.baseUrl() + "'] td.health");
        textAppears(doomedHealth, "healthy");
        assertFalse(text(doomedHealth).contains("unhealthy"), text(doomedHealth));
        doomed.close();
        textAppears(doomedHealth, "unhealthy");
        textAppears(By.cssSelector("section[data-model='" + MODEL + "'] h2"), "1 of 2 unhealthy");
        assertEquals("healthy", text(By.cssSelector("tr[data-backend='" + steady.baseUrl() + "'] td.health"))
                .replace("● ", ""));
        chromium.screenshot(SCREENSHOTS, "models");
    }

    @Test
    @Order(3)
    void aKeyCreatedOnThePageServesUntilItIsDisabledThere() throws Exception {
        assumeTools();
        open("keys");
        visible(By.cssSelector("tr[data-key-name='traffic']"));
        browser.findElement(By.id("key-name")).sendKeys("console-it");
        browser.findElement(By.id("key-models")).sendKeys(MODEL);
        browser.findElement(By.id("key-rpm")).sendKeys("600");
        browser.findElement(By.id("key-create")).click();
        String key = visible(By.id("new-key-value")).getText();
        assertTrue(key.startsWith("sk-"), key);
        await("the new key serves").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                .until(() -> chat(key, false).statusCode() == 200);
        browser.findElement(By.id("new-key-done")).click();
        assertTrue(browser.findElements(By.id("new-key-value")).isEmpty(), "the key is gone from the page");

        By row = By.cssSelector("tr[data-key-name='console-it']");
        confirm(By.cssSelector("tr[data-key-name='console-it'] button.action-toggle"), "Disable key console-it?");
        textAppears(By.cssSelector("tr[data-key-name='console-it'] td.key-status"), "disabled");
        assertEquals("Enable", text(By.cssSelector("tr[data-key-name='console-it'] button.action-toggle")));
        await("the disabled key is refused").atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(100))
                .until(() -> chat(key, false).statusCode() == 401);
        chromium.screenshot(SCREENSHOTS, "keys");
        assertNull(script("return Object.keys(sessionStorage)"
                + ".find(k => sessionStorage.getItem(k).startsWith('sk-')) || null"),
                "a key is never stored in the browser");

        // a refused change shows the API's message; revoking removes the record
        confirm(By.cssSelector("tr[data-key-name='console-it'] button.action-rotate"), "Rotate key console-it?");
        textAppears(By.cssSelector("#page p.error"), "No enabled key 'console-it'");
        confirm(By.cssSelector("tr[data-key-name='console-it'] button.action-revoke"), "Revoke key console-it?");
        textAppears(By.cssSelector("#page p.notice"), "revoked (1 record(s) deleted");
        assertTrue(browser.findElements(row).isEmpty(), "the revoked key is no longer listed");
        assertEquals(401, chat(key, false).statusCode());
    }

    /** Clicks {@code button}, checks the confirmation dialog's title and confirms. */
    static void confirm(By button, String title) {
        visible(button).click();
        textAppears(By.id("confirm-title"), title);
        browser.findElement(By.id("confirm-ok")).click();
        chromium.waitUpTo(UI_WAIT).until(ExpectedConditions.invisibilityOfElementLocated(By.id("confirm")));
    }

    @Test
    @Order(4)
    void theOverviewChartsTheTrafficAndTheReplicaIsListed() throws Exception {
        assumeTools();
        open("overview");
        // the figures have been read every 2 s since signing in: a line of several samples
        chromium.waitUpTo(UI_WAIT).until(d -> d.findElement(By.cssSelector("[data-figure='requests'] path.line"))
                .getAttribute("d").split("L").length > 5);
        chromium.screenshot(SCREENSHOTS, "overview");

        open("replicas");
        textAppears(By.cssSelector("tr[data-replica='console-it']"), "this replica");
        assertEquals("serving", text(By.cssSelector("tr[data-replica='console-it'] td:nth-of-type(1)")));
        chromium.screenshot(SCREENSHOTS, "replicas");

        browser.findElement(By.id("logout")).click();
        visible(By.id("token"));
        assertFalse(browser.findElement(By.id("nav")).isDisplayed());
        assertNull(script("return sessionStorage.getItem('api-router.admin-token')"), "signed out: forgotten");
    }
}
