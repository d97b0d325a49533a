package org.ssmtk.core.backend.cuda;

import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * Fixed seeds for the GPU tests (JUnit runs them one at a time): each test, and each parameter row,
 * starts from a seed derived from its unique id, so every run draws the same inputs and a failure
 * reproduces by rerunning that test; a failing test prints its seed.
 */
final class Seeds implements BeforeEachCallback, TestWatcher {
    private static long first, next;

    /** The next seed of the running test. */
    static synchronized long next() {
        return next++;
    }

    @Override
    public void beforeEach(ExtensionContext context) {
        long seed = of(context.getUniqueId());
        synchronized (Seeds.class) {
            first = next = seed;
        }
    }

    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
        long seed;
        synchronized (Seeds.class) {
            seed = first;
        }
        System.err.println("[seed] " + context.getRequiredTestClass().getSimpleName() + " " + context.getDisplayName()
                + " failed; its inputs come from seed " + seed + " (fixed: derived from its id " + context.getUniqueId() + ")");
    }

    /** A 64-bit string hash: the same id gives the same seed on every JVM. */
    static long of(String id) {
        long h = 1125899906842597L;
        for (int i = 0; i < id.length(); i++) h = 31 * h + id.charAt(i);
        return h;
    }
}
