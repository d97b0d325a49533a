package org.ssmtk.genomics.classify;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.ParameterSpec;
import org.ssmtk.genomics.sample.LabeledWindowSampler;
import org.ssmtk.genomics.sample.Region;
import org.ssmtk.core.train.Batch;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClassifierHeadTest {
    @Test
    void keepsTheBackboneAndAddsTheHeadAFreshModelWouldGet() {
        MambaConfig lm = MambaConfig.of(16, 16, 4, 1);
        MambaCheckpoint base = Initializer.reference(lm, 7);
        MambaCheckpoint withHead = ClassifierHead.attach(base, 3, MambaConfig.POOL_LAST, 11);
        assertEquals(3, withHead.config().numLabels());
        assertEquals(MambaConfig.POOL_LAST, withHead.config().pooling());
        base.parameters().forEach((name, t) -> assertSame(t, withHead.parameters().get(name), name));
        MambaCheckpoint fresh = Initializer.reference(lm.withClassifier(3, MambaConfig.POOL_LAST), 11);
        assertArrayEquals(fresh.parameters().get(ParameterSpec.CLASSIFIER_WEIGHT).data(), withHead.parameters().get(ParameterSpec.CLASSIFIER_WEIGHT).data());
        // an existing head of other classes is replaced, not kept
        MambaCheckpoint again = ClassifierHead.attach(withHead, 2, MambaConfig.POOL_MEAN, 11);
        assertArrayEquals(new int[]{2, 16}, again.parameters().get(ParameterSpec.CLASSIFIER_WEIGHT).shape());
    }

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
