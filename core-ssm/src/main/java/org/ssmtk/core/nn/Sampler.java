package org.ssmtk.core.nn;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Picks the next token from logits: greedy at temperature 0, otherwise softmax(logits / T) restricted
 * to the top-k logits (k = 0: no restriction). Only the first vocabSize logits are candidates, so
 * padding rows of a padded vocabulary are never sampled. Seeded, hence reproducible.
 */
public final class Sampler {
    private final int vocabSize;
    private final double temperature;
    private final int topK;
    private final SplittableRandom random;

    public Sampler(int vocabSize, double temperature, int topK, long seed) {
        if (temperature < 0 || Double.isNaN(temperature)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0, got " + topK);
        this.vocabSize = vocabSize;
        this.temperature = temperature;
        this.topK = topK;
        this.random = new SplittableRandom(seed);
    }

    /** Samples from logits[offset .. offset + vocabSize). */
    public int sample(float[] logits, int offset) {
        if (temperature == 0) {
            int best = 0;
            for (int i = 1; i < vocabSize; i++) if (logits[offset + i] > logits[offset + best]) best = i;
            return best;
        }
        float threshold = Float.NEGATIVE_INFINITY;
        if (topK > 0 && topK < vocabSize) {
            float[] sorted = Arrays.copyOfRange(logits, offset, offset + vocabSize);
            Arrays.sort(sorted);
            threshold = sorted[vocabSize - topK];
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < vocabSize; i++) if (logits[offset + i] >= threshold) max = Math.max(max, logits[offset + i]);
        double[] p = new double[vocabSize];
        double sum = 0;
        for (int i = 0; i < vocabSize; i++) {
            float l = logits[offset + i];
            p[i] = l >= threshold ? Math.exp((l - max) / temperature) : 0;
            sum += p[i];
        }
        double u = random.nextDouble() * sum;
        int last = 0;
        for (int i = 0; i < vocabSize; i++) {
            if (p[i] == 0) continue;
            last = i;
            u -= p[i];
            if (u < 0) return i;
        }
        return last;
    }
}
