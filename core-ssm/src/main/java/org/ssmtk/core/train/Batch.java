package org.ssmtk.core.train;

/**
 * One micro-batch: ids (batch x len, row-major) and per-token targets in the same layout
 * ({@link LanguageModelLoss#IGNORE} where a position is not scored).
 */
public record Batch(int[] ids, int[] targets, int batch, int len) {
    public Batch {
        if (ids.length != (long) batch * len || targets.length != ids.length)
            throw new IllegalArgumentException(ids.length + " ids and " + targets.length + " targets for " + batch + " x " + len);
    }

    public static Batch nextToken(int[] ids, int batch, int len) {
        return new Batch(ids, LanguageModelLoss.nextTokenTargets(ids, batch, len, LanguageModelLoss.IGNORE), batch, len);
    }
}
