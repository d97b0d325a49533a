package org.ssmtk.audio.sample;

import org.ssmtk.core.train.Batch;
import org.ssmtk.core.train.BatchSource;

import java.util.List;
import java.util.SplittableRandom;

/**
 * Labelled windows of {@code len} quantized samples for sequence classification, balanced: each row
 * draws its class uniformly, then a window uniformly over that class's window starts, as a pure
 * function of (seed, step, micro-batch), so a resumed run sees the batches an uninterrupted one would.
 */
public final class LabeledClipWindows implements BatchSource {
    private final int[][][] clips;
    private final long[][] cumulative;
    private final int len, batch;
    private final long seed;

    private LabeledClipWindows(int[][][] clips, long[][] cumulative, int len, int batch, long seed) {
        this.clips = clips;
        this.cumulative = cumulative;
        this.len = len;
        this.batch = batch;
        this.seed = seed;
    }

    /** @throws IllegalArgumentException "class C: ..." when class C has no clip holding a whole window */
    public static LabeledClipWindows of(List<List<int[]>> classes, int len, int batch, long seed) {
        if (len < 1) throw new IllegalArgumentException("windows need at least 1 sample, got " + len);
        if (batch < 1) throw new IllegalArgumentException("batch must be positive, got " + batch);
        if (classes.size() < 2) throw new IllegalArgumentException("a classifier needs at least 2 classes, got " + classes.size());
        int[][][] clips = new int[classes.size()][][];
        long[][] cum = new long[classes.size()][];
        for (int c = 0; c < classes.size(); c++) {
            List<int[]> usable = classes.get(c).stream().filter(x -> x.length >= len).toList();
            if (usable.isEmpty()) {
                int longest = classes.get(c).stream().mapToInt(x -> x.length).max().orElse(0);
                throw new IllegalArgumentException("class " + c + ": no training clip holds a window of " + len + " samples (the longest has " + longest + ")");
            }
            clips[c] = usable.toArray(int[][]::new);
            cum[c] = new long[usable.size()];
            long total = 0;
            for (int i = 0; i < usable.size(); i++) cum[c][i] = total += usable.get(i).length - len + 1;
        }
        return new LabeledClipWindows(clips, cum, len, batch, seed);
    }

    @Override
    public Batch batch(long step, int micro) {
        SplittableRandom random = BatchSource.random(seed, step, micro);
        int[] ids = new int[batch * len], labels = new int[batch];
        for (int row = 0; row < batch; row++) {
            int c = random.nextInt(clips.length);
            long[] cum = cumulative[c];
            long k = random.nextLong(cum[cum.length - 1]);
            int i = java.util.Arrays.binarySearch(cum, k + 1);
            if (i < 0) i = -i - 1;
            int start = (int) (k - (i == 0 ? 0 : cum[i - 1]));
            System.arraycopy(clips[c][i], start, ids, row * len, len);
            labels[row] = c;
        }
        return Batch.labeled(ids, labels, batch, len);
    }
}
