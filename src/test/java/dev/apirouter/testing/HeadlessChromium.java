package dev.apirouter.testing;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

import org.openqa.selenium.OutputType;
import org.openqa.selenium.StaleElementReferenceException;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * Debian's headless Chromium ({@code /usr/bin/chromium}) driven through Debian's {@code /usr/bin/chromedriver} with
 * Selenium, for the browser tests. Both paths are given explicitly, so Selenium Manager never runs and nothing is
 * downloaded. The browser's profile lives in a directory of the caller's; {@link #close()} quits the browser and
 * stops the driver.
 *
 * <pre>
 * try (HeadlessChromium chromium = HeadlessChromium.start(tempDir)) {
 *     chromium.driver().get("http://127.0.0.1:9090/ui/");
 *     chromium.screenshot(Path.of("target/shots"), "login");
 * }
 * </pre>
 */
public final class HeadlessChromium implements AutoCloseable {
    /** The browser: {@code CHROMIUM_BIN} or {@code /usr/bin/chromium}. */
    public static final String CHROMIUM = RequiredTools.binary("CHROMIUM_BIN", "/usr/bin/chromium");
    /** Its driver: {@code CHROMEDRIVER_BIN} or {@code /usr/bin/chromedriver}. */
    public static final String CHROMEDRIVER = RequiredTools.binary("CHROMEDRIVER_BIN", "/usr/bin/chromedriver");
    /** A laptop's screen width; the height leaves room for a page below the fold. */
    static final int WIDTH = 1366;
    static final int HEIGHT = 900;

    private final ChromeDriverService service;
    private final ChromeDriver driver;

    private HeadlessChromium(ChromeDriverService service, ChromeDriver driver) {
        this.service = service;
        this.driver = driver;
    }

    /** Whether the browser and its driver are there. */
    public static boolean installed() {
        return Files.isExecutable(Path.of(CHROMIUM)) && Files.isExecutable(Path.of(CHROMEDRIVER));
    }

    /**
     * Skips the calling test when chromium or chromedriver is missing, with the reason (fails it under
     * {@code CI_REQUIRE_TOOLS=1}, see {@link RequiredTools}).
     */
    public static void assumeInstalled() {
        for (String binary : new String[] {CHROMIUM, CHROMEDRIVER}) {
            RequiredTools.assume(Files.isExecutable(Path.of(binary)), "chromium not installed: " + binary
                    + " is missing; install Debian's chromium and chromium-driver (apt-get install -y chromium"
                    + " chromium-driver), or set CHROMIUM_BIN / CHROMEDRIVER_BIN");
        }
    }

    /** Starts a headless browser with a fresh profile under {@code profileParent}, on a loopback driver port. */
    public static HeadlessChromium start(Path profileParent) throws IOException {
        assumeInstalled();
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--window-size=" + WIDTH + "," + HEIGHT,
                "--user-data-dir=" + Files.createTempDirectory(profileParent, "chromium-profile"));
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(new File(CHROMEDRIVER))
                .usingAnyFreePort()
                .withLogFile(profileParent.resolve("chromedriver.log").toFile())
                .build();
        try {
            return new HeadlessChromium(service, new ChromeDriver(service, options));
        } catch (RuntimeException e) {
            service.stop();
            throw e;
        }
    }

    public ChromeDriver driver() {
        return driver;
    }

    /**
     * An explicit wait, bounded by {@code timeout}, polling every 100 ms; an element that a page re-rendered
     * meanwhile (stale) is looked up again at the next poll.
     */
    public WebDriverWait waitUpTo(Duration timeout) {
        WebDriverWait wait = new WebDriverWait(driver, timeout);
        wait.pollingEvery(Duration.ofMillis(100)).ignoring(StaleElementReferenceException.class);
        return wait;
    }

    /** The visible page as {@code dir/name.png}; returns the file. */
    public Path screenshot(Path dir, String name) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(name + ".png");
        Files.write(file, driver.getScreenshotAs(OutputType.BYTES));
        return file;
    }

    @Override
    public void close() {
        try {
            driver.quit();
        } finally {
            service.stop();
        }
    }
}
