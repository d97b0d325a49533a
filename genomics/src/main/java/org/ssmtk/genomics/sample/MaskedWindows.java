package org.ssmtk.genomics.sample;

import org.ssmtk.core.train.Batch;
import org.ssmtk.core.train.BatchSource;
import org.ssmtk.core.train.LanguageModelLoss;
import org.ssmtk.genomics.tokenize.CaduceusVocabulary;

import java.util.SplittableRandom;

/**
 * The masked-LM objective of the Caduceus paper (BERT's recipe) over the windows of another source:
 * each position is chosen with probability 15%; a chosen position is the target (its true id) and
 * its input becomes [MASK] 80% of the time, a random base (A/C/G/T) 10% and stays 10%; positions not
 * chosen are not scored. Ids are translated to the model's {@link CaduceusVocabulary}. Like every
 * {@link BatchSource} it is a pure function of (seed, step, micro).
 */
public final class MaskedWindows implements BatchSource {
    public static final double MASK_FRACTION = 0.15;

    private final BatchSource windows;
    private final CaduceusVocabulary vocabulary;
    private final long seed;

    public MaskedWindows(BatchSource windows, CaduceusVocabulary vocabulary, long seed) {
        this.windows = windows;
        this.vocabulary = vocabulary;
        this.seed = seed;
    }

    @Override
    public Batch batch(long step, int micro) {
        Batch b = windows.batch(step, micro);
        return mask(b.ids(), b.batch(), b.len(), vocabulary, BatchSource.random(seed ^ 0x6D61736BL, step, micro));
    }

    /** Masks DNA-vocabulary ids (batch x len); at least one position is always chosen. */
    public static Batch mask(int[] dnaIds, int batch, int len, CaduceusVocabulary v, SplittableRandom r) {
        int[] ids = new int[dnaIds.length], targets = new int[dnaIds.length], bases = v.bases();
        int chosen = 0;
        for (int i = 0; i < ids.length; i++) {
            ids[i] = v.id(dnaIds[i]);
            targets[i] = LanguageModelLoss.IGNORE;
            if (r.nextDouble() >= MASK_FRACTION) continue;
            targets[i] = ids[i];
            chosen++;
            double u = r.nextDouble();
            if (u < 0.8) ids[i] = CaduceusVocabulary.MASK;
            else if (u < 0.9) ids[i] = bases[r.nextInt(bases.length)];
        }
        if (chosen == 0) { // a loss needs a target: short windows can draw none
            int i = r.nextInt(ids.length);
            targets[i] = ids[i];
            ids[i] = CaduceusVocabulary.MASK;
        }
        return new Batch(ids, targets, batch, len);
    }
}
