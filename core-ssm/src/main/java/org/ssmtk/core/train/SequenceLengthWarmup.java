package org.ssmtk.core.train;

import java.util.ArrayList;
import java.util.List;

/**
 * Sequence-length warmup, as the Mamba paper trains its long-context DNA models (after HyenaDNA):
 * training starts on short windows and the length doubles, stage by stage, up to the target; DNA
 * pretraining and classifiers and the audio LM use it. The warmup's steps are shared equally by the
 * short stages (stage i of S short ones covers steps {@code (i*W/S, (i+1)*W/S]}); every step after
 * the warmup uses the target length. Tokens per step stay (about) constant: a stage of length l has
 * {@code batch * target / l} rows, so the learning-rate schedule sees the same amount of data per
 * step throughout. A pure function of (step, micro) when each stage's source is.
 */
public final class SequenceLengthWarmup implements BatchSource {
    private final int[] lengths, batches;
    private final BatchSource[] samplers;
    private final long warmupSteps;

    /** The batches of one stage: windows of {@code length}, {@code batch} rows per step. */
    @FunctionalInterface
    public interface StageSource {
        BatchSource of(int length, int batch);
    }

    /** One stage: its window length, rows per batch, and the steps (1-based, inclusive) it covers. */
    public record Stage(int length, int batch, long firstStep, long lastStep) {}

    private SequenceLengthWarmup(int[] lengths, int[] batches, BatchSource[] samplers, long warmupSteps) {
        this.lengths = lengths;
        this.batches = batches;
        this.samplers = samplers;
        this.warmupSteps = warmupSteps;
    }

    /**
     * The schedule from {@code start} to {@code target} over {@code warmupSteps} steps (at least one per
     * short stage); stage i's batches come from {@code source.of(length_i, rows_i)}.
     *
     * @throws IllegalArgumentException on a schedule that cannot run, or a source that cannot give a stage's windows
     */
    public static SequenceLengthWarmup of(StageSource source, int start, int target, int batch, long warmupSteps) {
        int[] lengths = lengths(start, target);
        int shortStages = lengths.length - 1;
        if (warmupSteps < shortStages)
            throw new IllegalArgumentException("a warmup from " + start + " to " + target + " tokens has " + shortStages
                    + " short stages and needs at least that many steps, got " + warmupSteps);
        int[] batches = new int[lengths.length];
        BatchSource[] samplers = new BatchSource[lengths.length];
        for (int i = 0; i < lengths.length; i++) {
            batches[i] = (int) Math.max(batch, (long) batch * target / lengths[i]);
            samplers[i] = source.of(lengths[i], batches[i]);
        }
        return new SequenceLengthWarmup(lengths, batches, samplers, warmupSteps);
    }

    /** start, 2 start, 4 start, ... below target, then target. */
    static int[] lengths(int start, int target) {
        if (start < 2) throw new IllegalArgumentException("the warmup's first length must be at least 2 tokens, got " + start);
        if (start >= target) throw new IllegalArgumentException("the warmup's first length (" + start + ") must be below the target length (" + target + ")");
        List<Integer> out = new ArrayList<>();
        for (long l = start; l < target; l *= 2) out.add((int) l);
        out.add(target);
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /** The stage index of a (1-based) step. */
    int stage(long step) {
        if (step > warmupSteps) return lengths.length - 1;
        int shortStages = lengths.length - 1;
        return (int) Math.min(shortStages - 1, (Math.max(step, 1) - 1) * shortStages / warmupSteps);
    }

    public int lengthAt(long step) {
        return lengths[stage(step)];
    }

    public int batchAt(long step) {
        return batches[stage(step)];
    }

    /** The whole schedule, for reports. */
    public List<Stage> stages() {
        List<Stage> out = new ArrayList<>();
        long first = 1;
        for (int i = 0; i < lengths.length; i++) {
            long last = first;
            if (i == lengths.length - 1) last = Long.MAX_VALUE;
            else while (last + 1 <= warmupSteps && stage(last + 1) == i) last++;
            out.add(new Stage(lengths[i], batches[i], first, last));
            first = last + 1;
        }
        return out;
    }

    @Override
    public Batch batch(long step, int micro) {
        return samplers[stage(step)].batch(step, micro);
    }
}
