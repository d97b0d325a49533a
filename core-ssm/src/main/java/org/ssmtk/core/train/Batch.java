package org.ssmtk.core.train;

/**
 * One micro-batch: ids (batch x len, row-major) and targets, either one per token in the same
 * layout ({@link LanguageModelLoss#IGNORE} where a position is not scored) for language models,
 * or one label per sequence for classifiers.
 */
public record Batch(int[] ids, int[] targets, int batch, int len) {
    public Batch {
        if (ids.length != (long) batch * len || (targets.length != ids.length && targets.length != batch))
            throw new IllegalArgumentException(ids.length + " ids and " + targets.length + " targets for " + batch + " x " + len);
    }

    public static Batch nextToken(int[] ids, int batch, int len) {
        return new Batch(ids, LanguageModelLoss.nextTokenTargets(ids, batch, len, LanguageModelLoss.IGNORE), batch, len);
    }

    /** Sequences with one class label each. */
    public static Batch labeled(int[] ids, int[] labels, int batch, int len) {
        if (labels.length != batch) throw new IllegalArgumentException(labels.length + " labels for " + batch + " sequences");
        return new Batch(ids, labels, batch, len);
    }

}
