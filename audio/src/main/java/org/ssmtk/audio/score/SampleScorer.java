package org.ssmtk.audio.score;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.nn.MambaState;
import org.ssmtk.core.tensor.Tensor;

/**
 * Per-sample negative log-likelihood of a waveform model, -log2 p(code_t | codes before it), in bits.
 * The clip is fed in chunks through one recurrent {@link MambaState}, so memory is the state plus one
 * chunk's activations however long the clip, and the result equals one full forward. With a
 * {@code context} the state is reset every {@code context} samples, which reproduces the windows
 * {@code BitsPerSample} scores (train-lm's held-out number) exactly; without, every sample sees the
 * whole clip before it. The first sample of the clip (and of every context piece) has no prediction:
 * NaN. The softmax runs over the model's real vocabulary, as in BitsPerSample, on the backend
 * ({@link Backend#crossEntropyRows}).
 *
 * <p>A clip's context pieces are independent, so up to {@code batch} of them go side by side through
 * one batched state, chunk by chunk (a forward pass holds batch x chunk samples). The clip's shorter
 * last piece rides in the last group, padded past its end: the model is causal, so what follows a
 * piece cannot change its scores, and the padding's own rows are not scored. Pieces of different
 * clips never share a pass, so a clip's numbers do not depend on which clips are scored with it (a
 * scattered run's shards give the unsplit run's tables byte for byte).
 */
public final class SampleScorer {
    private static final double LN2 = Math.log(2);
    private final MambaModel model;
    private final int chunk, context, batch;

    /** One piece at a time. @param context samples per piece with a fresh state, or 0 for the whole clip */
    public SampleScorer(MambaModel model, int chunk, int context) {
        this(model, chunk, context, 1);
    }

    /** @param batch context pieces of a clip fed side by side (no effect without a context) */
    public SampleScorer(MambaModel model, int chunk, int context, int batch) {
        if (chunk < 1) throw new IllegalArgumentException("chunk must be >= 1, got " + chunk);
        if (context < 0) throw new IllegalArgumentException("context must be >= 0, got " + context);
        if (batch < 1) throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        this.model = model;
        this.chunk = chunk;
        this.context = context;
        this.batch = batch;
    }

    public double[] score(int[] codes) {
        double[] out = new double[codes.length];
        int piece = context == 0 ? Math.max(codes.length, 1) : context;
        int pieces = (codes.length + piece - 1) / piece;
        for (int p = 0; p < pieces; p += batch) scoreGroup(codes, p * piece, Math.min(pieces - p, batch), piece, out);
        return out;
    }

    /**
     * Pieces from, from + piece, ... (count of them, the last one cut at the clip's end) side by side:
     * row (b, i) of a chunk's logits predicts the sample after position c + i of piece b, whose code is
     * known up front, so every row is scored in the chunk that computes it.
     */
    private void scoreGroup(int[] codes, int from, int count, int piece, double[] out) {
        Backend backend = model.backend();
        int vocab = model.config().vocabSize();
        int len = Math.min(piece, codes.length - from); // the group's longest piece: its first
        MambaState state = model.newState(count);
        for (int b = 0; b < count; b++) out[from + b * piece] = Double.NaN;
        for (int c = 0; c < len; c += chunk) {
            int n = Math.min(chunk, len - c);
            int[] ids = new int[count * n], targets = new int[count * n];
            for (int b = 0; b < count; b++) {
                int start = from + b * piece, end = Math.min(codes.length, start + piece);
                for (int i = 0; i < n; i++) {
                    int t = start + c + i;
                    // past its end a piece reads its last code again: any valid id does, nothing after it is kept
                    ids[b * n + i] = codes[Math.min(t, end - 1)];
                    targets[b * n + i] = t + 1 < end ? codes[t + 1] : -1;
                }
            }
            Tensor hidden = model.backbone(ids, count, n, state, null);
            Tensor logits = model.logits(hidden);
            backend.release(hidden);
            double[] nats = backend.crossEntropyRows(logits, vocab, targets);
            backend.release(logits);
            for (int b = 0; b < count; b++) {
                int start = from + b * piece;
                for (int i = 0; i < n; i++)
                    if (targets[b * n + i] >= 0) out[start + c + i + 1] = nats[b * n + i] / LN2;
            }
        }
        state.release(backend);
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
