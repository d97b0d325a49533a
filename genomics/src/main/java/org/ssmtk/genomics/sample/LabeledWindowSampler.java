package org.ssmtk.genomics.sample;

import org.ssmtk.core.train.Batch;
import org.ssmtk.core.train.BatchSource;

import java.util.List;
import java.util.SplittableRandom;

/**
 * Random labelled windows for sequence classification, one {@link WindowSampler} per class, as a
 * pure function of (seed, step, micro) like the unlabelled sampler. Balanced (the default) draws
 * each row's class uniformly, so a class with a small genome is not drowned out by a large one;
 * proportional draws classes in proportion to their number of windows, i.e. the data's own prior.
 */
public final class LabeledWindowSampler implements BatchSource {
    private final WindowSampler[] classes;
    private final long[] cumulative; // windows of classes[0..i], inclusive (proportional mode)
    private final int len, batch;
    private final long seed;
    private final boolean balanced;

    private LabeledWindowSampler(WindowSampler[] classes, int len, int batch, long seed, boolean balanced) {
        this.classes = classes;
        this.len = len;
        this.batch = batch;
        this.seed = seed;
        this.balanced = balanced;
        cumulative = new long[classes.length];
        long total = 0;
        for (int i = 0; i < classes.length; i++) cumulative[i] = total += classes[i].windows();
    }

    /**
     * @param regions training regions per class, in label order
     * @throws IllegalArgumentException naming the class index when a class holds no whole window
     */
    public static LabeledWindowSampler of(List<List<Region>> regions, int len, int batch, long seed, boolean reverseComplement,
                                          boolean balanced) {
        if (regions.size() < 2) throw new IllegalArgumentException("classification needs at least 2 classes, got " + regions.size());
        WindowSampler[] samplers = new WindowSampler[regions.size()];
        for (int c = 0; c < samplers.length; c++) {
            try {
                samplers[c] = WindowSampler.of(regions.get(c), len, 1, seed, reverseComplement);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("class " + c + ": " + e.getMessage(), e);
            }
        }
        return new LabeledWindowSampler(samplers, len, batch, seed, balanced);
    }

    @Override
    public Batch batch(long step, int micro) {
        SplittableRandom random = BatchSource.random(seed, step, micro);
        int[] ids = new int[batch * len];
        int[] labels = new int[batch];
        for (int row = 0; row < batch; row++) {
            int c = balanced ? random.nextInt(classes.length) : pick(random.nextLong(cumulative[cumulative.length - 1]));
            labels[row] = c;
            classes[c].draw(random, ids, row * len);
        }
        return Batch.labeled(ids, labels, batch, len);
    }

    private int pick(long k) {
        int c = 0;
        while (cumulative[c] <= k) c++;
        return c;
    }
}
