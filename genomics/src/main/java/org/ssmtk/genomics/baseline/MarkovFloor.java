package org.ssmtk.genomics.baseline;

import org.ssmtk.genomics.sample.Region;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.util.ArrayList;
import java.util.List;

/**
 * The floor a DNA language model's held-out bits per base is compared with: an order-k Markov chain
 * (add-one smoothed counts of each base after each k-mer, fitted on the training regions) scored on
 * exactly the windows and targets {@link org.ssmtk.genomics.eval.BitsPerBase} scores (windows of
 * {@code len} from the start of each held-out region, targets A/C/G/T from each window's second
 * base on, contexts only from inside the window). A context cut short by the window's start or by an
 * N backs off to the longest k-mer of bases before the target. A model that does not beat this has
 * learned no more than k-mer frequencies (on a real genome an order-6 chain scores about 1.94).
 */
public final class MarkovFloor {
    private MarkovFloor() {}

    public record Result(int order, double bitsPerBase, long bases) {}

    /** Floors for each of {@code orders} (each 0..12). */
    public static List<Result> evaluate(List<Region> train, List<Region> heldOut, int len, int maxWindows, int... orders) {
        int max = 0;
        for (int k : orders) {
            if (k < 0 || k > 12) throw new IllegalArgumentException("Markov order must be in 0..12, got " + k);
            max = Math.max(max, k);
        }
        long[][] counts = new long[max + 1][];
        for (int j = 0; j <= max; j++) counts[j] = new long[(1 << (2 * j)) * 4];
        for (Region r : train) count(r.ids(), r.start(), r.end(), max, counts);
        List<Result> out = new ArrayList<>();
        for (int k : orders) {
            double bits = 0;
            long bases = 0;
            int windows = 0;
            outer:
            for (Region r : heldOut)
                for (int s = r.start(); s + 1 < r.end(); s += len) {
                    if (windows++ >= maxWindows) break outer;
                    int e = Math.min(r.end(), s + len);
                    for (int t = s + 1; t < e; t++) {
                        int b = base(r.ids()[t]);
                        if (b < 0) continue;
                        // the longest run of bases right before t, inside the window, up to k
                        int j = 0, ctx = 0;
                        while (j < k && t - 1 - j >= s) {
                            int c = base(r.ids()[t - 1 - j]);
                            if (c < 0) break;
                            ctx |= c << (2 * j);
                            j++;
                        }
                        long[] cj = counts[j];
                        int row = ctx * 4;
                        long total = cj[row] + cj[row + 1] + cj[row + 2] + cj[row + 3];
                        bits -= Math.log((cj[row + b] + 1.0) / (total + 4.0)) / Math.log(2);
                        bases++;
                    }
                }
            out.add(new Result(k, bases == 0 ? Double.NaN : bits / bases, bases));
        }
        return out;
    }

    /** Counts every base after every shorter context too (the back-off's tables), contexts of bases only. */
    private static void count(byte[] ids, int from, int to, int max, long[][] counts) {
        for (int t = from; t < to; t++) {
            int b = base(ids[t]);
            if (b < 0) continue;
            counts[0][b]++;
            int ctx = 0;
            for (int j = 1; j <= max && t - j >= from; j++) {
                int c = base(ids[t - j]);
                if (c < 0) break;
                ctx |= c << (2 * (j - 1));
                counts[j][ctx * 4 + b]++;
            }
        }
    }

    private static int base(byte id) {
        return id >= DnaVocabulary.A && id <= DnaVocabulary.T ? id - DnaVocabulary.A : -1;
    }
}
