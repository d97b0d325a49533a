package org.ssmtk.genomics.variant;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VariantWindowTest {
    @Test
    void centredInsideAndShiftedInwardsAtBothContigEnds() {
        assertEquals(new VariantWindow(68, 132), VariantWindow.around(100, 1000, 64)); // pos0 - W/2
        assertEquals(new VariantWindow(69, 132), VariantWindow.around(100, 1000, 63)); // odd W: W/2 rounds down
        assertEquals(new VariantWindow(0, 64), VariantWindow.around(0, 1000, 64));     // first base
        assertEquals(new VariantWindow(0, 64), VariantWindow.around(31, 1000, 64));    // within W/2 of the start
        assertEquals(new VariantWindow(936, 1000), VariantWindow.around(999, 1000, 64)); // last base
        assertEquals(new VariantWindow(936, 1000), VariantWindow.around(990, 1000, 64)); // within W/2 of the end
        assertEquals(new VariantWindow(0, 50), VariantWindow.around(25, 50, 64));       // contig shorter than W
        assertEquals(64, VariantWindow.around(500, 1000, 64).length());
    }

    @Test
    void holdsOnlyARefThatFitsAndSubstituteChangesTheLength() {
        VariantWindow w = VariantWindow.around(100, 1000, 64);
        assertTrue(w.holds(100, 32));
        assertFalse(w.holds(100, 33));
        byte[] ids = {4, 5, 6, 7, 4, 5};
        assertArrayEquals(new byte[]{4, 5, 7, 7, 4, 5}, VariantWindow.substitute(ids, 2, 1, new byte[]{7}));       // SNV
        assertArrayEquals(new byte[]{4, 5, 6, 4, 4, 7, 4, 5}, VariantWindow.substitute(ids, 2, 2, new byte[]{6, 4, 4, 7})); // insertion
        assertArrayEquals(new byte[]{4, 5, 6, 5}, VariantWindow.substitute(ids, 2, 3, new byte[]{6}));             // deletion
        assertArrayEquals(new byte[]{6, 6, 6, 7, 4, 5}, VariantWindow.substitute(ids, 0, 2, new byte[]{6, 6}));    // at the window's first base
    }
}
