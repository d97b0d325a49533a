package org.ssmtk.genomics.variant;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CausalWindowScorerTest {
    /** ln P of one window from its own forward (batch 1, no padding), in double: what every batched, padded score must equal. */
    static double alone(MambaModel m, byte[] w) {
        int[] ids = new int[w.length];
        for (int i = 0; i < w.length; i++) ids[i] = w[i];
        float[] logits = m.forward(ids, 1, w.length);
        int v = m.config().paddedVocabSize();
        double sum = 0;
        for (int t = 1; t < w.length; t++) {
            double max = Double.NEGATIVE_INFINITY, z = 0;
            for (int k = 0; k < v; k++) max = Math.max(max, logits[(t - 1) * v + k]);
            for (int k = 0; k < v; k++) z += Math.exp(logits[(t - 1) * v + k] - max);
            sum += logits[(t - 1) * v + ids[t]] - max - Math.log(z);
        }
        return sum;
    }

    @Test
    void paddedBatchesOfMixedLengthsEqualEachWindowAlone() {
        MambaConfig config = MambaConfig.of(DnaVocabulary.SIZE, 32, 16, 2);
        Random r = new Random(11);
        List<byte[]> windows = new ArrayList<>();
        for (int len : new int[]{40, 37, 45, 1, 2, 40, 70, 39}) {
            byte[] w = new byte[len];
            for (int i = 0; i < len; i++) w[i] = (byte) (i % 13 == 5 ? DnaVocabulary.N : DnaVocabulary.A + r.nextInt(4));
            windows.add(w);
        }
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel m = MambaModel.load(cpu, Initializer.reference(config, 7));
            for (int batch : new int[]{1, 3, 8}) {
                CausalWindowScorer s = new CausalWindowScorer(m, batch);
                double[] got = s.logLikelihoods(windows);
                for (int i = 0; i < windows.size(); i++) {
                    double want = alone(m, windows.get(i));
                    assertEquals(want, got[i], 1e-4 + 1e-6 * Math.abs(want), "batch " + batch + " window " + i);
                }
                assertEquals(0.0, got[3], "one base: nothing after the first to score");
                assertTrue(got[6] < got[0], "a longer window of random bases is less likely");
                assertTrue(s.bases() >= 274, "every position is counted");
            }
        }
    }
}
