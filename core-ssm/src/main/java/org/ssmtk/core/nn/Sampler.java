package org.ssmtk.core.nn;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.TokenSampling;
import org.ssmtk.core.tensor.Tensor;

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

    /** Whether this sampler picks the highest logit (temperature 0: it draws nothing). */
    public boolean greedy() {
        return temperature == 0;
    }

    /** The candidates: the first vocabSize logits of a row. */
    public int vocabSize() {
        return vocabSize;
    }

    /** Samples from logits[offset .. offset + vocabSize). */
    public int sample(float[] logits, int offset) {
        return TokenSampling.pick(logits, offset, vocabSize, temperature, topK, temperature == 0 ? 0 : random.nextDouble());
    }

    /**
     * Samples one token per row of logits on their backend ({@link Backend#sample}): the same
     * draws, row after row, as {@link #sample(float[], int)} on each row in turn, so that only the
     * ids cross to the host.
     */
    public int[] sample(Backend backend, Tensor logits) {
        int rows = logits.rows2d();
        double[] u = null;
        if (temperature != 0) {
            u = new double[rows];
            for (int r = 0; r < rows; r++) u[r] = random.nextDouble();
        }
        return backend.sample(logits, vocabSize, temperature, topK, u);
    }
}
