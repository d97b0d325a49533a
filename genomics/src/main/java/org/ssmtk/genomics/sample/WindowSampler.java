package org.ssmtk.genomics.sample;

import org.ssmtk.core.train.Batch;
import org.ssmtk.core.train.BatchSource;
import org.ssmtk.core.train.WindowStarts;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.util.List;
import java.util.SplittableRandom;

/**
 * Random windows of {@code len} bases for next-base training, drawn uniformly over all window
 * start positions of the given regions (so a contig contributes in proportion to its length),
 * as a pure function of (seed, step, micro-batch): a resumed run sees the batches an
 * uninterrupted one would have. With reverse-complement augmentation each window is read from
 * the other strand with probability 1/2, since a genome's two strands are equally real.
 */
public final class WindowSampler implements BatchSource {
    private final Region[] regions;
    private final WindowStarts starts;
    private final int len, batch;
    private final long seed;
    private final boolean reverseComplement;

    private WindowSampler(Region[] regions, int len, int batch, long seed, boolean reverseComplement) {
        this.regions = regions;
        this.starts = new WindowStarts(java.util.Arrays.stream(regions).mapToInt(Region::length).toArray(), len);
        this.len = len;
        this.batch = batch;
        this.seed = seed;
        this.reverseComplement = reverseComplement;
    }

    /**
     * @throws IllegalArgumentException when no region holds a whole window
     */
    public static WindowSampler of(List<Region> regions, int len, int batch, long seed, boolean reverseComplement) {
        if (len < 2) throw new IllegalArgumentException("windows need at least 2 bases, got " + len);
        if (batch < 1) throw new IllegalArgumentException("batch must be positive, got " + batch);
        List<Region> usable = regions.stream().filter(r -> r.length() >= len).toList();
        if (usable.isEmpty()) {
            int longest = regions.stream().mapToInt(Region::length).max().orElse(0);
            throw new IllegalArgumentException("no training region holds a window of " + len + " bases (the longest has " + longest + ")");
        }
        return new WindowSampler(usable.toArray(Region[]::new), len, batch, seed, reverseComplement);
    }

    /** Number of distinct windows (start positions) to draw from. */
    public long windows() {
        return starts.count();
    }

    @Override
    public Batch batch(long step, int micro) {
        SplittableRandom random = BatchSource.random(seed, step, micro);
        int[] ids = new int[batch * len];
        for (int row = 0; row < batch; row++) draw(random, ids, row * len);
        return Batch.nextToken(ids, batch, len);
    }

    /**
     * Writes one window drawn with {@code random} into {@code ids[offset, offset + len)}: the
     * labelled sampler draws its rows through this so both kinds of training see the same windows.
     */
    public void draw(SplittableRandom random, int[] ids, int offset) {
        WindowStarts.Start w = starts.draw(random);
        Region r = regions[w.piece()];
        int start = r.start() + w.offset();
        for (int t = 0; t < len; t++) ids[offset + t] = r.ids()[start + t];
        if (reverseComplement && random.nextBoolean()) DnaVocabulary.reverseComplement(ids, offset, len);
    }

    public int length() {
        return len;
    }
}
