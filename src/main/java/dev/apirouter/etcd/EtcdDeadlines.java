package dev.apirouter.etcd;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.MethodDescriptor;

/**
 * Puts a deadline on every unary etcd call (get, put, delete, txn, compact, ...). jetcd 0.8.5 sets none, so without
 * this a call to an etcd that accepts connections but never answers would wait forever. Streaming calls (the watch)
 * get no deadline: they are meant to stay open; the store checks that a watch is confirmed in time instead.
 */
final class EtcdDeadlines implements ClientInterceptor {
    private final long millis;

    EtcdDeadlines(Duration deadline) {
        this.millis = Math.max(1, deadline.toMillis());
    }

    @Override
    public <ReqT, RespT> ClientCall<ReqT, RespT> interceptCall(MethodDescriptor<ReqT, RespT> method,
                                                               CallOptions callOptions, Channel next) {
        CallOptions options = callOptions;
        if (method.getType() == MethodDescriptor.MethodType.UNARY && options.getDeadline() == null) {
            options = options.withDeadlineAfter(millis, TimeUnit.MILLISECONDS);
        }
        return next.newCall(method, options);
    }
}
