package org.ssmtk.core.train;

import org.ssmtk.core.nn.Gradients;
import org.ssmtk.core.nn.MambaModel;

/** What a training step minimizes: adds scale * d(mean loss)/d(params) into grads, returns the mean loss. */
@FunctionalInterface
public interface Objective {
    LanguageModelLoss.Result lossAndGradients(MambaModel model, Batch batch, Gradients grads, float scale);

    /** Next-token (or any per-token target) cross-entropy through the LM head. */
    static Objective languageModel() {
        return (model, b, grads, scale) -> {
            if (b.targets().length != b.ids().length) throw new IllegalArgumentException("a language model needs one target per token");
            return LanguageModelLoss.lossAndGradients(model, b.ids(), b.targets(), b.batch(), b.len(), grads, scale);
        };
    }

    /** Cross-entropy of one label per sequence through the pooled classification head. */
    static Objective sequenceClassification() {
        return (model, b, grads, scale) -> {
            if (b.targets().length != b.batch()) throw new IllegalArgumentException("a classifier needs one label per sequence");
            return ClassificationLoss.lossAndGradients(model, b.ids(), b.targets(), b.batch(), b.len(), grads, scale);
        };
    }
}
