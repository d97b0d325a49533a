package org.ssmtk.genomics.variant;

import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.nn.MambaModel;

import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Log-likelihoods of whole windows under a causal (next-base) model, several windows per forward:
 * ln P(window) = sum over t >= 1 of ln p(x_t | x_0..x_{t-1}). The first base is not scored (the models
 * are trained without a BOS token, as {@code dna score} reads them); every later base is, N included,
 * so that a window's probability is that of its whole sequence.
 * <p>
 * Windows of one forward may differ in length (indels): they are sorted by length, so that each
 * forward holds windows of about the same length, and right-padded. Padding cannot change a score:
 * the convolution and the scan are causal, so position t's logits depend only on ids 0..t.
 * The softmax runs over the model's whole (padded) output row, as {@code LikelihoodScorer} and
 * {@code BitsPerBase} do.
 */
public final class CausalWindowScorer {
    private final MambaModel model;
    private final int batch;
    private long bases;

    public CausalWindowScorer(MambaModel model, int batch) {
        if (batch < 1) throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        this.model = model;
        this.batch = batch;
    }

    /** ln P of each window (ids of {@code DnaVocabulary}), in the order given. */
    public double[] logLikelihoods(List<byte[]> windows) {
        int n = windows.size();
        double[] out = new double[n];
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingInt(i -> windows.get(i).length));
        int stride = model.config().paddedVocabSize();
        for (int from = 0; from < n; from += batch) {
            int rows = Math.min(batch, n - from);
            int len = 1;
            for (int r = 0; r < rows; r++) len = Math.max(len, windows.get(order[from + r]).length);
            // At least CpuBackend.MATMUL_KERNEL_ROWS token rows (rows of copies of the last window added): the
            // CPU matmuls switch kernels, which round differently, below that, and a window's score must not
            // depend on how many windows share its forward (a scattered run's shards share fewer)
            int run = Math.max(rows, (CpuBackend.MATMUL_KERNEL_ROWS + len - 1) / len);
            int[] ids = new int[run * len]; // padding: id 0 ([PAD]), after each window's end
            for (int r = 0; r < run; r++) {
                byte[] w = windows.get(order[from + Math.min(r, rows - 1)]);
                for (int t = 0; t < w.length; t++) ids[r * len + t] = w[t];
            }
            float[] logits = model.forward(ids, run, len);
            bases += (long) run * len;
            for (int r = 0; r < rows; r++) {
                byte[] w = windows.get(order[from + r]);
                double sum = 0;
                for (int t = 1; t < w.length; t++) sum += logSoftmax(logits, ((long) r * len + t - 1) * stride, stride, w[t]);
                out[order[from + r]] = sum;
            }
        }
        return out;
    }

    /** Positions run through the model so far, padding included: the work done, for throughput. */
    public long bases() {
        return bases;
    }

    static double logSoftmax(float[] row, long offset, int width, int target) {
        int off = Math.toIntExact(offset);
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < width; v++) max = Math.max(max, row[off + v]);
        double sum = 0;
        for (int v = 0; v < width; v++) sum += Math.exp(row[off + v] - max);
        return row[off + target] - max - Math.log(sum);
    }
}
