package org.ssmtk.audio.score;

import org.junit.jupiter.api.Test;
import org.ssmtk.audio.sample.BitsPerSample;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaModel;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SampleScorerTest {
    @Test
    void streamedChunksEqualOneForwardAndContextReproducesBitsPerSample() {
        streamedChunksEqualOneForwardAndContextReproducesBitsPerSample(MambaConfig.of(256, 16, 16, 2));
    }

    /** The same through a Mamba-2's recurrent state (SSD chunks of 16). */
    @Test
    void aMamba2StreamsTheSameWay() {
        streamedChunksEqualOneForwardAndContextReproducesBitsPerSample(MambaConfig.mamba2(256, 16, 16, 2, 8, 16));
    }

    private static void streamedChunksEqualOneForwardAndContextReproducesBitsPerSample(MambaConfig config) {
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, Initializer.reference(config, 4));
            SplittableRandom r = new SplittableRandom(2);
            int[] codes = new int[301];
            for (int i = 0; i < codes.length; i++) codes[i] = 100 + r.nextInt(56);
            float[] logits = model.forward(codes, 1, codes.length);
            int stride = config.paddedVocabSize();
            for (int chunk : new int[]{1, 7, 64, 301, 4096}) {
                double[] s = new SampleScorer(model, chunk, 0).score(codes);
                assertTrue(Double.isNaN(s[0]));
                for (int t = 1; t < codes.length; t++)
                    assertEquals(SampleScorer.nllBits(logits, (t - 1) * stride, 256, codes[t]), s[t], 1e-4, "chunk " + chunk + " sample " + t);
            }
            // with a fresh state every 100 samples the scored set and mean are BitsPerSample's windows of 100
            double[] s = new SampleScorer(model, 33, 100).score(codes);
            SampleScorer.Mean m = SampleScorer.mean(s, 0, s.length);
            assertEquals(301 - 4, m.scored(), "pieces 0-99, 100-199, 200-299, 300: one unscored sample each");
            BitsPerSample.Result b = BitsPerSample.evaluate(model, List.of(codes), 100, 2, 100);
            assertEquals(b.samples(), m.scored());
            assertEquals(b.bitsPerSample(), m.bits(), 1e-5);
        }
    }
}
