package org.ssmtk.genomics.baseline;

import org.ssmtk.core.eval.SoftmaxRegression;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

/**
 * Strand-symmetric k-mer frequencies of a window of DNA ids, as a sparse vector. Every k-mer of
 * A/C/G/T is counted together with its reverse complement (a k-mer containing N is skipped), so a
 * window and its reverse complement get the same features, as they are the same DNA. Values are
 * frequencies scaled by 4^k, i.e. 1 is what a uniform random sequence would give on average: that
 * keeps the regression's weights near 1 in size whatever k is.
 */
public final class KmerFeatures {
    private final int k, dims;

    public KmerFeatures(int k) {
        if (k < 1 || k > 10) throw new IllegalArgumentException("k must be in 1..10, got " + k);
        this.k = k;
        this.dims = 1 << (2 * k);
    }

    public int k() {
        return k;
    }

    /** Number of features: 4^k (a k-mer and its reverse complement share their count). */
    public int dimensions() {
        return dims;
    }

    /** Features of {@code ids[from, from + len)}; a window with no whole k-mer gives an empty vector. */
    public SoftmaxRegression.Features of(int[] ids, int from, int len) {
        int[] counts = new int[dims];
        int mask = dims - 1, fwd = 0, rev = 0, valid = 0, total = 0;
        int shift = 2 * (k - 1);
        for (int i = from; i < from + len; i++) {
            int b = code(ids[i]);
            if (b < 0) {
                valid = 0;
                continue;
            }
            fwd = ((fwd << 2) | b) & mask;
            rev = (rev >>> 2) | ((3 - b) << shift);
            if (++valid >= k) {
                counts[fwd]++;
                counts[rev]++;
                total += 2;
            }
        }
        int nonZero = 0;
        for (int c : counts) if (c != 0) nonZero++;
        int[] index = new int[nonZero];
        float[] value = new float[nonZero];
        double scale = total == 0 ? 0 : (double) dims / total;
        for (int j = 0, n = 0; j < dims; j++)
            if (counts[j] != 0) {
                index[n] = j;
                value[n++] = (float) (counts[j] * scale);
            }
        return new SoftmaxRegression.Features(index, value);
    }

    /** Features of a whole window. */
    public SoftmaxRegression.Features of(int[] ids) {
        return of(ids, 0, ids.length);
    }

    /** A=0 C=1 G=2 T=3 (so 3 - code is the complement), -1 for anything else. */
    private static int code(int id) {
        return switch (id) {
            case DnaVocabulary.A -> 0;
            case DnaVocabulary.C -> 1;
            case DnaVocabulary.G -> 2;
            case DnaVocabulary.T -> 3;
            default -> -1;
        };
    }

    /** The k-mer string of a feature index (for reports and tests). */
    public String kmer(int index) {
        char[] s = new char[k];
        for (int i = k - 1; i >= 0; i--, index >>>= 2) s[i] = "ACGT".charAt(index & 3);
        return new String(s);
    }

    @Override
    public String toString() {
        return "KmerFeatures[k=" + k + ", dims=" + dims + "]";
    }
}
