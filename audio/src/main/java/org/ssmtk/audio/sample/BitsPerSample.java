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
        List<int[]> windows = windows(clips, len, maxWindows);
        // padding rows of a padded vocabulary are never real samples: normalize over the true vocabulary
        var sum = org.ssmtk.core.train.HeldOutLikelihood.evaluate(model, windows, batch, model.config().vocabSize(), target -> true);
        return new Result(sum.bitsPerToken(), sum.tokens(), windows.size());
    }

    /** The scored windows: consecutive pieces of at most len samples, clip by clip, the first maxWindows of them. */
    public static List<int[]> windows(List<int[]> clips, int len, int maxWindows) {
        List<int[]> windows = new ArrayList<>();
        for (int[] c : clips) {
            for (int s = 0; s + 1 < c.length; s += len) {
                if (windows.size() >= maxWindows) return windows;
                windows.add(java.util.Arrays.copyOfRange(c, s, Math.min(c.length, s + len)));
            }
        }
        return windows;
    }
}
