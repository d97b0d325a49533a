package org.ssmtk.audio.sample;

import org.ssmtk.core.train.Batch;
import org.ssmtk.core.train.BatchSource;
import org.ssmtk.core.train.WindowStarts;

import java.util.List;
import java.util.SplittableRandom;

/**
 * Random windows of {@code len} quantized samples for next-sample training, uniform over all window
 * starts of all clips (a clip contributes in proportion to its length), as a pure function of
 * (seed, step, micro-batch), so that a resumed run sees the batches an uninterrupted one would have.
 */
public final class ClipWindows implements BatchSource {
    private final int[][] clips;
    private final WindowStarts starts;
    private final int len, batch;
    private final long seed;

    private ClipWindows(int[][] clips, int len, int batch, long seed) {
        this.clips = clips;
        this.starts = new WindowStarts(java.util.Arrays.stream(clips).mapToInt(c -> c.length).toArray(), len);
        this.len = len;
        this.batch = batch;
        this.seed = seed;
    }

    /** @throws IllegalArgumentException when no clip holds a whole window */
    public static ClipWindows of(List<int[]> clips, int len, int batch, long seed) {
        if (len < 2) throw new IllegalArgumentException("windows need at least 2 samples, got " + len);
        if (batch < 1) throw new IllegalArgumentException("batch must be positive, got " + batch);
        List<int[]> usable = clips.stream().filter(c -> c.length >= len).toList();
        if (usable.isEmpty()) {
            int longest = clips.stream().mapToInt(c -> c.length).max().orElse(0);
            throw new IllegalArgumentException("no training clip holds a window of " + len + " samples (the longest has " + longest + ")");
        }
        return new ClipWindows(usable.toArray(int[][]::new), len, batch, seed);
    }

    public long windows() {
        return starts.count();
    }

    @Override
    public Batch batch(long step, int micro) {
        SplittableRandom random = BatchSource.random(seed, step, micro);
        int[] ids = new int[batch * len];
        for (int row = 0; row < batch; row++) {
            WindowStarts.Start w = starts.draw(random);
            System.arraycopy(clips[w.piece()], w.offset(), ids, row * len, len);
        }
        return Batch.nextToken(ids, batch, len);
    }
}
