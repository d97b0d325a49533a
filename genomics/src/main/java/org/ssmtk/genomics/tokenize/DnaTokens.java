package org.ssmtk.genomics.tokenize;

import org.ssmtk.core.classify.SequenceClassifier;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.train.Batch;
import org.ssmtk.core.train.BatchSource;

import java.io.IOException;
import java.nio.file.Path;

/**
 * How one model reads DNA: the DNA pipeline reads bases as {@link DnaVocabulary} ids, and this
 * translates them into the model's own ids at the last moment: ssmtk's models read them as they
 * are, a Caduceus through its character tokenizer ({@link CaduceusVocabulary}). It also gives the
 * reverse complement in the model's ids (from config.json's complement_map for a Caduceus), and
 * writes the vocabulary file a trained model carries.
 */
public final class DnaTokens {
    private final int[] ids;
    private final int[] complement;
    private final CaduceusVocabulary caduceus;

    private DnaTokens(int[] ids, int[] complement, CaduceusVocabulary caduceus) {
        this.ids = ids;
        this.complement = complement;
        this.caduceus = caduceus;
    }

    /** ssmtk's own DNA ids, unchanged. */
    public static DnaTokens dna() {
        int[] ids = new int[DnaVocabulary.SIZE], comp = new int[DnaVocabulary.SIZE];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = i;
            comp[i] = DnaVocabulary.complement(i);
        }
        return new DnaTokens(ids, comp, null);
    }

    /** A Caduceus' tokenizer, with the model's complement map (one entry per padded vocabulary id). */
    public static DnaTokens caduceus(CaduceusVocabulary v, int[] complementMap) {
        int[] ids = new int[DnaVocabulary.SIZE];
        for (int i = 0; i < ids.length; i++) ids[i] = v.id(i);
        return new DnaTokens(ids, complementMap.clone(), v);
    }

    /**
     * The tokens of the model in {@code dir} with this config: a Caduceus' tokenizer (read and checked
     * against complement_map), else ssmtk's DNA ids (a {@value DnaVocabulary#FILE} that says otherwise is an error).
     */
    public static DnaTokens of(Path dir, MambaConfig config) throws IOException {
        if (MambaConfig.CADUCEUS.equals(config.modelType()))
            return caduceus(CaduceusVocabulary.read(dir, config), config.caduceus().complementMap());
        DnaVocabulary.check(dir);
        return dna();
    }

    /** The tokens a fresh model of this config reads: Caduceus' standard tokenizer for a Caduceus, else ssmtk's. */
    public static DnaTokens fresh(MambaConfig config) {
        return MambaConfig.CADUCEUS.equals(config.modelType())
                ? caduceus(CaduceusVocabulary.standard(), config.caduceus().complementMap()) : dna();
    }

    /** True for a Caduceus' tokenizer. */
    public boolean isCaduceus() {
        return caduceus != null;
    }

    /** The model's id of a DNA id. */
    public int id(int dnaId) {
        return ids[dnaId];
    }

    /** DNA ids {@code [from, to)} as the model's tokens. */
    public int[] tokens(byte[] dna, int from, int to) {
        int[] out = new int[to - from];
        for (int i = from; i < to; i++) out[i - from] = ids[dna[i]];
        return out;
    }

    public int[] tokens(byte[] dna) {
        return tokens(dna, 0, dna.length);
    }

    /** DNA-id tokens (ints) translated in place. */
    public int[] translate(int[] dna) {
        for (int i = 0; i < dna.length; i++) dna[i] = ids[dna[i]];
        return dna;
    }

    /** The reverse complement in the model's ids, as the second reading of a window ({@code --rc-average}). */
    public SequenceClassifier.Reading reverseComplement() {
        return (t, from, len) -> {
            for (int i = from, j = from + len - 1; i <= j; i++, j--) {
                int a = complement[t[i]], b = complement[t[j]];
                t[i] = b;
                t[j] = a;
            }
        };
    }

    /** A source of DNA-id batches as the model's ids (labels and targets unchanged). */
    public BatchSource translate(BatchSource dna) {
        if (caduceus == null) return dna;
        return (step, micro) -> {
            Batch b = dna.batch(step, micro);
            return new Batch(translate(b.ids().clone()), b.targets(), b.batch(), b.len());
        };
    }

    /** Writes the vocabulary file a model reading these tokens carries. */
    public void write(Path modelDir, int seqLen) throws IOException {
        if (caduceus != null) caduceus.write(modelDir, seqLen);
        else DnaVocabulary.write(modelDir);
    }
}
