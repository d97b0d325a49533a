package org.ssmtk.audio.sample;

import org.ssmtk.core.nn.MambaModel;

import java.util.ArrayList;
import java.util.List;

/**
 * Next-sample cross-entropy of a waveform model on held-out clips, in bits per sample (8 bits is
 * the cost of sending the codes uncompressed). Clips are cut into consecutive windows of the
 * training length (a shorter last piece is its own window); the first sample of every window has
 * no prediction and is not counted.
 */
public final class BitsPerSample {
    private BitsPerSample() {}

    public record Result(double bitsPerSample, long samples, int windows) {}

    public static Result evaluate(MambaModel model, List<int[]> clips, int len, int batch, int maxWindows) {
        List<int[]> windows = new ArrayList<>();
        outer:
        for (int[] c : clips) {
            for (int s = 0; s + 1 < c.length; s += len) {
                if (windows.size() >= maxWindows) break outer;
                windows.add(java.util.Arrays.copyOfRange(c, s, Math.min(c.length, s + len)));
            }
        }
        double nats = 0;
        long count = 0;
        int vocab = model.config().vocabSize();
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
                    int off = (k * wl + t) * stride;
                    // Padding rows of a padded vocabulary are never real samples: normalize over the true vocabulary.
                    double max = Double.NEGATIVE_INFINITY;
                    for (int v = 0; v < vocab; v++) max = Math.max(max, logits[off + v]);
                    double sum = 0;
                    for (int v = 0; v < vocab; v++) sum += Math.exp(logits[off + v] - max);
                    nats += max + Math.log(sum) - logits[off + ids[k * wl + t + 1]];
                    count++;
                }
            }
            i += b;
        }
        return new Result(count == 0 ? Double.NaN : nats / count / Math.log(2), count, windows.size());
    }
}
