package org.ssmtk.genomics.score;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LikelihoodScorerTest {
    /** Bases with a run of N in the middle and one N at a chunk edge. */
    static byte[] sequence(int len, long seed) {
        Random r = new Random(seed);
        byte[] ids = new byte[len];
        for (int i = 0; i < len; i++) ids[i] = (byte) (DnaVocabulary.A + r.nextInt(4));
        Arrays.fill(ids, 40, 55, (byte) DnaVocabulary.N);
        ids[7] = (byte) DnaVocabulary.N;
        return ids;
    }

    static double[] stream(MambaModel model, byte[] ids, int chunk) throws Exception {
        double[] all = new double[ids.length];
        new LikelihoodScorer(model, chunk).score((from, to) -> Arrays.copyOfRange(ids, (int) from, (int) to), ids.length,
                (offset, v, n) -> System.arraycopy(v, 0, all, (int) offset, n));
        return all;
    }

    @Test
    void streamedChunksEqualOneFullForward() throws Exception {
        streamedChunksEqualOneFullForward(MambaConfig.of(DnaVocabulary.SIZE, 32, 16, 2));
    }

    /** The same through a Mamba-2's recurrent state: SSD chunks of 16 that the streamed chunks cut anywhere. */
    @Test
    void streamedChunksOfAMamba2EqualOneFullForward() throws Exception {
        streamedChunksEqualOneFullForward(MambaConfig.mamba2(DnaVocabulary.SIZE, 32, 16, 2, 16, 16));
    }

    private static void streamedChunksEqualOneFullForward(MambaConfig config) throws Exception {
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, Initializer.reference(config, 3));
            byte[] ids = sequence(203, 5);
            int[] in = new int[ids.length];
            for (int i = 0; i < in.length; i++) in[i] = ids[i];
            float[] logits = model.forward(in, 1, in.length);
            int stride = config.paddedVocabSize();
            double[] full = new double[ids.length];
            for (int t = 0; t < ids.length; t++)
                full[t] = t == 0 || !DnaVocabulary.isBase(in[t]) || in[t] == DnaVocabulary.N ? Double.NaN
                        : LikelihoodScorer.log2Softmax(logits, (t - 1) * stride, stride, in[t]);
            for (int chunk : new int[]{1, 3, 7, 64, 203, 4096}) {
                double[] s = stream(model, ids, chunk);
                for (int t = 0; t < ids.length; t++) {
                    if (Double.isNaN(full[t])) assertTrue(Double.isNaN(s[t]), "chunk " + chunk + " pos " + t);
                    else assertEquals(full[t], s[t], 1e-5, "chunk " + chunk + " pos " + t);
                }
            }
            assertTrue(Double.isNaN(full[0]) && Double.isNaN(full[7]) && Double.isNaN(full[47]));
            // Probabilities over the 4 bases stay below 1 in total: log2 p < 0 everywhere scored.
            for (double v : full) assertTrue(Double.isNaN(v) || v < 0);
        }
    }

    @Test
    void windowMeansSkipUnscoredBasesAndEmptyWindows() throws Exception {
        List<String> got = new ArrayList<>();
        WindowMeans w = new WindowMeans(100, 125, 10, (s, e, mean, n) -> got.add(s + "-" + e + ":" + mean + "/" + n));
        double[] v = new double[25];
        Arrays.fill(v, -2);
        v[0] = Double.NaN;
        Arrays.fill(v, 10, 20, Double.NaN);
        v[24] = -4;
        w.accept(0, Arrays.copyOfRange(v, 0, 13), 13);
        w.accept(13, Arrays.copyOfRange(v, 13, 25), 12);
        assertEquals(List.of("100-110:-2.0/9", "120-125:-2.4/5"), got);
    }

    /** Issue 15: every base after an N was scored (-11 to -15 bits with a model that never saw N); now skippable, and counted. */
    @Test
    void basesAfterAnNAreSkippedOnRequestAndCounted() throws Exception {
        MambaConfig config = MambaConfig.of(DnaVocabulary.SIZE, 32, 16, 2);
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, Initializer.reference(config, 3));
            byte[] ids = sequence(120, 9);
            for (int p : new int[]{20, 21, 22, 60, 118}) ids[p] = (byte) DnaVocabulary.N; // runs end at 22, 60, 118
            for (int p = 0; p < ids.length; p++) if (ids[p] == DnaVocabulary.N && !java.util.Set.of(7, 20, 21, 22, 60, 118).contains(p)) ids[p] = (byte) DnaVocabulary.A;
            for (int chunk : new int[]{1, 5, 64}) {
                double[] plain = new double[ids.length], skipped = new double[ids.length];
                LikelihoodScorer all = new LikelihoodScorer(model, chunk), skip3 = new LikelihoodScorer(model, chunk, 3);
                long n0 = all.score((f, t) -> Arrays.copyOfRange(ids, (int) f, (int) t), ids.length, (o, v, n) -> System.arraycopy(v, 0, plain, (int) o, n));
                long n3 = skip3.score((f, t) -> Arrays.copyOfRange(ids, (int) f, (int) t), ids.length, (o, v, n) -> System.arraycopy(v, 0, skipped, (int) o, n));
                // N at 7 (from sequence()), 20..22, 60, 118; bases right after them: 8, 23, 61, 119
                assertEquals(4, all.scoredRightAfterN(), "chunk " + chunk);
                assertEquals(0, skip3.scoredRightAfterN());
                for (int p : new int[]{8, 9, 10, 23, 24, 25, 61, 62, 63, 119}) {
                    assertTrue(!Double.isNaN(plain[p]) && Double.isNaN(skipped[p]), "chunk " + chunk + " pos " + p);
                }
                for (int p : new int[]{11, 26, 64}) assertEquals(plain[p], skipped[p], 0.0, "fed, so later bases score the same: pos " + p);
                assertEquals(n0 - 10, n3);
            }
        }
    }
}
