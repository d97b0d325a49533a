package org.ssmtk.genomics.score;

import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.nn.MambaState;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.io.IOException;
import java.util.Arrays;

/**
 * Per-base log-likelihood of a next-base DNA language model, log2 p(base_t | bases before it in
 * the same interval), streamed: the interval is fed in chunks through one recurrent
 * {@link MambaState}, so memory is the state plus one chunk's activations however long the
 * interval, and the result equals one full forward over it (the state carries the exact context).
 * <p>
 * Not scored (NaN): the first base of an interval (nothing precedes it; the models are trained
 * without a BOS token) and every non-A/C/G/T base. N bases are still fed, so later positions keep
 * their place and their context is what the model sees in training.
 * <p>
 * The softmax runs over the model's whole (padded) output row, as {@code BitsPerBase} does, so that
 * the mean over held-out tails is the number {@code dna pretrain} reports.
 */
public final class LikelihoodScorer {
    /** Encoded ids ({@link DnaVocabulary}) of bases {@code [from, to)} of the interval. */
    @FunctionalInterface
    public interface Source {
        byte[] ids(long from, long to) throws IOException;
    }

    /** Scores of bases {@code [offset, offset + count)}; NaN where not scored. The array is reused. */
    @FunctionalInterface
    public interface Sink {
        void accept(long offset, double[] log2p, int count) throws IOException;
    }

    private static final double LN2 = Math.log(2);
    private final MambaModel model;
    private final int chunk, skipAfterN;
    private long afterN;

    public LikelihoodScorer(MambaModel model, int chunk) {
        this(model, chunk, 0);
    }

    /**
     * @param skipAfterN bases left unscored (but fed) after each N: a model that never saw N in
     *                   training gives the bases after a gap -11 to -15 bits, so every assembly gap
     *                   would read as a dip
     */
    public LikelihoodScorer(MambaModel model, int chunk, int skipAfterN) {
        if (chunk < 1) throw new IllegalArgumentException("chunk must be >= 1, got " + chunk);
        if (skipAfterN < 0) throw new IllegalArgumentException("skipAfterN must be >= 0, got " + skipAfterN);
        this.model = model;
        this.chunk = chunk;
        this.skipAfterN = skipAfterN;
    }

    /** Scored bases so far (every interval) that directly follow an N: the ones a caller may want to warn about. */
    public long scoredRightAfterN() {
        return afterN;
    }

    /** Streams an interval of {@code length} bases and returns how many were scored. */
    public long score(Source source, long length, Sink sink) throws IOException {
        MambaState state = model.newState(1);
        int stride = model.config().paddedVocabSize();
        double[] out = new double[(int) Math.min(chunk, Math.max(length, 1))];
        // The last logits row of a chunk predicts the first base of the next one.
        float[] carried = null;
        long scored = 0, sinceN = Long.MAX_VALUE; // bases since the last N, across chunks
        for (long from = 0; from < length; from += chunk) {
            int n = (int) Math.min(chunk, length - from);
            byte[] enc = source.ids(from, from + n);
            if (enc.length != n) throw new IllegalStateException("source gave " + enc.length + " ids for " + n + " bases at " + from);
            int[] ids = new int[n];
            for (int i = 0; i < n; i++) ids[i] = enc[i];
            float[] logits = model.backend().toHost(model.logits(model.backbone(ids, 1, n, state, null)));
            for (int i = 0; i < n; i++) {
                int target = ids[i];
                boolean base = target >= DnaVocabulary.A && target <= DnaVocabulary.T;
                long gap = sinceN;
                sinceN = target == DnaVocabulary.N ? 0 : sinceN == Long.MAX_VALUE ? sinceN : sinceN + 1;
                if (!base || (i == 0 && carried == null) || gap < skipAfterN) {
                    out[i] = Double.NaN;
                    continue;
                }
                out[i] = i == 0 ? log2Softmax(carried, 0, stride, target) : log2Softmax(logits, (i - 1) * stride, stride, target);
                if (gap == 0) afterN++;
                scored++;
            }
            carried = Arrays.copyOfRange(logits, (n - 1) * stride, n * stride);
            sink.accept(from, out, n);
        }
        return scored;
    }

    static double log2Softmax(float[] row, int off, int width, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < width; v++) max = Math.max(max, row[off + v]);
        double sum = 0;
        for (int v = 0; v < width; v++) sum += Math.exp(row[off + v] - max);
        return (row[off + target] - max - Math.log(sum)) / LN2;
    }
}
