package org.ssmtk.core.synthetic;

import org.ssmtk.core.train.LanguageModelLoss;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Selective copying: {@code memorize} content tokens are scattered at random positions of a
 * stretch of noise; after it come {@code memorize} copy markers, and at the i-th marker the model
 * must output the i-th content token. Solving it requires remembering tokens depending on their
 * content, which time-invariant SSMs cannot do. Tokens: 0 noise, 1 copy marker, 2..15 content.
 * Total length = len (the noise stretch is len - memorize).
 */
public record SelectiveCopying(int memorize) implements SyntheticTask {
    public static final int NOISE = 0, MARKER = 1, FIRST_CONTENT = 2;

    public SelectiveCopying {
        if (memorize < 1) throw new IllegalArgumentException("tokens to memorize must be >= 1");
    }

    @Override
    public String name() {
        return "selective-copying";
    }

    @Override
    public void example(SplittableRandom rnd, int len, int[] ids, int[] targets, int offset) {
        int region = len - memorize;
        if (region < memorize) throw new IllegalArgumentException("length " + len + " is too short for " + memorize + " tokens to copy");
        Arrays.fill(ids, offset, offset + len, NOISE);
        Arrays.fill(targets, offset, offset + len, LanguageModelLoss.IGNORE);
        // choose `memorize` distinct positions of the region (Floyd's algorithm), in order
        int[] pos = new int[memorize];
        java.util.BitSet taken = new java.util.BitSet(region);
        int k = 0;
        for (int j = region - memorize; j < region; j++) {
            int t = rnd.nextInt(j + 1);
            if (taken.get(t)) t = j;
            taken.set(t);
        }
        for (int p = taken.nextSetBit(0); p >= 0; p = taken.nextSetBit(p + 1)) pos[k++] = p;
        for (int i = 0; i < memorize; i++) {
            int token = FIRST_CONTENT + rnd.nextInt(VOCAB - FIRST_CONTENT);
            ids[offset + pos[i]] = token;
            ids[offset + region + i] = MARKER;
            targets[offset + region + i] = token;
        }
    }
}
