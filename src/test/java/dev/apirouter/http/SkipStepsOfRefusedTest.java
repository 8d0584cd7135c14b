package dev.apirouter.http;

import java.util.concurrent.atomic.AtomicInteger;

import org.apache.camel.AsyncProcessor;
import org.apache.camel.Exchange;
import org.apache.camel.impl.DefaultCamelContext;
import org.apache.camel.support.DefaultExchange;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class SkipStepsOfRefusedTest {
    @Test
    void aStepRunsForAnAdmittedRequestAndNotForARefusedOne() throws Exception {
        DefaultCamelContext context = new DefaultCamelContext();
        AtomicInteger ran = new AtomicInteger();
        AsyncProcessor step = (AsyncProcessor) new SkipStepsOfRefused()
                .wrapProcessorInInterceptors(context, null, e -> ran.incrementAndGet(), null);
        Exchange admitted = new DefaultExchange(context);
        step.process(admitted);
        assertEquals(1, ran.get());
        Exchange refused = new DefaultExchange(context);
        refused.setProperty(SkipStepsOfRefused.REFUSED, Boolean.TRUE);
        step.process(refused);
        assertEquals(1, ran.get(), "skipped");
    }
}
