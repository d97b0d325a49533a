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
        double nats = 0;
        long count = 0;
        int i = 0;
        while (i < windows.size()) {
            int wl = windows.get(i).length, b = 0;
            while (i + b < windows.size() && b < batch && windows.get(i + b).length == wl) b++;
            int[] ids = new int[b * wl];
            for (int k = 0; k < b; k++) System.arraycopy(windows.get(i + k), 0, ids, k * wl, wl);
            float[] logits = model.forward(ids, b, wl);
            int stride = logits.length / (b * wl);
            for (int k = 0; k < b; k++) {
                for (int t = 0; t + 1 < wl; t++) {
                    int target = ids[k * wl + t + 1];
                    if (target < DnaVocabulary.A || target > DnaVocabulary.T) continue;
                    int off = (k * wl + t) * stride;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int v = 0; v < stride; v++) max = Math.max(max, logits[off + v]);
                    double sum = 0;
                    for (int v = 0; v < stride; v++) sum += Math.exp(logits[off + v] - max);
                    nats += max + Math.log(sum) - logits[off + target];
                    count++;
                }
            }
            i += b;
        }
        return new Result(count == 0 ? Double.NaN : nats / count / Math.log(2), count, windows.size());
    }
}
