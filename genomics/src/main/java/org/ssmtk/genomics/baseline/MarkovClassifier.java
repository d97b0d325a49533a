package org.ssmtk.genomics.baseline;

import org.ssmtk.genomics.sample.Region;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.util.List;

/**
 * A generative composition classifier: one order-k Markov chain per class (counts of each base after
 * each k-mer, on both strands of the class's training regions, add-one smoothed), and a window goes
 * to the class whose chain gives it the highest likelihood (class posteriors with a uniform prior).
 * This is the strongest purely compositional baseline at long windows: its log-likelihood sums
 * over every base, so a small per-base difference between classes adds up with the window's length,
 * where a regression on k-mer frequencies sees only averages. A context cut short by the window's
 * start or an N backs off to the longest run of bases before the target, as {@link MarkovFloor}.
 */
public final class MarkovClassifier {
    /** Up to order 10: 4^11 counts per table and class (16 MB of ints), the largest that fits every heap we run. */
    public static final int MAX_ORDER = 10;

    private final int order;
    /** [class][j] = counts of base after each j-mer context, j = 0..order; row ctx * 4 + base. */
    private final int[][][] counts;

    private MarkovClassifier(int order, int[][][] counts) {
        this.order = order;
        this.counts = counts;
    }

    public int order() {
        return order;
    }

    public int classes() {
        return counts.length;
    }

    /** Fits one chain per class on {@code trainPerClass.get(c)} read on both strands. */
    public static MarkovClassifier fit(List<List<Region>> trainPerClass, int order) {
        if (order < 0 || order > MAX_ORDER) throw new IllegalArgumentException("Markov order must be in 0.." + MAX_ORDER + ", got " + order);
        int[][][] counts = new int[trainPerClass.size()][order + 1][];
        for (int c = 0; c < counts.length; c++) {
            for (int j = 0; j <= order; j++) counts[c][j] = new int[(1 << (2 * j)) * 4];
            for (Region r : trainPerClass.get(c)) {
                count(r.ids(), r.start(), r.end(), false, order, counts[c]);
                count(r.ids(), r.start(), r.end(), true, order, counts[c]);
            }
        }
        return new MarkovClassifier(order, counts);
    }

    /**
     * Counts every base after its contexts of length 0..order, reading [from, to) forward or as its
     * reverse complement (then the base at position t follows the bases at t + 1, t + 2, ... complemented).
     */
    private static void count(byte[] ids, int from, int to, boolean reverse, int order, int[][] tables) {
        for (int t = from; t < to; t++) {
            int b = base(ids[t], reverse);
            if (b < 0) continue;
            tables[0][b]++;
            int ctx = 0;
            for (int j = 1; j <= order; j++) {
                int p = reverse ? t + j : t - j;
                if (p < from || p >= to) break;
                int c = base(ids[p], reverse);
                if (c < 0) break;
                ctx |= c << (2 * (j - 1));
                tables[j][ctx * 4 + b]++;
            }
        }
    }

    /** Natural-log likelihood of the window's bases under each class's chain. */
    public double[] logLikelihoods(int[] window) {
        double[] ll = new double[counts.length];
        for (int t = 0; t < window.length; t++) {
            int b = base(window[t]);
            if (b < 0) continue;
            int j = 0, ctx = 0;
            while (j < order && t - 1 - j >= 0) {
                int c = base(window[t - 1 - j]);
                if (c < 0) break;
                ctx |= c << (2 * j);
                j++;
            }
            int row = ctx * 4;
            for (int k = 0; k < counts.length; k++) {
                int[] cj = counts[k][j];
                long total = (long) cj[row] + cj[row + 1] + cj[row + 2] + cj[row + 3];
                ll[k] += Math.log((cj[row + b] + 1.0) / (total + 4.0));
            }
        }
        return ll;
    }

    /** Class posteriors under a uniform prior: the softmax of the log-likelihoods. */
    public double[] probabilities(int[] window) {
        double[] ll = logLikelihoods(window);
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (double v : ll) max = Math.max(max, v);
        double[] p = new double[ll.length];
        for (int k = 0; k < p.length; k++) sum += p[k] = Math.exp(ll[k] - max);
        for (int k = 0; k < p.length; k++) p[k] /= sum;
        return p;
    }

    private static int base(int id) {
        return id >= DnaVocabulary.A && id <= DnaVocabulary.T ? id - DnaVocabulary.A : -1;
    }

    /** The base as read on the given strand: A=0 C=1 G=2 T=3, so the complement is 3 - code. */
    private static int base(byte id, boolean reverse) {
        int b = base(id);
        return b < 0 || !reverse ? b : 3 - b;
    }
}
