package org.ssmtk.audio.baseline;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.eval.SoftmaxRegression;

import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BaselineTest {
    static double log2(double x) { return Math.log(x) / Math.log(2); }

    @Test
    void ngramCountsWithAddOneSmoothing() {
        // codes 0,1,0,1,0 over 4 levels: unigram counts 3,2,0,0 of 5; bigrams 0->1 twice, 1->0 twice
        CodeNgram g = CodeNgram.fit(List.of(new int[]{0, 1, 0, 1, 0}), 4);
        assertEquals(-log2(4.0 / 9), g.unigramBits(0), 1e-12);
        assertEquals(-log2(1.0 / 9), g.unigramBits(3), 1e-12);
        assertEquals(-log2(3.0 / 6), g.bigramBits(0, 1), 1e-12);
        assertEquals(-log2(1.0 / 6), g.bigramBits(0, 0), 1e-12);
        assertEquals(-log2(1.0 / 4), g.bigramBits(2, 3), 1e-12, "an unseen context is uniform");
        CodeNgram.Score s = g.score(List.of(new int[]{0, 1}, new int[]{1, 0, 0}));
        assertEquals(3, s.samples(), "the first sample of every window is not predicted");
        assertEquals((-log2(3.0 / 9) - log2(4.0 / 9) - log2(4.0 / 9)) / 3, s.unigramBitsPerSample(), 1e-12);
        assertEquals((-log2(3.0 / 6) - log2(3.0 / 6) - log2(1.0 / 6)) / 3, s.bigramBitsPerSample(), 1e-12);
        assertThrows(IllegalArgumentException.class, () -> CodeNgram.fit(List.of(new int[]{4}), 4));
    }

    @Test
    void ngramOfAUniformSourceCostsItsEntropy() {
        SplittableRandom r = new SplittableRandom(1);
        int[] a = new int[400_000];
        for (int i = 0; i < a.length; i++) a[i] = r.nextInt(16);
        CodeNgram g = CodeNgram.fit(List.of(a), 256);
        CodeNgram.Score s = g.score(List.of(java.util.Arrays.copyOf(a, 50_000)));
        assertEquals(4, s.unigramBitsPerSample(), 0.01);
        assertTrue(s.bigramBitsPerSample() > s.unigramBitsPerSample(), "a bigram cannot help on independent codes");
    }

    @Test
    void softmaxRegressionSeparatesGaussiansAndIsCalibrated() {
        SplittableRandom r = new SplittableRandom(3);
        int n = 600;
        double[][] x = new double[n][];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = i % 3;
            // class c is centred at (3c, -3c) with a large constant offset and scale: standardization must cope
            x[i] = new double[]{1000 + 100 * (3 * y[i] + r.nextGaussian()), -3 * y[i] + r.nextGaussian(), 7};
        }
        Standardizer st = Standardizer.fit(x);
        java.util.List<SoftmaxRegression.Features> z = new java.util.ArrayList<>();
        for (double[] row : x) z.add(st.apply(row));
        SoftmaxRegression m = SoftmaxRegression.fit(z, y, 3, st.dimensions(), 500, 0.05, 1e-3, null);
        int right = 0;
        for (int i = 0; i < n; i++) {
            double[] p = m.probabilities(st.apply(x[i]));
            assertEquals(1, p[0] + p[1] + p[2], 1e-9);
            int best = p[0] >= p[1] && p[0] >= p[2] ? 0 : p[1] >= p[2] ? 1 : 2;
            if (best == y[i]) right++;
        }
        assertTrue(right > 0.9 * n, right + " of " + n);
        double[] mid = m.probabilities(st.apply(new double[]{1000 + 100 * 1.5, -1.5, 7}));
        assertTrue(Math.abs(mid[0] - mid[1]) < 0.2 && mid[2] < 0.2, "halfway between classes 0 and 1: " + java.util.Arrays.toString(mid));
        assertThrows(IllegalArgumentException.class, () -> SoftmaxRegression.fit(z, new int[n], 1, st.dimensions(), 1, 0.05, 0, null));
        assertEquals(0, st.scale()[2], "a constant feature is dropped, not divided by zero");
    }
}
