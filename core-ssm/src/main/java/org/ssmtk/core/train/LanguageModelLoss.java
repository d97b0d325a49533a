package org.ssmtk.core.train;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.nn.Gradients;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.tensor.Tensor;

import java.util.Arrays;

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

    /**
     * Bytes of one block of logits: the LM head, the loss and the head's backward run block by block,
     * so that a step holds two blocks (logits and their gradient), not two (tokens, vocab) matrices
     * (for the 130M shape at 8 x 2048, 2 x 3.1 GiB). A model with a small vocabulary takes every row in one block.
     */
    public static final long LOGIT_BLOCK_BYTES = 256L << 20;

    /** Rows of logits per block for a padded vocabulary. */
    public static int blockRows(int vocab) {
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, LOGIT_BLOCK_BYTES / (4L * Math.max(1, vocab))));
    }

    public static Result lossAndGradients(MambaModel model, int[] ids, int[] targets, int batch, int len, Gradients grads, float scale) {
        return lossAndGradients(model, ids, targets, batch, len, grads, scale, null);
    }

    /**
     * As above, also handing the logits the loss was computed from to {@code logitsSeen} (when not
     * null: then all rows are one block, so that it sees them at once); with {@code grads} null the
     * loss alone is computed, without the backward.
     */
    public static Result lossAndGradients(MambaModel model, int[] ids, int[] targets, int batch, int len, Gradients grads, float scale,
                                          java.util.function.Consumer<Tensor> logitsSeen) {
        int block = logitsSeen != null ? Math.max(1, batch * len) : blockRows(model.config().paddedVocabSize());
        return lossAndGradients(model, ids, targets, batch, len, grads, scale, logitsSeen, block);
    }

    /** The same with logits taken blockRows rows at a time (tests use blocks that do not divide the rows). */
    public static Result lossAndGradients(MambaModel model, int[] ids, int[] targets, int batch, int len, Gradients grads,
                                          float scale, int blockRows) {
        return lossAndGradients(model, ids, targets, batch, len, grads, scale, null, blockRows);
    }

    private static Result lossAndGradients(MambaModel model, int[] ids, int[] targets, int batch, int len, Gradients grads,
                                           float scale, java.util.function.Consumer<Tensor> logitsSeen, int blockRows) {
        if (blockRows < 1) throw new IllegalArgumentException("logit blocks need at least one row, got " + blockRows);
        Backend backend = model.backend();
        int count = 0;
        for (int t : targets) if (t != IGNORE) count++;
        if (count == 0) throw new IllegalArgumentException("no targets to learn from: sequences of length 1 have no next token");
        MambaModel.Activations act = model.forwardTraining(ids, batch, len);
        int rows = batch * len, vocab = model.config().paddedVocabSize();
        int block = model.strands() > 1 ? rows : Math.min(rows, blockRows); // two strands: one block (MambaModel.logits)
        // the head writes each block's logits whole, and crossEntropy its gradient
        Tensor logits = backend.allocateUninitialized(block, vocab), dLogits = backend.allocateUninitialized(block, vocab);
        Tensor dHidden = grads == null ? null : backend.allocate(act.hidden().shape());
        double sum = 0;
        for (int from = 0; from < rows; from += block) {
            int to = Math.min(rows, from + block);
            Tensor l = logits.rows(0, to - from), d = dLogits.rows(0, to - from);
            model.logits(act, from, to, l);
            if (logitsSeen != null) logitsSeen.accept(l);
            sum += backend.crossEntropy(l, Arrays.copyOfRange(targets, from, to), IGNORE, d, scale / count);
            if (grads != null) model.logitsBackward(act, from, to, d, dHidden, grads);
        }
        backend.release(logits);
        backend.release(dLogits);
        if (grads != null) {
            model.backward(act, dHidden, grads);
            backend.release(dHidden);
        }
        model.release(act);
        return new Result(sum / count, count);
    }
}
