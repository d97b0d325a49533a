package org.ssmtk.core.eval;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ClassificationMetricsTest {
    @Test
    void confusionPrecisionRecallAndAuc() {
        int[] truth = {0, 0, 0, 1, 1};
        double[][] p = {{0.9, 0.1}, {0.6, 0.4}, {0.3, 0.7}, {0.4, 0.6}, {0.2, 0.8}};
        ClassificationMetrics m = ClassificationMetrics.of(List.of("x", "y"), truth, p);
        assertArrayEquals(new long[]{2, 1}, m.confusion()[0]);
        assertArrayEquals(new long[]{0, 2}, m.confusion()[1]);
        assertEquals(0.8, m.accuracy(), 1e-12);
        assertEquals(1.0, m.precision(0), 1e-12);
        assertEquals(2 / 3.0, m.recall(0), 1e-12);
        assertEquals(2 / 3.0, m.precision(1), 1e-12);
        // positives score 0.6, 0.8; negatives 0.1, 0.4, 0.7: 5 of 6 pairs ordered right
        assertEquals(5 / 6.0, m.rocAuc(), 1e-12);
        assertEquals("y", m.toJson().get("roc_auc_positive_class").asText());
        // F1: x = 2 * 1 * 2/3 / (5/3) = 0.8; y = 2 * 2/3 * 1 / (5/3) = 0.8
        assertEquals(0.8, m.f1(0), 1e-12);
        assertEquals(0.8, m.macroF1(), 1e-12);
        assertEquals(0.8, m.toJson().get("macro_f1").asDouble(), 1e-12);
    }

    @Test
    void macroF1AveragesTheClassesThatOccurAndCountsAMissedOneAsZero() {
        // a: precision 2/3, recall 1 -> F1 0.8; b (called a) recall 0 -> counts 0; c never occurs -> left out.
        ClassificationMetrics m = ClassificationMetrics.of(List.of("a", "b", "c"), new int[]{0, 0, 1},
                new double[][]{{1, 0, 0}, {1, 0, 0}, {1, 0, 0}});
        assertEquals(0.8, m.f1(0), 1e-12);
        assertTrue(Double.isNaN(m.f1(1)));
        assertEquals(0.4, m.macroF1(), 1e-12);
    }

    @Test
    void tiesCountHalfAndOneSidedAucIsUndefined() {
        assertEquals(0.5, ClassificationMetrics.rocAuc(new double[]{0.5, 0.5}, new boolean[]{true, false}), 1e-12);
        assertTrue(Double.isNaN(ClassificationMetrics.rocAuc(new double[]{0.1, 0.2}, new boolean[]{true, true})));
        ClassificationMetrics three = ClassificationMetrics.of(List.of("a", "b", "c"), new int[]{0, 1}, new double[][]{{1, 0, 0}, {1, 0, 0}});
        assertTrue(Double.isNaN(three.rocAuc()));
        assertTrue(three.toJson().at("/per_class/c/recall").isNull());
        assertTrue(three.toJson().path("roc_auc").isMissingNode());
    }
}
