package org.ssmtk.audio.sample;

import java.util.ArrayList;
import java.util.List;

/**
 * Splits quantized clips for evaluation. With at least two clips and {@code files > 0} the last
 * {@code files} clips (in input order) are held out whole, so the score measures clips the model
 * never heard; otherwise the last {@code fraction} of every clip is, so a single file still gives a
 * held-out number.
 */
public record HeldOut(List<int[]> train, List<int[]> heldOut) {
    public static HeldOut split(List<int[]> clips, int files, double fraction) {
        if (fraction < 0 || fraction >= 1) throw new IllegalArgumentException("held-out fraction must be in [0, 1), got " + fraction);
        if (files > 0 && files < clips.size())
            return new HeldOut(List.copyOf(clips.subList(0, clips.size() - files)), List.copyOf(clips.subList(clips.size() - files, clips.size())));
        List<int[]> train = new ArrayList<>(), held = new ArrayList<>();
        for (int[] c : clips) {
            int cut = (int) Math.round(c.length * (1 - fraction));
            train.add(java.util.Arrays.copyOfRange(c, 0, cut));
            if (cut < c.length) held.add(java.util.Arrays.copyOfRange(c, cut, c.length));
        }
        return new HeldOut(train, held);
    }
}
