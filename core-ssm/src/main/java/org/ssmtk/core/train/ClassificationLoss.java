package org.ssmtk.core.train;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.nn.Gradients;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.tensor.Tensor;

/**
 * Sequence classification: mean over sequences of -log softmax(classifier(pool(hidden)))[label],
 * labels equal to {@link LanguageModelLoss#IGNORE} skipped. The LM head takes no part.
 */
public final class ClassificationLoss {
    private ClassificationLoss() {}

    public static LanguageModelLoss.Result lossAndGradients(MambaModel model, int[] ids, int[] labels, int batch, int len,
                                                             Gradients grads, float scale) {
        Backend backend = model.backend();
        int classes = model.config().numLabels();
        int count = 0;
        for (int y : labels) {
            if (y == LanguageModelLoss.IGNORE) continue;
            if (y < 0 || y >= classes) throw new IllegalArgumentException("label " + y + " is outside 0.." + (classes - 1));
            count++;
        }
        if (count == 0) throw new IllegalArgumentException("no labelled sequence in the batch");
        MambaModel.Activations act = model.forwardTraining(ids, batch, len);
        Tensor pooled = model.pool(act.hidden(), batch, len);
        Tensor logits = model.classify(pooled);
        Tensor dLogits = backend.allocate(logits.shape());
        double sum = backend.crossEntropy(logits, labels, LanguageModelLoss.IGNORE, dLogits, scale / count);
        Tensor dPooled = backend.allocate(pooled.shape());
        model.classifyBackward(dLogits, pooled, dPooled, grads);
        Tensor dHidden = backend.allocate(act.hidden().shape());
        model.poolBackward(dPooled, dHidden, batch, len);
        model.backward(act, dHidden, grads);
        for (Tensor t : new Tensor[]{pooled, logits, dLogits, dPooled, dHidden}) backend.release(t);
        model.release(act);
        return new LanguageModelLoss.Result(sum / count, count);
    }
}
