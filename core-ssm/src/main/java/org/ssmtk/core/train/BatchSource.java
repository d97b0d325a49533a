package org.ssmtk.core.train;

/**
 * Training data as a pure function of (step, micro-batch): a resumed run sees exactly the batches
 * an uninterrupted one would have, without replaying a random stream.
 */
@FunctionalInterface
public interface BatchSource {
    Batch batch(long step, int micro);

    /** A random stream for (seed, step, micro) that does not depend on anything else. */
    static java.util.SplittableRandom random(long seed, long step, int micro) {
        long h = seed * 0x9E3779B97F4A7C15L + step * 0xBF58476D1CE4E5B9L + micro * 0x94D049BB133111EBL;
        return new java.util.SplittableRandom(h ^ (h >>> 31));
    }
}
