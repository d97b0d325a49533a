package org.ssmtk.core.nn;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.backend.TokenSampling;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.tensor.Tensor;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The sampling rule (TokenSampling) on known distributions, and Backend.sample on the CPU against
 * the host Sampler: the same seed must give the same tokens, row after row.
 */
class SamplerTest {

    @Test
    void greedyTakesTheFirstLargestAmongTheCandidatesOnly() {
        float[] l = {1f, 5f, 2f, 5f, 9f};
        assertEquals(1, TokenSampling.pick(l, 0, 4, 0, 0, 0)); // 9 is padding; the first 5 wins the tie
        assertEquals(3, TokenSampling.pick(l, 2, 2, 0, 0, 0) + 2);
    }

    @Test
    void topKKeepsOnlyTheKLargestAndTheDrawWalksTheirWeights() {
        // weights at T = 1 over the top 2 of {0, ln 3, ln 1 = 0 ... }: logits 0, ln3, -5 -> top 2 are 0 and ln3,
        // probabilities 1/4 and 3/4; u below 1/4 picks index 0, above picks index 1, index 2 never
        float[] l = {0f, (float) Math.log(3), -5f};
        assertEquals(0, TokenSampling.pick(l, 0, 3, 1.0, 2, 0.20));
        assertEquals(1, TokenSampling.pick(l, 0, 3, 1.0, 2, 0.30));
        assertEquals(1, TokenSampling.pick(l, 0, 3, 1.0, 2, 0.999999));
        // without the top-k cut the third token takes its share at the top end
        double p2 = Math.exp(-5) / (1 + 3 + Math.exp(-5));
        assertEquals(2, TokenSampling.pick(l, 0, 3, 1.0, 0, 1 - p2 / 2));
        assertEquals(1, TokenSampling.pick(l, 0, 3, 1.0, 2, 1 - p2 / 2));
        // top-1 is greedy whatever the draw; ties at the threshold are all kept
        assertEquals(1, TokenSampling.pick(l, 0, 3, 0.7, 1, 0.01));
        float[] tie = {2f, 1f, 2f};
        assertEquals(2, TokenSampling.pick(tie, 0, 3, 1.0, 1, 0.9));
    }

    @Test
    void backendSampleOnTheCpuEqualsTheHostSamplerForTheSameSeed() {
        int rows = 7, cols = 40, vocab = 37;
        SplittableRandom r = new SplittableRandom(11);
        float[] logits = new float[rows * cols];
        for (int i = 0; i < logits.length; i++) logits[i] = (float) (3 * r.nextGaussian());
        try (CpuBackend cpu = new CpuBackend(1)) {
            Tensor t = cpu.fromHost(logits, rows, cols);
            for (double temperature : new double[]{0, 0.7, 1.3})
                for (int topK : new int[]{0, 1, 5, 37, 100}) {
                    Sampler host = new Sampler(vocab, temperature, topK, 42), device = new Sampler(vocab, temperature, topK, 42);
                    for (int round = 0; round < 3; round++) {
                        int[] want = new int[rows];
                        for (int row = 0; row < rows; row++) want[row] = host.sample(logits, row * cols);
                        int[] got = device.sample(cpu, t);
                        assertArrayEquals(want, got, "T " + temperature + " top-k " + topK + " round " + round);
                        for (int g : got) assertTrue(g < vocab);
                    }
                }
            assertThrows(IllegalArgumentException.class, () -> cpu.sample(t, 41, 0, 0, null));
            assertThrows(IllegalArgumentException.class, () -> cpu.sample(t, 37, 1.0, 0, new double[rows - 1]));
        }
    }
}
