package dev.apirouter.forward;

import dev.apirouter.call.TokenUsage;
import java.util.List;

import dev.apirouter.fleet.AttemptEnd;
import dev.apirouter.policy.Backend;

/** Several observers seen as one. */
public final class ForwardObservers implements ForwardObserver {
    private final List<ForwardObserver> observers;

    private ForwardObservers(List<ForwardObserver> observers) {
        this.observers = observers;
    }

    public static ForwardObserver of(ForwardObserver... observers) {
        return new ForwardObservers(List.of(observers));
    }

    @Override
    public void attemptStarted(Backend backend) {
        observers.forEach(o -> o.attemptStarted(backend));
    }

    @Override
    public void attemptEnded(Backend backend, AttemptEnd end, int status) {
        observers.forEach(o -> o.attemptEnded(backend, end, status));
    }

    @Override
    public void retried(String model, Backend backend, int status) {
        observers.forEach(o -> o.retried(model, backend, status));
    }

    @Override
    public void connectFailed(Backend backend, Throwable cause) {
        observers.forEach(o -> o.connectFailed(backend, cause));
    }

    @Override
    public void firstChunk(String model, Backend backend, boolean streamed, long nanos) {
        observers.forEach(o -> o.firstChunk(model, backend, streamed, nanos));
    }

    @Override
    public void tokensUsed(String model, Backend backend, TokenUsage usage) {
        observers.forEach(o -> o.tokensUsed(model, backend, usage));
    }

    @Override
    public void streamOpened(boolean streamed) {
        observers.forEach(o -> o.streamOpened(streamed));
    }

    @Override
    public void streamClosed(boolean streamed) {
        observers.forEach(o -> o.streamClosed(streamed));
    }
}
