package org.ssmtk.genomics.sample;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.train.Batch;
import org.ssmtk.core.train.LanguageModelLoss;
import org.ssmtk.genomics.tokenize.CaduceusVocabulary;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class MaskedWindowsTest {
    @Test
    void masksFifteenPercentEightyTenTen() {
        CaduceusVocabulary v = CaduceusVocabulary.standard();
        int n = 200_000;
        int[] dna = new int[n];
        SplittableRandom r = new SplittableRandom(1);
        for (int i = 0; i < n; i++) dna[i] = DnaVocabulary.A + r.nextInt(4);
        Batch b = MaskedWindows.mask(dna, 1, n, v, new SplittableRandom(2));
        int chosen = 0, masked = 0, kept = 0, replaced = 0;
        for (int i = 0; i < n; i++) {
            int truth = v.id(dna[i]);
            if (b.targets()[i] == LanguageModelLoss.IGNORE) {
                assertEquals(truth, b.ids()[i], "an unchosen position keeps its id");
                continue;
            }
            assertEquals(truth, b.targets()[i], "the target is the true id");
            chosen++;
            if (b.ids()[i] == CaduceusVocabulary.MASK) masked++;
            else if (b.ids()[i] == truth) kept++; // includes random draws of the same base (1/4 of 10%)
            else replaced++;
        }
        assertEquals(0.15, chosen / (double) n, 0.005);
        assertEquals(0.80, masked / (double) chosen, 0.01);
        assertEquals(0.10 * 0.75, replaced / (double) chosen, 0.01);
        assertEquals(0.10 + 0.10 * 0.25, kept / (double) chosen, 0.01);
        // Caduceus' ids: A C G T N = 7..11
        assertEquals(7, v.id(DnaVocabulary.A));
        assertEquals(11, v.id(DnaVocabulary.N));
        assertEquals(4, v.id(DnaVocabulary.PAD));
    }

    @Test
    void isAPureFunctionOfStepAndMicro() {
        var source = new MaskedWindows((step, micro) -> Batch.nextToken(new int[]{4, 5, 6, 7, 8, 4, 5, 6}, 2, 4),
                CaduceusVocabulary.standard(), 9);
        assertArrayEquals(source.batch(3, 1).ids(), source.batch(3, 1).ids());
        assertArrayEquals(source.batch(3, 1).targets(), source.batch(3, 1).targets());
    }
}
