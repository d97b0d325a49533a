package org.ssmtk.core.classify;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.ParameterSpec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

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
}
