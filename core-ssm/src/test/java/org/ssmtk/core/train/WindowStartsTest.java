package org.ssmtk.core.train;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WindowStartsTest {
    @Test
    void everyStartIsEquallyLikelyWhateverPieceItIsIn() {
        // pieces of 4, 10 and 5 items, windows of 4: 1 + 7 + 2 = 10 starts
        WindowStarts w = new WindowStarts(new int[]{4, 10, 5}, 4);
        assertEquals(10, w.count());
        int[][] hits = {new int[1], new int[7], new int[2]};
        SplittableRandom r = new SplittableRandom(1);
        int draws = 100_000;
        for (int i = 0; i < draws; i++) {
            WindowStarts.Start s = w.draw(r);
            assertTrue(s.offset() + 4 <= new int[]{4, 10, 5}[s.piece()], s.toString());
            hits[s.piece()][s.offset()]++;
        }
        for (int[] piece : hits)
            for (int h : piece) assertEquals(draws / 10.0, h, 0.05 * draws / 10, "each start about a tenth of the draws");
        assertThrows(IllegalArgumentException.class, () -> new WindowStarts(new int[]{3}, 4));
    }
}
