package org.ssmtk.core.nn;

import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.tensor.Tensor;

import java.util.Map;
import java.util.Objects;

/**
 * A model's tensors by role rather than by name: the parameters, or (bound over the gradient
 * tensors) their gradients. {@link #bind} is the only place the stack's checkpoint names are read;
 * each mixer's names are read by its {@link ModelFamily}.
 *
 * @param lmHead     (padded vocab, hidden); the embeddings themselves when tied
 * @param classifier the sequence-classification head's weight (labels, hidden), or null
 */
record ModelWeights(Tensor embeddings, Block[] blocks, Tensor normF, Tensor lmHead, Tensor classifier,
                    Tensor classifierBias) {

    /** The same tensors with another LM head (an int8 copy of tied embeddings, which the lookup keeps in fp32). */
    ModelWeights withLmHead(Tensor head) {
        return new ModelWeights(embeddings, blocks, normF, head, classifier, classifierBias);
    }

    /** One residual block: its RMSNorm weight (hidden) and its mixer's tensors. */
    record Block(Tensor norm, Mixer.Weights mixer) {}

    static ModelWeights bind(ModelFamily family, MambaConfig c, Map<String, Tensor> byName) {
        java.util.function.Function<String, Tensor> get =
                name -> Objects.requireNonNull(byName.get(name), () -> "no tensor " + name);
        StackNames names = family.stackNames(c);
        Block[] blocks = new Block[c.numHiddenLayers()];
        for (int i = 0; i < blocks.length; i++)
            blocks[i] = new Block(get.apply(names.layerNorm(i)), family.bind(c, get, names.mixer(i)));
        Tensor embeddings = get.apply(names.embeddings());
        return new ModelWeights(embeddings, blocks, get.apply(names.normF()),
                c.tieWordEmbeddings() ? embeddings : get.apply(names.lmHead()),
                c.hasClassifier() ? get.apply(ParameterSpec.CLASSIFIER_WEIGHT) : null,
                c.hasClassifier() ? get.apply(ParameterSpec.CLASSIFIER_BIAS) : null);
    }
}
