package org.ssmtk.genomics.sample;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.train.Batch;
import org.ssmtk.core.train.LanguageModelLoss;
import org.ssmtk.genomics.io.DnaSequence;
import org.ssmtk.genomics.io.FastaReference;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WindowSamplerTest {
    static List<DnaSequence> small() throws IOException {
        try (FastaReference ref = FastaReference.open(Path.of("..", "test-data", "genomics", "small.fa"))) {
            return ref.readAll();
        }
    }

    @Test
    void heldOutTailsDoNotOverlapTraining() throws IOException {
        HeldOutSplit split = HeldOutSplit.tails(small(), 0.1);
        assertEquals(List.of("chr1", "chr2", "chrM"), split.train().stream().map(Region::contig).toList());
        assertEquals(5400, split.train().get(0).end());
        assertEquals(5400, split.heldOut().get(0).start());
        assertEquals(950, HeldOutSplit.bases(split.heldOut()));
        assertEquals(9500 - 950, HeldOutSplit.bases(split.train()));
    }

    @Test
    void windowsComeFromTheGenomeAndAreDeterministic() throws IOException {
        List<DnaSequence> seqs = small();
        HeldOutSplit split = HeldOutSplit.tails(seqs, 0.1);
        WindowSampler s = WindowSampler.of(split.train(), 64, 4, 7, false);
        Batch b = s.batch(3, 1);
        assertEquals(4, b.batch());
        assertEquals(64, b.len());
        assertArrayEquals(b.ids(), s.batch(3, 1).ids());
        assertFalse(java.util.Arrays.equals(b.ids(), s.batch(3, 0).ids()));
        assertFalse(java.util.Arrays.equals(b.ids(), WindowSampler.of(split.train(), 64, 4, 8, false).batch(3, 1).ids()));
        String genome = seqs.stream().map(q -> new String(q.bases(), StandardCharsets.US_ASCII)).reduce("", (x, y) -> x + "|" + y);
        for (int row = 0; row < 4; row++) {
            String w = DnaVocabulary.decode(java.util.Arrays.copyOfRange(b.ids(), row * 64, row * 64 + 64));
            assertTrue(genome.contains(w), w);
            assertEquals(b.ids()[row * 64 + 1], b.targets()[row * 64]);
            assertEquals(LanguageModelLoss.IGNORE, b.targets()[row * 64 + 63]);
        }
    }

    @Test
    void reverseComplementAugmentationReadsBothStrands() throws IOException {
        List<DnaSequence> seqs = small();
        StringBuilder sb = new StringBuilder();
        for (DnaSequence q : seqs) sb.append(new String(q.bases(), StandardCharsets.US_ASCII)).append('|');
        String forward = sb.toString();
        WindowSampler s = WindowSampler.of(HeldOutSplit.tails(seqs, 0).train(), 32, 16, 1, true);
        int fwd = 0, rc = 0, neither = 0;
        for (int step = 0; step < 4; step++) {
            int[] ids = s.batch(step, 0).ids();
            for (int row = 0; row < 16; row++) {
                int[] w = java.util.Arrays.copyOfRange(ids, row * 32, row * 32 + 32);
                boolean f = forward.contains(DnaVocabulary.decode(w));
                DnaVocabulary.reverseComplement(w, 0, 32);
                boolean r = forward.contains(DnaVocabulary.decode(w));
                if (f) fwd++;
                if (r) rc++;
                if (!f && !r) neither++;
            }
        }
        assertEquals(0, neither);
        assertTrue(fwd > 10 && rc > 10, fwd + " forward, " + rc + " reverse");
    }

    @Test
    void tooShortForAWindow() throws IOException {
        var e = assertThrows(IllegalArgumentException.class, () -> WindowSampler.of(HeldOutSplit.tails(small(), 0.5).train(), 4000, 1, 0, false));
        assertEquals("no training region holds a window of 4000 bases (the longest has 3000)", e.getMessage());
    }
}
