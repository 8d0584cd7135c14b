package dev.apirouter.testing;

/** Test teardown. */
public final class Resources {
    private Resources() {
    }

    /**
     * Closes each resource that was made (nulls are skipped: a set-up that failed half-way), in order. Every one is
     * tried; the first failure is thrown, the others suppressed in it.
     */
    public static void close(AutoCloseable... resources) throws Exception {
        Exception first = null;
        for (AutoCloseable resource : resources) {
            if (resource == null) {
                continue;
            }
            try {
                resource.close();
            } catch (Exception e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
