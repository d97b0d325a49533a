package org.ssmtk.audio.score;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.ssmtk.audio.sample.BitsPerSample;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.nn.MambaState;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Tolerances: the scorer's numbers differ from a float64 softmax over one full forward's logits only
 * by float rounding (chunked and batched passes sum in other orders; the backend's exps are summed in
 * float), at most 1.2e-6 bits here; per sample we allow 1e-4 bits against one forward and 2e-5 against
 * the one-piece-at-a-time reference, far below what scoring another piece's samples would give (the
 * codes are random, and their bits differ by tenths between positions).
 */
class SampleScorerTest {
    private static final double LN2 = Math.log(2);

    /** A Mamba-1 and a Mamba-2 (SSD chunks of 16): both stream through their recurrent state. */
    static Stream<Arguments> families() {
        return Stream.of(Arguments.of("mamba", MambaConfig.of(256, 16, 16, 2)),
                Arguments.of("mamba2", MambaConfig.mamba2(256, 16, 16, 2, 8, 16)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void streamedChunksEqualOneForwardAndContextReproducesBitsPerSample(String family, MambaConfig config) {
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, Initializer.reference(config, 4));
            int[] codes = codes(301, 2);
            float[] logits = model.forward(codes, 1, codes.length);
            int stride = config.paddedVocabSize();
            for (int chunk : new int[]{1, 7, 64, 301, 4096}) {
                double[] s = new SampleScorer(model, chunk, 0).score(codes);
                assertTrue(Double.isNaN(s[0]));
                for (int t = 1; t < codes.length; t++)
                    assertEquals(nllBits(logits, (t - 1) * stride, 256, codes[t]), s[t], 1e-4, "chunk " + chunk + " sample " + t);
            }
            // with a fresh state every 100 samples the scored set and mean are BitsPerSample's windows of 100,
            // pieces one at a time and side by side
            for (int batch : new int[]{1, 2, 8}) {
                double[] s = new SampleScorer(model, 33, 100, batch).score(codes);
                SampleScorer.Mean m = SampleScorer.mean(s, 0, s.length);
                assertEquals(301 - 4, m.scored(), "pieces 0-99, 100-199, 200-299, 300: one unscored sample each");
                BitsPerSample.Result b = BitsPerSample.evaluate(model, List.of(codes), 100, 2, 100);
                assertEquals(b.samples(), m.scored());
                assertEquals(b.bitsPerSample(), m.bits(), 1e-5, "batch " + batch);
            }
        }
    }

    /**
     * Batched pieces against the reference, sample by sample: clips of several lengths, contexts that
     * do not divide them (tails of 1, 9, 10, 11, 19 and 29 samples) and ones that do, chunks that do and do not
     * divide the context, batches of 1, fewer than, exactly and more than a clip's pieces.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("families")
    void piecesSideBySideScoreAsOneAtATime(String family, MambaConfig config) {
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, Initializer.reference(config, 5));
            for (int length : new int[]{1, 2, 41, 59, 130}) {
                int[] codes = codes(length, length);
                for (int context : new int[]{0, 2, 10, 30, 40}) {
                    for (int chunk : new int[]{3, 40}) {
                        double[] want = reference(model, codes, chunk, context);
                        for (int batch : new int[]{1, 3, 4, 5, 64}) {
                            String what = "length " + length + " context " + context + " chunk " + chunk + " batch " + batch;
                            double[] got = new SampleScorer(model, chunk, context, batch).score(codes);
                            assertEquals(codes.length, got.length, what);
                            for (int t = 0; t < codes.length; t++) {
                                assertEquals(Double.isNaN(want[t]), Double.isNaN(got[t]), what + " sample " + t + " scored");
                                if (!Double.isNaN(want[t])) assertEquals(want[t], got[t], 2e-5, what + " sample " + t);
                            }
                        }
                    }
                }
            }
        }
    }

    private static int[] codes(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] codes = new int[n];
        for (int i = 0; i < n; i++) codes[i] = 100 + r.nextInt(56);
        return codes;
    }

    /** The scorer as it was: each piece alone with batch 1, chunk by chunk, each logits row's softmax in double on the host. */
    private static double[] reference(MambaModel model, int[] codes, int chunk, int context) {
        double[] out = new double[codes.length];
        int piece = context == 0 ? Math.max(codes.length, 1) : context;
        int stride = model.config().paddedVocabSize(), vocab = model.config().vocabSize();
        for (int from = 0; from < codes.length; from += piece) {
            int to = Math.min(codes.length, from + piece);
            MambaState state = model.newState(1);
            float[] carried = null;
            for (int c = from; c < to; c += chunk) {
                int n = Math.min(chunk, to - c);
                int[] ids = Arrays.copyOfRange(codes, c, c + n);
                float[] logits = model.forward(ids, 1, n, state);
                for (int i = 0; i < n; i++) {
                    if (i == 0 && carried == null) out[c] = Double.NaN;
                    else out[c + i] = i == 0 ? nllBits(carried, 0, vocab, ids[0]) : nllBits(logits, (i - 1) * stride, vocab, ids[i]);
                }
                carried = Arrays.copyOfRange(logits, (n - 1) * stride, n * stride);
            }
        }
        return out;
    }

    private static double nllBits(float[] row, int off, int width, int target) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < width; v++) max = Math.max(max, row[off + v]);
        double sum = 0;
        for (int v = 0; v < width; v++) sum += Math.exp(row[off + v] - max);
        return (max + Math.log(sum) - row[off + target]) / LN2;
    }
}
