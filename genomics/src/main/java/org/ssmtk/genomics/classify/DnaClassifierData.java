package org.ssmtk.genomics.classify;

import org.ssmtk.core.classify.ClassifierData;
import org.ssmtk.core.classify.SequenceClassifier;
import org.ssmtk.core.train.BatchSource;
import org.ssmtk.genomics.sample.LabeledWindowSampler;
import org.ssmtk.genomics.sample.Region;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * DNA for core's classifier flow: per class, training regions and held-out regions (contig or
 * interval tails). Training windows come from {@link LabeledWindowSampler}; the held-out examples
 * are non-overlapping windows tiling the tails.
 *
 * @param reverseComplement read each training window from the reverse strand with probability 1/2
 * @param balanced          draw classes uniformly (else in proportion to their bases)
 */
public record DnaClassifierData(List<String> classes, List<List<Region>> train, List<List<Region>> held, boolean reverseComplement,
                                boolean balanced) implements ClassifierData {
    /** The reverse complement as the second reading of a window: a sequence and its reverse complement are one molecule. */
    public static final SequenceClassifier.Reading REVERSE_COMPLEMENT = DnaVocabulary::reverseComplement;

    public DnaClassifierData {
        classes = List.copyOf(classes);
        if (train.size() != classes.size() || held.size() != classes.size())
            throw new IllegalArgumentException(classes.size() + " classes, " + train.size() + " training and " + held.size() + " held-out region lists");
    }

    @Override
    public BatchSource trainingWindows(int seqLen, int batch, long seed) {
        return LabeledWindowSampler.of(train, seqLen, batch, seed, reverseComplement, balanced);
    }

    @Override
    public Examples heldOut(int seqLen, int perClass) {
        List<int[]> windows = new ArrayList<>();
        List<Integer> truth = new ArrayList<>();
        for (int c = 0; c < held.size(); c++) {
            List<int[]> w = tile(held.get(c), seqLen, perClass);
            windows.addAll(w);
            for (int i = 0; i < w.size(); i++) truth.add(c);
        }
        return new Examples(windows, truth.stream().mapToInt(Integer::intValue).toArray(),
                "non-overlapping --seq-len windows tiling the last holdout fraction of every region of every class", "windows");
    }

    @Override
    public void describeModel(Path modelDir) throws IOException {
        DnaVocabulary.write(modelDir);
    }

    /**
     * Consecutive, non-overlapping windows of {@code len} ids tiling {@code regions}, at most
     * {@code max} of them spread evenly over all.
     */
    public static List<int[]> tile(List<Region> regions, int len, int max) {
        List<int[]> all = new ArrayList<>();
        for (Region r : regions)
            for (int s = r.start(); s + len <= r.end(); s += len) {
                int[] w = new int[len];
                for (int t = 0; t < len; t++) w[t] = r.ids()[s + t];
                all.add(w);
            }
        return SequenceClassifier.spread(all, max);
    }

    /** DNA ids (bytes, as {@link DnaVocabulary#encode} gives them) as the int tokens a model reads. */
    public static int[] tokens(byte[] ids) {
        int[] t = new int[ids.length];
        for (int i = 0; i < ids.length; i++) t[i] = ids[i];
        return t;
    }
}
