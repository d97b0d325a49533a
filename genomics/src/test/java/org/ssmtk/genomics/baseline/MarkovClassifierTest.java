package org.ssmtk.genomics.baseline;

import org.junit.jupiter.api.Test;
import org.ssmtk.genomics.sample.Region;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MarkovClassifierTest {
    /** Bases of an order-1 chain whose next base repeats the last with probability stay (else uniform over the others). */
    private static byte[] chain(double stay, int n, long seed) {
        Random rnd = new Random(seed);
        byte[] ids = new byte[n];
        int prev = 0;
        for (int i = 0; i < n; i++) {
            int b = rnd.nextDouble() < stay ? prev : (prev + 1 + rnd.nextInt(3)) % 4;
            ids[i] = (byte) (DnaVocabulary.A + b);
            prev = b;
        }
        return ids;
    }

    private static int[] window(byte[] ids, int from, int len) {
        int[] w = new int[len];
        for (int i = 0; i < len; i++) w[i] = ids[from + i];
        return w;
    }

    private static double accuracy(MarkovClassifier m, byte[][] held, int len) {
        int right = 0, total = 0;
        for (int c = 0; c < held.length; c++)
            for (int s = 0; s + len <= held[c].length; s += len, total++) {
                double[] p = m.probabilities(window(held[c], s, len));
                int best = 0;
                for (int k = 1; k < p.length; k++) if (p[k] > p[best]) best = k;
                if (best == c) right++;
            }
        return (double) right / total;
    }

    /**
     * Two classes with the same base composition (uniform) that differ only in how a base follows
     * the last: order 0 cannot tell them apart, order 1 can, and better with longer windows.
     */
    @Test
    void separatesClassesThatDifferOnlyBeyondComposition() {
        byte[] a = chain(0.25, 200_000, 1), b = chain(0.40, 200_000, 2);
        List<List<Region>> train = List.of(List.of(new Region("a", a, 0, 150_000)), List.of(new Region("b", b, 0, 150_000)));
        byte[][] held = {java.util.Arrays.copyOfRange(a, 150_000, 200_000), java.util.Arrays.copyOfRange(b, 150_000, 200_000)};
        double order0 = accuracy(MarkovClassifier.fit(train, 0), held, 1000);
        double order1 = accuracy(MarkovClassifier.fit(train, 1), held, 1000);
        double order1Short = accuracy(MarkovClassifier.fit(train, 1), held, 20);
        assertTrue(order0 < 0.65, "order 0 sees only composition: " + order0);
        assertTrue(order1 > 0.99, "order 1: " + order1);
        assertTrue(order1Short < order1 && order1Short > 0.6, "evidence adds up with length: " + order1Short + " at 20 bases");
    }

    /** Counts come from both strands: a class trained on A-rich sequence also owns its T-rich reverse complement. */
    @Test
    void countsTheReverseStrandToo() {
        Random rnd = new Random(3);
        byte[] aRich = new byte[20_000], gcRich = new byte[20_000];
        for (int i = 0; i < aRich.length; i++) {
            aRich[i] = (byte) (rnd.nextDouble() < 0.85 ? DnaVocabulary.A : DnaVocabulary.C + rnd.nextInt(2));
            gcRich[i] = (byte) (DnaVocabulary.C + rnd.nextInt(2));
        }
        MarkovClassifier m = MarkovClassifier.fit(List.of(List.of(new Region("a", aRich, 0, aRich.length)),
                List.of(new Region("gc", gcRich, 0, gcRich.length))), 2);
        int[] tRun = new int[200];
        java.util.Arrays.fill(tRun, DnaVocabulary.T);
        double[] p = m.probabilities(tRun);
        assertTrue(p[0] > 0.999, "a T run is the reverse strand of an A run: " + p[0]);
        assertEquals(2, m.classes());
    }

    /** N is no base: it scores nothing and cuts the context; a window of only N has equal likelihoods. */
    @Test
    void skipsN() {
        byte[] a = chain(0.25, 10_000, 5), b = chain(0.6, 10_000, 6);
        MarkovClassifier m = MarkovClassifier.fit(List.of(List.of(new Region("a", a, 0, a.length)), List.of(new Region("b", b, 0, b.length))), 3);
        int[] n = new int[50];
        java.util.Arrays.fill(n, DnaVocabulary.N);
        assertArrayEquals(new double[]{0.5, 0.5}, m.probabilities(n), 1e-12);
    }
}
