package org.ssmtk.audio.baseline;

import java.util.List;

/**
 * Unigram and bigram models of quantized sample codes with add-one (Laplace) smoothing, fitted on
 * training clips: the floor any waveform model should beat. Scoring follows BitsPerSample: within
 * each window, every sample after the first is predicted (the bigram from the sample before it).
 */
public final class CodeNgram {
    private final int levels;
    private final long[] unigram;
    private final long[][] bigram;
    private final long total;
    private final long[] rowTotal;

    private CodeNgram(int levels, long[] unigram, long[][] bigram) {
        this.levels = levels;
        this.unigram = unigram;
        this.bigram = bigram;
        long t = 0;
        for (long u : unigram) t += u;
        this.total = t;
        this.rowTotal = new long[levels];
        for (int a = 0; a < levels; a++) for (long b : bigram[a]) rowTotal[a] += b;
    }

    public static CodeNgram fit(List<int[]> clips, int levels) {
        long[] uni = new long[levels];
        long[][] bi = new long[levels][levels];
        for (int[] c : clips) {
            for (int i = 0; i < c.length; i++) {
                check(c[i], levels);
                uni[c[i]]++;
                if (i > 0) bi[c[i - 1]][c[i]]++;
            }
        }
        return new CodeNgram(levels, uni, bi);
    }

    private static void check(int code, int levels) {
        if (code < 0 || code >= levels) throw new IllegalArgumentException("code " + code + " is not in [0, " + levels + ")");
    }

    /** -log2 p(code), add-one smoothed. */
    public double unigramBits(int code) {
        return -Math.log((unigram[code] + 1.0) / (total + levels)) / Math.log(2);
    }

    /** -log2 p(code | previous), add-one smoothed. */
    public double bigramBits(int previous, int code) {
        return -Math.log((bigram[previous][code] + 1.0) / (rowTotal[previous] + levels)) / Math.log(2);
    }

    public record Score(double unigramBitsPerSample, double bigramBitsPerSample, long samples) {}

    /** Mean bits per predicted sample over the windows. */
    public Score score(List<int[]> windows) {
        double u = 0, b = 0;
        long n = 0;
        for (int[] w : windows)
            for (int t = 1; t < w.length; t++) {
                check(w[t], levels);
                check(w[t - 1], levels);
                u += unigramBits(w[t]);
                b += bigramBits(w[t - 1], w[t]);
                n++;
            }
        return new Score(n == 0 ? Double.NaN : u / n, n == 0 ? Double.NaN : b / n, n);
    }
}
