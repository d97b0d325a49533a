package org.ssmtk.core.synthetic;

import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.tensor.Tensor;
import org.ssmtk.core.train.Batch;
import org.ssmtk.core.train.LanguageModelLoss;

import java.util.SplittableRandom;

/**
 * A synthetic sequence task of Gu and Dao (2023, section 4.1): examples are generated from a seed,
 * scored only where targets are not {@link LanguageModelLoss#IGNORE}, and accuracy is the fraction
 * of scored positions whose argmax prediction is the target.
 */
public interface SyntheticTask {
    int VOCAB = 16;

    String name();

    /** Fills ids and targets of one example of total length len. */
    void example(SplittableRandom rnd, int len, int[] ids, int[] targets, int offset);

    default Batch batch(SplittableRandom rnd, int batch, int len) {
        int[] ids = new int[batch * len], targets = new int[batch * len];
        for (int b = 0; b < batch; b++) example(rnd, len, ids, targets, b * len);
        return new Batch(ids, targets, batch, len);
    }

    /** Accuracy over scored positions, evaluating `batch` sequences per forward; returns correct/total. */
    static long[] evaluate(MambaModel model, Batch b) {
        Tensor hidden = model.backbone(b.ids(), b.batch(), b.len(), null, null);
        int vocab = model.config().paddedVocabSize(), real = model.config().vocabSize();
        long correct = 0, total = 0;
        int[] rows = java.util.stream.IntStream.range(0, b.targets().length).filter(i -> b.targets()[i] != LanguageModelLoss.IGNORE).toArray();
        Tensor one = model.backend().allocate(1, vocab);
        for (int r : rows) {
            model.logits(hidden.rows(r, r + 1), one);
            float[] l = model.backend().toHost(one);
            int best = 0;
            for (int v = 1; v < real; v++) if (l[v] > l[best]) best = v;
            total++;
            if (best == b.targets()[r]) correct++;
        }
        return new long[]{correct, total};
    }
}
