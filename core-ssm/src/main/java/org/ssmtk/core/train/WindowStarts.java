package org.ssmtk.core.train;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Every start of a window of {@code len} items over several pieces (contigs, clips), numbered in
 * order, so that one draw picks a start uniformly among them all: a piece contributes in proportion
 * to its length. Pieces shorter than a window hold no start. The window samplers of every domain
 * draw through this, so they agree on what "a random window" is.
 */
public final class WindowStarts {
    /** A window: piece index and offset of its first item in that piece. */
    public record Start(int piece, int offset) {}

    private final long[] cumulative; // starts in pieces [0..i], inclusive

    /** @param lengths the length of every piece, each at least {@code len} (callers keep only those) */
    public WindowStarts(int[] lengths, int len) {
        cumulative = new long[lengths.length];
        long total = 0;
        for (int i = 0; i < lengths.length; i++) {
            if (lengths[i] < len) throw new IllegalArgumentException("piece " + i + " of " + lengths[i] + " holds no window of " + len);
            cumulative[i] = total += lengths[i] - len + 1;
        }
    }

    /** Number of distinct windows. */
    public long count() {
        return cumulative.length == 0 ? 0 : cumulative[cumulative.length - 1];
    }

    /** One start, uniform over all of them; consumes exactly one {@code nextLong} of {@code random}. */
    public Start draw(SplittableRandom random) {
        long k = random.nextLong(count());
        int i = Arrays.binarySearch(cumulative, k + 1);
        if (i < 0) i = -i - 1;
        return new Start(i, (int) (k - (i == 0 ? 0 : cumulative[i - 1])));
    }
}
