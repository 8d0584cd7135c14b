package dev.apirouter.http;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which consumer serves a platform-http endpoint when several generations of the same route run side by side during
 * a route reload: the one started last. An older consumer still has its Vert.x route (and requests already being
 * routed may reach it), but it hands every new request to the newest one; when the newest stops (a failed reload
 * rolled back), the previous one serves again.
 */
final class ConsumerHandover {
    private final Map<String, List<StreamingHttpConsumer>> byKey = new ConcurrentHashMap<>();

    void started(String key, StreamingHttpConsumer consumer) {
        byKey.compute(key, (k, list) -> {
            List<StreamingHttpConsumer> next = list == null ? new ArrayList<>() : new ArrayList<>(list);
            next.remove(consumer);
            next.add(consumer);
            return List.copyOf(next);
        });
    }

    void stopped(String key, StreamingHttpConsumer consumer) {
        byKey.computeIfPresent(key, (k, list) -> {
            List<StreamingHttpConsumer> next = new ArrayList<>(list);
            next.remove(consumer);
            return next.isEmpty() ? null : List.copyOf(next);
        });
    }

    /** The consumer that serves {@code key} now, or null when none runs. */
    StreamingHttpConsumer newest(String key) {
        List<StreamingHttpConsumer> list = byKey.get(key);
        return list == null ? null : list.get(list.size() - 1);
    }
}
