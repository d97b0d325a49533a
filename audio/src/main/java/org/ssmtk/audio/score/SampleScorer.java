package org.ssmtk.audio.score;

import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.nn.MambaState;

import java.util.Arrays;

/**
 * Per-sample negative log-likelihood of a waveform model, -log2 p(code_t | codes before it), in bits.
 * The clip is fed in chunks through one recurrent {@link MambaState}, so memory is the state plus one
 * chunk's activations however long the clip, and the result equals one full forward. With a
 * {@code context} the state is reset every {@code context} samples, which reproduces the windows
 * {@code BitsPerSample} scores (train-lm's held-out number) exactly; without, every sample sees the
 * whole clip before it. The first sample of the clip (and of every context piece) has no prediction:
 * NaN. The softmax runs over the model's real vocabulary, as in BitsPerSample.
 */
public final class SampleScorer {
    private static final double LN2 = Math.log(2);
    private final MambaModel model;
    private final int chunk, context;

    /** @param context samples per piece with a fresh state, or 0 for the whole clip */
    public SampleScorer(MambaModel model, int chunk, int context) {
        if (chunk < 1) throw new IllegalArgumentException("chunk must be >= 1, got " + chunk);
        if (context < 0) throw new IllegalArgumentException("context must be >= 0, got " + context);
        this.model = model;
        this.chunk = chunk;
        this.context = context;
    }

    public double[] score(int[] codes) {
        double[] out = new double[codes.length];
        int piece = context == 0 ? Math.max(codes.length, 1) : context;
        for (int p = 0; p < codes.length; p += piece) scorePiece(codes, p, Math.min(codes.length, p + piece), out);
        return out;
    }

    private void scorePiece(int[] codes, int from, int to, double[] out) {
        MambaState state = model.newState(1);
        int stride = model.config().paddedVocabSize(), vocab = model.config().vocabSize();
        float[] carried = null;
        for (int c = from; c < to; c += chunk) {
            int n = Math.min(chunk, to - c);
            int[] ids = Arrays.copyOfRange(codes, c, c + n);
            float[] logits = model.backend().toHost(model.logits(model.backbone(ids, 1, n, state, null)));
            for (int i = 0; i < n; i++) {
                if (i == 0 && carried == null) out[c] = Double.NaN;
                else out[c + i] = i == 0 ? nllBits(carried, 0, vocab, ids[0]) : nllBits(logits, (i - 1) * stride, vocab, ids[i]);
            }
            carried = Arrays.copyOfRange(logits, (n - 1) * stride, n * stride);
        }
    }

    static double nllBits(float[] row, int off, int width, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < width; v++) max = Math.max(max, row[off + v]);
        double sum = 0;
        for (int v = 0; v < width; v++) sum += Math.exp(row[off + v] - max);
        return (max + Math.log(sum) - row[off + target]) / LN2;
    }

    /** Mean bits of the scored (non-NaN) samples in [from, to), and how many there were. */
    public record Mean(double bits, int scored) {}

    public static Mean mean(double[] bits, int from, int to) {
        double s = 0;
        int n = 0;
        for (int i = from; i < to; i++)
            if (!Double.isNaN(bits[i])) {
                s += bits[i];
                n++;
            }
        return new Mean(n == 0 ? Double.NaN : s / n, n);
    }
}
