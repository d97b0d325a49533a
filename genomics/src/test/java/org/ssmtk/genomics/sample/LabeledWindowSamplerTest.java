package org.ssmtk.genomics.sample;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.train.Batch;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Class-labelled windows for classifier training. */
class LabeledWindowSamplerTest {
    @Test
    void labeledWindowsAreDeterministicBalancedAndFromTheirClass() {
        byte[] a = new byte[200], b = new byte[50];
        java.util.Arrays.fill(a, (byte) 4);
        java.util.Arrays.fill(b, (byte) 7);
        List<List<Region>> regions = List.of(List.of(new Region("a", a, 0, 200)), List.of(new Region("b", b, 0, 50)));
        LabeledWindowSampler s = LabeledWindowSampler.of(regions, 10, 64, 3, false, true);
        Batch x = s.batch(5, 0), y = s.batch(5, 0);
        assertArrayEquals(x.ids(), y.ids());
        assertArrayEquals(x.targets(), y.targets());
        int ones = 0;
        for (int row = 0; row < 64; row++) {
            int label = x.targets()[row];
            ones += label;
            for (int t = 0; t < 10; t++) assertEquals(label == 0 ? 4 : 7, x.ids()[row * 10 + t]);
        }
        assertTrue(ones > 16 && ones < 48, "balanced despite a 4x smaller class: " + ones);
        assertThrows(IllegalArgumentException.class, () -> LabeledWindowSampler.of(regions.subList(0, 1), 10, 1, 0, false, true));
    }
}
