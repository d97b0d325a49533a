package org.ssmtk.core.train;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.nn.Gradients;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.tensor.Tensor;

/**
 * Next-token cross-entropy, the fixtures' and transformers' definition: the mean over every
 * position but the last of each sequence of -log softmax(logits[t])[ids[t + 1]], skipping targets
 * equal to the ignore index.
 */
public final class LanguageModelLoss {
    /** PyTorch's default ignore_index. */
    public static final int IGNORE = -100;

    private LanguageModelLoss() {}

    /** targets[b, t] = ids[b, t + 1], and IGNORE at the last position (and where ids is ignore). */
    public static int[] nextTokenTargets(int[] ids, int batch, int len, int ignoreIndex) {
        int[] t = new int[ids.length];
        for (int b = 0; b < batch; b++)
            for (int i = 0; i < len; i++) t[b * len + i] = i + 1 < len ? ids[b * len + i + 1] : ignoreIndex;
        return t;
    }

    /** Loss and how many targets it averaged. */
    public record Result(double loss, int count) {}

    /**
     * Forward, loss and backward for one batch: adds scale * d(mean loss)/d(param) into grads and
     * returns the mean loss. scale is 1 normally and 1/k when k micro-batches make one step.
     */
    public static Result lossAndGradients(MambaModel model, int[] ids, int batch, int len, Gradients grads, float scale) {
        return lossAndGradients(model, ids, nextTokenTargets(ids, batch, len, IGNORE), batch, len, grads, scale);
    }

    public static Result lossAndGradients(MambaModel model, int[] ids, int[] targets, int batch, int len, Gradients grads, float scale) {
        return lossAndGradients(model, ids, targets, batch, len, grads, scale, null);
    }

    /**
     * As above, also handing the logits the loss was computed from to {@code logitsSeen} (when not
     * null); with {@code grads} null the loss alone is computed, without the backward.
     */
    public static Result lossAndGradients(MambaModel model, int[] ids, int[] targets, int batch, int len, Gradients grads, float scale,
                                          java.util.function.Consumer<Tensor> logitsSeen) {
        Backend backend = model.backend();
        MambaModel.Activations act = model.forwardTraining(ids, batch, len);
        Tensor logits = model.logits(act.hidden());
        if (logitsSeen != null) logitsSeen.accept(logits);
        int count = 0;
        for (int t : targets) if (t != IGNORE) count++;
        if (count == 0) throw new IllegalArgumentException("no targets to learn from: sequences of length 1 have no next token");
        Tensor dLogits = backend.allocate(logits.shape());
        double sum = backend.crossEntropy(logits, targets, IGNORE, dLogits, scale / count);
        if (grads == null) return new Result(sum / count, count);
        Tensor dHidden = backend.allocate(act.hidden().shape());
        model.logitsBackward(act, dLogits, dHidden, grads);
        model.backward(act, dHidden, grads);
        return new Result(sum / count, count);
    }
}
