package dev.apirouter.reload;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the route reloader has done, for readiness and metrics: per route file its state, and counters.
 *
 * @param source          the watched directory, or the packaged routes' location when the directory is absent
 * @param watching        whether the directory is watched (false for the packaged routes, loaded once)
 * @param initialLoadDone whether the files present at start-up have been loaded (or rejected)
 * @param reloads         file loads and removals applied since start (the initial load included)
 * @param failures        file loads rejected since start (the initial load included)
 * @param retiringRoutes  routes of older generations still finishing their in-flight requests
 * @param files           per file name
 */
public record ReloadStatus(String source, boolean watching, boolean initialLoadDone, long reloads, long failures,
                           int retiringRoutes, Map<String, FileStatus> files) {

    /**
     * One route file.
     *
     * @param state        {@code loaded} (the file's current content runs) or {@code failed} (it was rejected; the
     *                     previous generation, if any, keeps serving)
     * @param generation   the generation that serves, 0 when none does
     * @param routes       the route ids that serve (as written in the file)
     * @param loadedAt     when the serving generation was loaded, null if none
     * @param failedAt     when the last rejection happened, null if none since the last load
     * @param error        the last rejection: position and cause (the same text as the ERROR line), null if none
     * @param sinceStartup whether the file has been rejected since start-up without ever loading
     */
    public record FileStatus(String state, int generation, List<String> routes, Instant loadedAt, Instant failedAt,
                             String error, boolean sinceStartup) {
    }

    /** Up once the initial load is done, unless a file present at start-up has never loaded. */
    public boolean up() {
        return initialLoadDone && files.values().stream().noneMatch(FileStatus::sinceStartup);
    }

    /** For the readiness details: the counters and, per file, its state. */
    public Map<String, Object> details() {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("source", source);
        data.put("watching", watching);
        data.put("reloads", reloads);
        data.put("failures", failures);
        data.put("retiringRoutes", retiringRoutes);
        Map<String, Object> perFile = new LinkedHashMap<>();
        files.forEach((name, f) -> {
            Map<String, Object> file = new LinkedHashMap<>();
            file.put("state", f.state());
            file.put("generation", f.generation());
            file.put("routes", f.routes());
            if (f.loadedAt() != null) {
                file.put("loadedAt", f.loadedAt().toString());
            }
            if (f.failedAt() != null) {
                file.put("failedAt", f.failedAt().toString());
                file.put("error", f.error());
            }
            perFile.put(name, file);
        });
        data.put("files", perFile);
        putReason(data);
        return data;
    }

    /** For the public readiness: the counters and each file's state, without the source directory or errors. */
    public Map<String, Object> summary() {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("watching", watching);
        data.put("reloads", reloads);
        data.put("failures", failures);
        Map<String, Object> perFile = new LinkedHashMap<>();
        files.forEach((name, f) -> perFile.put(name, f.state()));
        data.put("files", perFile);
        putReason(data);
        return data;
    }

    private void putReason(Map<String, Object> data) {
        if (!initialLoadDone) {
            data.put("reason", "the route files are being loaded");
        } else if (!up()) {
            data.put("reason", "a route file has been rejected since start-up");
        }
    }
}
