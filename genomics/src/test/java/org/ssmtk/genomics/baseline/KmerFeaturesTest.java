package org.ssmtk.genomics.baseline;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.eval.SoftmaxRegression;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KmerFeaturesTest {
    static int[] ids(String bases) {
        byte[] enc = DnaVocabulary.encode(bases.getBytes(StandardCharsets.US_ASCII));
        int[] out = new int[enc.length];
        for (int i = 0; i < enc.length; i++) out[i] = enc[i];
        return out;
    }

    static double value(KmerFeatures f, SoftmaxRegression.Features v, String kmer) {
        for (int j = 0; j < v.index().length; j++) if (f.kmer(v.index()[j]).equals(kmer)) return v.value()[j];
        return 0;
    }

    @Test
    void countsEachKmerWithItsReverseComplementScaledToOneForUniform() {
        KmerFeatures f = new KmerFeatures(2);
        // AACG: 2-mers AA, AC, CG; with reverse complements TT, GT, CG: 6 counts over 16 features.
        SoftmaxRegression.Features v = f.of(ids("AACG"));
        assertEquals(16.0 / 6, value(f, v, "AA"), 1e-6);
        assertEquals(16.0 / 6, value(f, v, "TT"), 1e-6);
        assertEquals(16.0 / 6, value(f, v, "AC"), 1e-6);
        assertEquals(16.0 / 6, value(f, v, "GT"), 1e-6);
        assertEquals(2 * 16.0 / 6, value(f, v, "CG"), 1e-6); // CG is its own reverse complement
        assertEquals(5, v.index().length);
        double sum = 0;
        for (float x : v.value()) sum += x;
        assertEquals(16, sum, 1e-5); // mean over the 16 features is 1
    }

    @Test
    void aWindowAndItsReverseComplementHaveTheSameFeaturesAndNBreaksKmers() {
        KmerFeatures f = new KmerFeatures(4);
        int[] w = ids("ACGGTTACGATCCGATNNACGTTAGC");
        int[] rc = w.clone();
        DnaVocabulary.reverseComplement(rc, 0, rc.length);
        SoftmaxRegression.Features a = f.of(w), b = f.of(rc);
        assertArrayEquals(a.index(), b.index());
        assertArrayEquals(a.value(), b.value());
        assertEquals(0, f.of(ids("ACGNACGN")).index().length); // no whole 4-mer
        assertEquals("ACGT", f.kmer(0b00011011));
    }

    @Test
    void softmaxRegressionSeparatesCompositionClassesAndIsDeterministic() {
        KmerFeatures f = new KmerFeatures(2);
        SplittableRandom r = new SplittableRandom(1);
        List<SoftmaxRegression.Features> x = new ArrayList<>();
        int[] y = new int[200];
        for (int i = 0; i < y.length; i++) {
            y[i] = i % 2;
            x.add(f.of(ids(random(r, y[i] == 0 ? 0.3 : 0.7, 100))));
        }
        SoftmaxRegression m = SoftmaxRegression.fit(x, y, 2, f.dimensions(), 100, 0.05, 1e-4, null);
        int right = 0;
        for (int i = 0; i < 100; i++) {
            int c = i % 2;
            double[] p = m.probabilities(f.of(ids(random(r, c == 0 ? 0.3 : 0.7, 100))));
            assertEquals(1, p[0] + p[1], 1e-9);
            if ((p[1] > p[0] ? 1 : 0) == c) right++;
        }
        assertTrue(right >= 95, right + " of 100");
        SoftmaxRegression again = SoftmaxRegression.fit(x, y, 2, f.dimensions(), 100, 0.05, 1e-4, null);
        assertArrayEquals(m.probabilities(x.get(3)), again.probabilities(x.get(3)));
    }

    static String random(SplittableRandom r, double gc, int n) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < n; i++) s.append(r.nextDouble() < gc ? (r.nextBoolean() ? 'G' : 'C') : (r.nextBoolean() ? 'A' : 'T'));
        return s.toString();
    }
}
