package org.ssmtk.genomics.classify;

import org.ssmtk.core.classify.ClassifierData;
import org.ssmtk.core.classify.SequenceClassifier;
import org.ssmtk.core.train.BatchSource;
import org.ssmtk.genomics.sample.LabeledWindowSampler;
import org.ssmtk.genomics.sample.Region;
import org.ssmtk.genomics.tokenize.DnaTokens;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * DNA for core's classifier flow: per class, training regions and held-out regions (contig or
 * interval tails). Training windows come from {@link LabeledWindowSampler}; the held-out examples
 * are non-overlapping windows tiling the tails. Both reach the model as {@code tokens} translates
 * them (ssmtk's DNA ids, or a Caduceus' tokenizer).
 *
 * @param reverseComplement read each training window from the reverse strand with probability 1/2
 * @param balanced          draw classes uniformly (else in proportion to their bases)
 * @param tokens            how the model reads DNA ids
 */
public record DnaClassifierData(List<String> classes, List<List<Region>> train, List<List<Region>> held, boolean reverseComplement,
                                boolean balanced, DnaTokens tokens) implements ClassifierData {
    public DnaClassifierData {
        classes = List.copyOf(classes);
        if (train.size() != classes.size() || held.size() != classes.size())
            throw new IllegalArgumentException(classes.size() + " classes, " + train.size() + " training and " + held.size() + " held-out region lists");
    }

    /** For a model that reads ssmtk's DNA ids. */
    public DnaClassifierData(List<String> classes, List<List<Region>> train, List<List<Region>> held, boolean reverseComplement, boolean balanced) {
        this(classes, train, held, reverseComplement, balanced, DnaTokens.dna());
    }

    @Override
    public BatchSource trainingWindows(int seqLen, int batch, long seed) {
        return tokens.translate(LabeledWindowSampler.of(train, seqLen, batch, seed, reverseComplement, balanced));
    }

    @Override
    public Examples heldOut(int seqLen, int perClass) {
        List<int[]> windows = new ArrayList<>();
        List<Integer> truth = new ArrayList<>();
        for (int c = 0; c < held.size(); c++) {
            List<int[]> w = tile(held.get(c), seqLen, perClass);
            if (tokens.isCaduceus()) w.forEach(tokens::translate); // tile copies the ids, so they are ours to rewrite
            windows.addAll(w);
            for (int i = 0; i < w.size(); i++) truth.add(c);
        }
        return new Examples(windows, truth.stream().mapToInt(Integer::intValue).toArray(),
                "non-overlapping --seq-len windows tiling the last holdout fraction of every region of every class", "windows");
    }

    @Override
    public void describeModel(Path modelDir, int seqLen) throws IOException {
        tokens.write(modelDir, seqLen);
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
}
