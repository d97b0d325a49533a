package org.ssmtk.core.nn;

import org.ssmtk.core.config.MambaConfig;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The parameters of a model of the Mamba family in HuggingFace's names and shapes, derived from a
 * config: the shared stack's names here, each layer's mixer's from its {@link ModelFamily}.
 */
public final class ParameterSpec {
    public record Entry(String name, int[] shape) {
        public long size() {
            long n = 1;
            for (int d : shape) n *= d;
            return n;
        }

        @Override
        public String toString() {
            return name + " " + Arrays.toString(shape);
        }
    }

    public static final String EMBEDDINGS = "backbone.embeddings.weight";
    public static final String NORM_F = "backbone.norm_f.weight";
    public static final String LM_HEAD = "lm_head.weight";
    /** The sequence-classification head (when the config has one): (num_labels, hidden) and (num_labels). */
    public static final String CLASSIFIER_WEIGHT = "classifier.weight", CLASSIFIER_BIAS = "classifier.bias";

    private ParameterSpec() {}

    public static String layer(int i, String suffix) {
        return "backbone.layers." + i + "." + suffix;
    }

    /** Every parameter the config implies, in the order transformers names them (the family's names). */
    public static List<Entry> of(MambaConfig c) {
        ModelFamily family = ModelFamily.of(c.modelType());
        StackNames names = family.stackNames(c);
        int h = c.hiddenSize();
        List<Entry> e = new ArrayList<>();
        e.add(new Entry(names.embeddings(), new int[]{c.paddedVocabSize(), h}));
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            e.add(new Entry(names.layerNorm(i), new int[]{h}));
            e.addAll(family.mixerParameters(c, names.mixer(i)));
        }
        e.add(new Entry(names.normF(), new int[]{h}));
        if (!c.tieWordEmbeddings()) e.add(new Entry(names.lmHead(), new int[]{c.paddedVocabSize(), h}));
        if (c.hasClassifier()) {
            e.add(new Entry(CLASSIFIER_WEIGHT, new int[]{c.numLabels(), h}));
            e.add(new Entry(CLASSIFIER_BIAS, new int[]{c.numLabels()}));
        }
        return e;
    }

    public static long count(MambaConfig c) {
        long n = 0;
        for (Entry e : of(c)) n += e.size();
        return n;
    }
}
