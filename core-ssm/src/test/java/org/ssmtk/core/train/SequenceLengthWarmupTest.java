package org.ssmtk.core.train;

import org.junit.jupiter.api.Test;
import java.util.SplittableRandom;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SequenceLengthWarmupTest {
    /** Windows of random ids drawn from (seed, step, micro), from a "corpus" of n tokens: shorter ones refuse a window. */
    static SequenceLengthWarmup.StageSource corpus(int n, long seed) {
        return (len, rows) -> {
            if (len > n) throw new IllegalArgumentException("no window of " + len + " in " + n + " tokens");
            return (step, micro) -> {
                SplittableRandom r = BatchSource.random(seed, step, micro);
                int[] x = new int[rows * len];
                for (int i = 0; i < x.length; i++) x[i] = r.nextInt(16);
                return Batch.nextToken(x, rows, len);
            };
        };
    }

    @Test
    void lengthsDoubleFromStartToTargetOverTheWarmupStepsWithConstantBasesPerStep() {
        SequenceLengthWarmup w = SequenceLengthWarmup.of(corpus(5000, 1), 8, 64, 4, 30);
        // 3 short stages (8, 16, 32) share 30 steps: 10 each; then 64 from step 31 on.
        for (long step = 1; step <= 40; step++) {
            int expected = step <= 10 ? 8 : step <= 20 ? 16 : step <= 30 ? 32 : 64;
            assertEquals(expected, w.lengthAt(step), "step " + step);
            Batch b = w.batch(step, 0);
            assertEquals(expected, b.len(), "step " + step);
            assertEquals(4 * 64, b.batch() * b.len(), "step " + step + ": bases per step");
            assertEquals(4 * 64 / expected, w.batchAt(step));
        }
        assertEquals(List.of(new SequenceLengthWarmup.Stage(8, 32, 1, 10), new SequenceLengthWarmup.Stage(16, 16, 11, 20),
                new SequenceLengthWarmup.Stage(32, 8, 21, 30), new SequenceLengthWarmup.Stage(64, 4, 31, Long.MAX_VALUE)), w.stages());
    }

    @Test
    void aTargetThatIsNoPowerOfTwoTimesStartEndsTheDoublingAndUnevenStepsSplitInOrder() {
        assertEquals(List.of(100, 200, 400, 500), java.util.Arrays.stream(SequenceLengthWarmup.lengths(100, 500)).boxed().toList());
        SequenceLengthWarmup w = SequenceLengthWarmup.of(corpus(5000, 1), 100, 500, 2, 7);
        // 3 short stages over 7 steps: floor((s-1)*3/7) = 0,0,0,1,1,2,2 for s = 1..7
        int[] expected = {100, 100, 100, 200, 200, 400, 400, 500, 500};
        for (int s = 1; s <= expected.length; s++) assertEquals(expected[s - 1], w.lengthAt(s), "step " + s);
        assertEquals(10, w.batchAt(1)); // 2 * 500 / 100
        assertEquals(2, w.batchAt(8));
    }

    @Test
    void theBatchOfAStepIsAPureFunctionOfItAndImpossibleSchedulesAreRefused() {
        SequenceLengthWarmup a = SequenceLengthWarmup.of(corpus(5000, 7), 8, 64, 4, 30), b = SequenceLengthWarmup.of(corpus(5000, 7), 8, 64, 4, 30);
        assertTrue(java.util.Arrays.equals(a.batch(12, 0).ids(), b.batch(12, 0).ids()));
        assertThrows(IllegalArgumentException.class, () -> SequenceLengthWarmup.of(corpus(5000, 1), 64, 64, 4, 30));
        assertThrows(IllegalArgumentException.class, () -> SequenceLengthWarmup.of(corpus(5000, 1), 8, 64, 4, 2));
        assertThrows(IllegalArgumentException.class, () -> SequenceLengthWarmup.of(corpus(50, 1), 8, 64, 4, 30));
    }
}
