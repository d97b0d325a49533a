package org.ssmtk.genomics.eval;

import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.train.Batch;
import org.ssmtk.core.train.BatchSource;
import org.ssmtk.core.train.LanguageModelLoss;
import org.ssmtk.genomics.sample.MaskedWindows;
import org.ssmtk.genomics.sample.Region;
import org.ssmtk.genomics.tokenize.CaduceusVocabulary;

import java.util.List;

/**
 * A masked language model's cross-entropy on held-out regions, in bits per masked base: windows cut
 * as {@link BitsPerBase} cuts them, each masked by {@link MaskedWindows}' recipe with a fixed seed
 * (window i uses stream (seed, i)), and -log2 p(true base) summed over masked A/C/G/T positions.
 */
public final class MaskedBitsPerBase {
    private MaskedBitsPerBase() {}

    public static BitsPerBase.Result evaluate(MambaModel model, CaduceusVocabulary vocabulary, List<Region> regions, int len,
                                              int maxWindows, long seed) {
        int vocab = model.config().paddedVocabSize();
        int[] acgt = vocabulary.bases();
        double bits = 0;
        long scored = 0;
        int windows = 0;
        outer:
        for (Region r : regions)
            for (int s = r.start(); s < r.end(); s += len) {
                if (windows >= maxWindows) break outer;
                int e = Math.min(r.end(), s + len);
                int[] w = new int[e - s];
                for (int i = 0; i < w.length; i++) w[i] = r.ids()[s + i];
                Batch b = MaskedWindows.mask(w, 1, w.length, vocabulary, BatchSource.random(seed, windows, 0));
                float[] logits = model.forward(b.ids(), 1, w.length);
                for (int t = 0; t < w.length; t++) {
                    int target = b.targets()[t];
                    if (target == LanguageModelLoss.IGNORE
                            || (target != acgt[0] && target != acgt[1] && target != acgt[2] && target != acgt[3])) continue;
                    double max = Double.NEGATIVE_INFINITY, sum = 0;
                    for (int v = 0; v < vocab; v++) max = Math.max(max, logits[t * vocab + v]);
                    for (int v = 0; v < vocab; v++) sum += Math.exp(logits[t * vocab + v] - max);
                    bits += (max + Math.log(sum) - logits[t * vocab + target]) / Math.log(2);
                    scored++;
                }
                windows++;
            }
        return new BitsPerBase.Result(scored == 0 ? Double.NaN : bits / scored, scored, windows);
    }
}
