package org.ssmtk.genomics.variant;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Masked marginals against Caduceus' own code: the fixtures' inputs hold [MASK] at ~15% of
 * positions, so the fixtures' float64 logits there give the masked marginal of every base at every
 * masked position (and, through rc.logits, that of the reverse-complement strand).
 */
class MaskedMarginalScorerTest {
    static final int MASK = 3, PAD = 4, A = 7;
    /** Caduceus' character tokenizer as the fixtures' README states it: A=7 C=8 G=9 T=10 N=11, complements A<->T, C<->G. */
    static final int[] COMPLEMENT = new int[16];

    static {
        for (int i = 0; i < COMPLEMENT.length; i++) COMPLEMENT[i] = i;
        COMPLEMENT[7] = 10; COMPLEMENT[10] = 7; COMPLEMENT[8] = 9; COMPLEMENT[9] = 8;
    }

    static Path fixture(String name) {
        return Path.of("..", "test-data", "fixtures", name).toAbsolutePath().normalize();
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"caduceus-ph-add", "caduceus-ph-ewm", "caduceus-ps-add", "caduceus-ps-ewm", "caduceus-ps-add-unfused"})
    void everyMaskedPositionOfTheFixturesScoresAsCaduceusLogitsSay(String name) throws Exception {
        Path dir = fixture(name);
        try (SafeTensorsReader ref = SafeTensorsReader.open(dir.resolve("reference.safetensors")); CpuBackend cpu = new CpuBackend(2)) {
            int[] shape = ref.info("input_ids").intShape();
            int batch = shape[0], len = shape[1], vocab = ref.info("logits").intShape()[2];
            long[] ids = ref.longs("input_ids"), labels = ref.longs("labels"), rcIds = ref.longs("rc.input_ids");
            double[] logits = ref.doubles("logits"), rcLogits = ref.doubles("rc.logits");
            MambaModel model = MambaModel.load(cpu, MambaCheckpoint.load(dir));
            for (boolean rc : new boolean[]{false, true}) {
                List<MaskedMarginalScorer.Query> queries = new ArrayList<>();
                List<double[]> want = new ArrayList<>();
                for (int b = 0; b < batch; b++) {
                    int[] window = new int[len];
                    for (int t = 0; t < len; t++) window[t] = (int) ids[b * len + t];
                    for (int t = 0; t < len; t++) {
                        if (labels[b * len + t] == PAD) continue; // not masked in the fixture
                        assertEquals(MASK, window[t]);
                        int r = (int) labels[b * len + t];
                        int[][] alts = new int[4][];
                        double[] w = new double[4];
                        for (int k = 0; k < 4; k++) {
                            alts[k] = new int[]{A + k};
                            int at = (b * len + t) * vocab;
                            w[k] = logits[at + A + k] - logits[at + r];
                            if (rc) {
                                // rc.input_ids is flip(complement(input_ids)): position t is at len - 1 - t there
                                assertEquals(MASK, rcIds[b * len + len - 1 - t]);
                                int rt = (b * len + len - 1 - t) * vocab;
                                double other = rcLogits[rt + COMPLEMENT[A + k]] - rcLogits[rt + COMPLEMENT[r]];
                                w[k] = model.strands() == 2 ? w[k] : 0.5 * (w[k] + other);
                                if (model.strands() == 2) // the PS head's score is its reverse complement's already
                                    assertEquals(w[k], other, 1e-9 + 1e-9 * Math.abs(w[k]), "PS: strands agree in the reference itself");
                            }
                        }
                        queries.add(new MaskedMarginalScorer.Query(window, t, new int[]{r}, alts));
                        want.add(w);
                    }
                }
                for (int forwardBatch : new int[]{1, 3, 64}) {
                    MaskedMarginalScorer s = new MaskedMarginalScorer(model, MASK, COMPLEMENT, forwardBatch, rc);
                    assertEquals(rc && model.strands() == 1, s.runsReverseComplement());
                    double[][] got = s.score(queries);
                    double num = 0, den = 0, worst = 0;
                    for (int q = 0; q < queries.size(); q++)
                        for (int k = 0; k < 4; k++) {
                            double d = got[q][k] - want.get(q)[k];
                            num += d * d;
                            den += want.get(q)[k] * want.get(q)[k];
                            worst = Math.max(worst, Math.abs(d));
                            if (queries.get(q).alts()[k][0] == queries.get(q).ref()[0]) assertEquals(0.0, got[q][k], "ALT = REF scores 0");
                        }
                    double rel = Math.sqrt(num / den);
                    System.out.printf("%s rc=%b batch %d: %d masked positions x 4 bases, relative error %.2e (max abs %.2e)%n", name, rc,
                            forwardBatch, queries.size(), rel, worst);
                    assertTrue(queries.size() >= 6 && den > 0, "the fixture has masked positions to check");
                    assertTrue(rel < 1e-5, name + " rc=" + rc + ": relative error " + rel);
                }
            }
        }
    }

    /** Masks by hand and reads one forward of one window: an MNV's score is the sum over its masked bases. */
    static double byHand(MambaModel m, int[] window, int offset, int[] ref, int[] alt) {
        int[] ids = window.clone();
        for (int t = 0; t < ref.length; t++) ids[offset + t] = MASK;
        float[] logits = m.forward(ids, 1, ids.length);
        int v = m.config().paddedVocabSize();
        double s = 0;
        for (int t = 0; t < ref.length; t++) {
            int row = (offset + t) * v;
            double max = Double.NEGATIVE_INFINITY, z = 0; // full log-softmax: the logit difference must equal it
            for (int k = 0; k < v; k++) max = Math.max(max, logits[row + k]);
            for (int k = 0; k < v; k++) z += Math.exp(logits[row + k] - max);
            s += (logits[row + alt[t]] - max - Math.log(z)) - (logits[row + ref[t]] - max - Math.log(z));
        }
        return s;
    }

    @Test
    void windowsOfManyLengthsAndSpansInMixedBatchesEqualEachAlone() throws Exception {
        Random r = new Random(5);
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel m = MambaModel.load(cpu, MambaCheckpoint.load(fixture("caduceus-ph-ewm")));
            List<MaskedMarginalScorer.Query> queries = new ArrayList<>();
            for (int len : new int[]{30, 17, 30, 1, 30, 17, 44, 3}) {
                int[] w = new int[len];
                for (int t = 0; t < len; t++) w[t] = A + r.nextInt(t % 11 == 4 ? 5 : 4);
                int span = Math.min(len, 1 + r.nextInt(3)), offset = r.nextInt(len - span + 1);
                int[] ref = java.util.Arrays.copyOfRange(w, offset, offset + span);
                int[][] alts = new int[3][];
                for (int a = 0; a < 2; a++) {
                    alts[a] = new int[span];
                    for (int t = 0; t < span; t++) alts[a][t] = A + (ref[t] - A + 1 + a + r.nextInt(2)) % 4;
                }
                queries.add(new MaskedMarginalScorer.Query(w, offset, ref, alts)); // the third ALT is not scored
            }
            MaskedMarginalScorer one = new MaskedMarginalScorer(m, MASK, COMPLEMENT, 1, false);
            double[][] alone = one.score(queries);
            for (int q = 0; q < queries.size(); q++) {
                MaskedMarginalScorer.Query query = queries.get(q);
                for (int a = 0; a < 2; a++) {
                    double want = byHand(m, query.window(), query.offset(), query.ref(), query.alts()[a]);
                    assertEquals(want, alone[q][a], 1e-5 + 1e-5 * Math.abs(want), "query " + q + " ALT " + a);
                }
                assertTrue(Double.isNaN(alone[q][2]), "an ALT given as null has no score");
            }
            for (int batch : new int[]{2, 5, 16}) {
                double[][] got = new MaskedMarginalScorer(m, MASK, COMPLEMENT, batch, false).score(queries);
                for (int q = 0; q < queries.size(); q++)
                    for (int a = 0; a < 2; a++) assertEquals(alone[q][a], got[q][a], 1e-5 + 1e-5 * Math.abs(alone[q][a]), "batch " + batch);
            }
            // not masking would let the model read the REF base it is asked about: the scores must differ
            MaskedMarginalScorer.Query q0 = queries.get(0);
            float[] unmasked = m.forward(q0.window(), 1, q0.window().length);
            int v = m.config().paddedVocabSize(), at = q0.offset() * v;
            double peek = unmasked[at + q0.alts()[0][0]] - unmasked[at + q0.ref()[0]];
            double masked = byHand(m, q0.window(), q0.offset(), new int[]{q0.ref()[0]}, new int[]{q0.alts()[0][0]});
            assertFalse(Math.abs(peek - masked) < 1e-4, "masking matters: " + peek + " vs " + masked);
        }
    }
}
