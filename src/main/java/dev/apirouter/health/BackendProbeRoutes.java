package dev.apirouter.health;

import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ExecutorService;

import dev.apirouter.config.Settings;
import dev.apirouter.policy.Backend;
import dev.apirouter.policy.ModelPolicy;
import dev.apirouter.policy.PolicyStore;
import org.apache.camel.Exchange;
import org.apache.camel.builder.RouteBuilder;

/**
 * Active health checks: every backend named by a policy is probed with vLLM's {@code GET /health} through
 * camel-http (the control-plane client), with connect and response timeouts, in parallel. Probes carry no
 * credential, even to a backend with {@code auth}: vLLM started with {@code --api-key} serves {@code /health}
 * without it, and a secret sent where it is not needed is one more place it can leak.
 */
public final class BackendProbeRoutes extends RouteBuilder {
    static final String BACKEND_URL = "apirouterBackendUrl";

    private final PolicyStore store;
    private final BackendHealthMonitor monitor;
    private final Settings.Health settings;

    public BackendProbeRoutes(PolicyStore store, BackendHealthMonitor monitor, Settings.Health settings) {
        this.store = store;
        this.monitor = monitor;
        this.settings = settings;
    }

    @Override
    public void configure() {
        long timeout = settings.probeTimeout().toMillis();
        ExecutorService probes = getContext().getExecutorServiceManager()
                .newThreadPool(this, "backend-probe", 1, 16);
        String options = "?connectTimeout=" + timeout + "&responseTimeout=" + timeout + "&connectionRequestTimeout="
                + timeout + "&soTimeout=" + timeout + "&throwExceptionOnFailure=false&followRedirects=false";
        from("timer:backend-health?delay=0&period=" + settings.probeInterval().toMillis())
                .routeId("backend-health-probe")
                .process(e -> e.getMessage().setBody(backendsToProbe()))
                .split(body()).parallelProcessing().executorService(probes).stopOnException(false)
                    .setHeader(BACKEND_URL, body())
                    .removeHeaders("Camel*", BACKEND_URL)
                    .setBody(constant(null))
                    .doTry()
                        .toD("${header." + BACKEND_URL + "}/health" + options)
                        .process(this::recordAnswer)
                    .doCatch(Exception.class)
                        .process(this::recordFailure)
                    .end()
                .end();
    }

    private Set<String> backendsToProbe() {
        Set<String> urls = new TreeSet<>();
        store.current().ifPresent(view -> {
            for (ModelPolicy policy : view.models().values()) {
                for (Backend backend : policy.backends()) {
                    urls.add(backend.url());
                }
            }
        });
        monitor.retainOnly(urls);
        return urls;
    }

    private void recordAnswer(Exchange exchange) {
        String url = exchange.getMessage().getHeader(BACKEND_URL, String.class);
        Integer status = exchange.getMessage().getHeader(Exchange.HTTP_RESPONSE_CODE, Integer.class);
        if (status != null && status == 200) {
            monitor.recordSuccess(url);
        } else {
            monitor.recordFailure(url, "GET /health answered " + status);
        }
    }

    private void recordFailure(Exchange exchange) {
        String url = exchange.getMessage().getHeader(BACKEND_URL, String.class);
        Throwable cause = exchange.getProperty(Exchange.EXCEPTION_CAUGHT, Throwable.class);
        monitor.recordFailure(url, "GET /health failed: " + (cause == null ? "unknown" : cause.getClass().getSimpleName()
                + ": " + cause.getMessage()));
    }
}
