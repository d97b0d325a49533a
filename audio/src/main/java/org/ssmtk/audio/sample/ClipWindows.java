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
 * <p>
 * {@link #cut} draws longer stretches and cuts each into consecutive windows of {@code len}: runs
 * at different window lengths with the same draw length, seed and samples per step then train on
 * the same samples in the same order, and differ only in how far back each window's state reaches
 * (a comparison of context lengths is otherwise also one of how many independent stretches a step
 * averages over).
 */
public final class ClipWindows implements BatchSource {
    private final int[][] clips;
    private final WindowStarts starts;
    private final int len, batch, drawLen, draws;
    private final long seed;

    private ClipWindows(int[][] clips, int len, int batch, int drawLen, long seed) {
        this.clips = clips;
        this.starts = new WindowStarts(java.util.Arrays.stream(clips).mapToInt(c -> c.length).toArray(), drawLen);
        this.len = len;
        this.batch = batch;
        this.drawLen = drawLen;
        this.draws = (int) ((long) batch * len / drawLen);
        this.seed = seed;
    }

    /** @throws IllegalArgumentException when no clip holds a whole window */
    public static ClipWindows of(List<int[]> clips, int len, int batch, long seed) {
        return cut(clips, len, len, batch, seed);
    }

    /**
     * {@code batch} windows of {@code len} a step, cut from {@code batch * len / drawLen} random stretches
     * of {@code drawLen} samples (window i of a stretch is its samples [i len, (i + 1) len)).
     *
     * @throws IllegalArgumentException when drawLen is not a multiple of len, batch * len not one of
     *                                  drawLen, or no clip holds a whole stretch
     */
    public static ClipWindows cut(List<int[]> clips, int drawLen, int len, int batch, long seed) {
        if (len < 2) throw new IllegalArgumentException("windows need at least 2 samples, got " + len);
        if (batch < 1) throw new IllegalArgumentException("batch must be positive, got " + batch);
        if (drawLen % len != 0)
            throw new IllegalArgumentException("the draw length " + drawLen + " is not a multiple of the window length " + len);
        if ((long) batch * len % drawLen != 0)
            throw new IllegalArgumentException(batch + " windows of " + len + " samples are not a whole number of " + drawLen + "-sample draws");
        List<int[]> usable = clips.stream().filter(c -> c.length >= drawLen).toList();
        if (usable.isEmpty()) {
            int longest = clips.stream().mapToInt(c -> c.length).max().orElse(0);
            throw new IllegalArgumentException("no training clip holds a window of " + drawLen + " samples (the longest has " + longest + ")");
        }
        return new ClipWindows(usable.toArray(int[][]::new), len, batch, drawLen, seed);
    }

    public long windows() {
        return starts.count();
    }

    @Override
    public Batch batch(long step, int micro) {
        SplittableRandom random = BatchSource.random(seed, step, micro);
        int[] ids = new int[batch * len];
        // a stretch's windows are consecutive rows: row-major, the stretch is copied whole
        for (int d = 0; d < draws; d++) {
            WindowStarts.Start w = starts.draw(random);
            System.arraycopy(clips[w.piece()], w.offset(), ids, d * drawLen, drawLen);
        }
        return Batch.nextToken(ids, batch, len);
    }
}
