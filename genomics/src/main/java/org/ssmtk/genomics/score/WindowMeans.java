package org.ssmtk.genomics.score;

import java.io.IOException;

/**
 * Means of per-base scores over consecutive windows of {@code width} bases that start at an
 * interval's start (the last one may be shorter). Unscored (NaN) bases are left out of the mean and
 * a window with no scored base is not emitted, so that a run of N never reads as a score of 0.
 */
public final class WindowMeans implements LikelihoodScorer.Sink {
    /** One window, 0-based half-open in contig coordinates. */
    @FunctionalInterface
    public interface Emitter {
        void window(long start, long end, double mean, int scored) throws IOException;
    }

    private final long origin, end;
    private final int width;
    private final Emitter emitter;
    private long windowStart;
    private double sum;
    private int count;

    /** @param origin the interval's start in the contig; @param end its end */
    public WindowMeans(long origin, long end, int width, Emitter emitter) {
        if (width < 1) throw new IllegalArgumentException("window must be >= 1, got " + width);
        this.origin = origin;
        this.end = end;
        this.width = width;
        this.emitter = emitter;
        this.windowStart = origin;
    }

    @Override
    public void accept(long offset, double[] log2p, int n) throws IOException {
        for (int i = 0; i < n; i++) {
            long pos = origin + offset + i;
            if (pos >= windowStart + width) flush();
            if (!Double.isNaN(log2p[i])) {
                sum += log2p[i];
                count++;
            }
        }
        if (origin + offset + n >= end) flush();
    }

    /**
     * Emits the window in progress when streaming stopped before the interval's end (a scattered
     * job's shard ends there); a no-op once the interval's end has been reached.
     */
    public void finish() throws IOException {
        if (windowStart < end) flush();
    }

    private void flush() throws IOException {
        long windowEnd = Math.min(end, windowStart + width);
        if (count > 0) emitter.window(windowStart, windowEnd, sum / count, count);
        windowStart = windowEnd;
        sum = 0;
        count = 0;
    }
}
