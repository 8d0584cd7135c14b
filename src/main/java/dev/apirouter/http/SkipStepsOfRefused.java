package dev.apirouter.http;

import org.apache.camel.AsyncCallback;
import org.apache.camel.CamelContext;
import org.apache.camel.Exchange;
import org.apache.camel.NamedNode;
import org.apache.camel.Processor;
import org.apache.camel.spi.InterceptStrategy;
import org.apache.camel.support.AsyncProcessorConverterHelper;
import org.apache.camel.support.processor.DelegateAsyncProcessor;

/**
 * Every step of every route is skipped for a request refused on its head: its route still runs — begun and done, so
 * its policies trace it like any request — but none of its steps (an integrator's route may have no
 * {@code auth-validate} to stop it). Costs one exchange property read per step.
 */
public final class SkipStepsOfRefused implements InterceptStrategy {
    /** Exchange property: this request was refused before its route ran; the consumer answers it. */
    static final String REFUSED = "apirouter.refused";

    @Override
    public Processor wrapProcessorInInterceptors(CamelContext context, NamedNode definition, Processor target,
                                                 Processor nextTarget) {
        return new DelegateAsyncProcessor(AsyncProcessorConverterHelper.convert(target)) {
            @Override
            public boolean process(Exchange exchange, AsyncCallback callback) {
                if (exchange.getProperty(REFUSED) != null) {
                    callback.done(true);
                    return true;
                }
                return super.process(exchange, callback);
            }
        };
    }
}
