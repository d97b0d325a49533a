package org.ssmtk.core.backend;

import java.util.Arrays;

/**
 * The sampling rule of {@link Backend#sample} on the host: one definition that the host
 * {@code Sampler} and the default (CPU) implementation share, and that the CUDA kernel follows.
 */
public final class TokenSampling {
    private TokenSampling() {}

    /**
     * Picks from logits[offset, offset + vocab). Temperature 0: the first index of the largest
     * logit. Otherwise the candidates are the logits >= the topK-th largest (topK 0 or >= vocab:
     * all), weighted exp((l - max) / T) in double with max over the candidates; walking up the
     * indices, the pick is the first candidate where {@code u * total} minus the weights so far
     * drops below 0 (u in [0, 1), one uniform draw); if rounding leaves none, the last weighted one.
     */
    public static int pick(float[] logits, int offset, int vocab, double temperature, int topK, double u) {
        if (temperature == 0) {
            int best = 0;
            for (int i = 1; i < vocab; i++) if (logits[offset + i] > logits[offset + best]) best = i;
            return best;
        }
        float threshold = Float.NEGATIVE_INFINITY;
        if (topK > 0 && topK < vocab) {
            float[] sorted = Arrays.copyOfRange(logits, offset, offset + vocab);
            Arrays.sort(sorted);
            threshold = sorted[vocab - topK];
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocab; i++) if (logits[offset + i] >= threshold) max = Math.max(max, logits[offset + i]);
        double[] p = new double[vocab];
        double sum = 0;
        for (int i = 0; i < vocab; i++) {
            float l = logits[offset + i];
            p[i] = l >= threshold ? Math.exp((l - max) / temperature) : 0;
            sum += p[i];
        }
        double left = u * sum;
        int last = 0;
        for (int i = 0; i < vocab; i++) {
            if (p[i] == 0) continue;
            last = i;
            left -= p[i];
            if (left < 0) return i;
        }
        return last;
    }

    /** The arguments of {@link Backend#sample}, checked the same way by every backend. */
    public static void check(int rows, int cols, int vocab, double temperature, int topK, double[] uniforms) {
        if (vocab < 1 || vocab > cols)
            throw new IllegalArgumentException("sampling " + vocab + " candidates from rows of " + cols + " logits");
        if (temperature < 0 || Double.isNaN(temperature) || Double.isInfinite(temperature))
            throw new IllegalArgumentException("temperature must be >= 0 and finite, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0, got " + topK);
        if (temperature > 0 && (uniforms == null || uniforms.length != rows))
            throw new IllegalArgumentException("sampling " + rows + " rows needs as many uniforms, got "
                    + (uniforms == null ? "none" : uniforms.length));
    }
}
