package org.ssmtk.core.train;

import org.ssmtk.core.nn.MambaModel;

import java.util.List;
import java.util.function.IntPredicate;

/**
 * Next-token log-likelihood of held-out windows, the number behind bits per base and bits per
 * sample: windows of equal length are batched into one forward, and every position whose next
 * token passes {@code scored} adds -log softmax(logits)[next] over the first {@code normalizeOver}
 * logits (the whole padded row, or only the real vocabulary).
 */
public final class HeldOutLikelihood {
    private HeldOutLikelihood() {}

    /** Summed negative log-likelihood in nats and how many tokens it covers. */
    public record Sum(double nats, long tokens) {
        public double bitsPerToken() {
            return tokens == 0 ? Double.NaN : nats / tokens / Math.log(2);
        }
    }

    public static Sum evaluate(MambaModel model, List<int[]> windows, int batch, int normalizeOver, IntPredicate scored) {
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
            int n = Math.min(normalizeOver, stride);
            for (int k = 0; k < b; k++) {
                for (int t = 0; t + 1 < wl; t++) {
                    int target = ids[k * wl + t + 1];
                    if (!scored.test(target)) continue;
                    int off = (k * wl + t) * stride;
                    double max = Double.NEGATIVE_INFINITY;
                    for (int v = 0; v < n; v++) max = Math.max(max, logits[off + v]);
                    double sum = 0;
                    for (int v = 0; v < n; v++) sum += Math.exp(logits[off + v] - max);
                    nats += max + Math.log(sum) - logits[off + target];
                    count++;
                }
            }
            i += b;
        }
        return new Sum(nats, count);
    }
}
