package org.ssmtk.genomics.eval;

import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.genomics.sample.Region;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.util.ArrayList;
import java.util.List;

/**
 * Next-base cross-entropy of a model on held-out regions, in bits per base. Regions are cut into
 * consecutive windows of the training length (a shorter last piece is its own window), so every
 * held-out base is predicted with at most one window of context. Only A, C, G and T are scored:
 * runs of N are trivially predictable and would flatter the number.
 */
public final class BitsPerBase {
    private BitsPerBase() {}

    /** bits per base, the number of bases scored and the windows they came from. */
    public record Result(double bitsPerBase, long bases, int windows) {
        public double perplexity() {
            return Math.pow(2, bitsPerBase);
        }
    }

    public static Result evaluate(MambaModel model, List<Region> regions, int len, int batch, int maxWindows) {
        List<int[]> windows = new ArrayList<>();
        outer:
        for (Region r : regions) {
            for (int s = r.start(); s + 1 < r.end(); s += len) {
                if (windows.size() >= maxWindows) break outer;
                int e = Math.min(r.end(), s + len);
                int[] w = new int[e - s];
                for (int i = 0; i < w.length; i++) w[i] = r.ids()[s + i];
                windows.add(w);
            }
        }
        var sum = org.ssmtk.core.train.HeldOutLikelihood.evaluate(model, windows, batch, Integer.MAX_VALUE,
                target -> target >= DnaVocabulary.A && target <= DnaVocabulary.T);
        return new Result(sum.bitsPerToken(), sum.tokens(), windows.size());
    }
}
