package org.ssmtk.core.backend;

import org.ssmtk.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;

/**
 * A {@link Collective} through host memory, for replicas on any backend in one process: each
 * replica copies its tensors to the host, waits for the others, adds every replica's copy in
 * rank order (so that all get the same bits) and copies the sum back. Synchronous and slow: it exists for
 * the CPU, where it lets the data-parallel path run and be tested without GPUs.
 */
public final class HostCollective implements Collective {
    private final Group group;
    private final int rank;
    private final Backend backend;

    private HostCollective(Group group, int rank, Backend backend) {
        this.group = group;
        this.rank = rank;
        this.backend = backend;
    }

    /** One collective per backend, rank i for backends.get(i). */
    public static List<Collective> group(List<? extends Backend> backends) {
        Group g = new Group(backends.size());
        List<Collective> out = new ArrayList<>();
        for (int r = 0; r < backends.size(); r++) out.add(new HostCollective(g, r, backends.get(r)));
        return out;
    }

    private static final class Group {
        final float[][][] parts;
        /** Terminated for good by {@link #abort}: a replica arriving later returns at once instead of waiting. */
        final java.util.concurrent.Phaser phaser;

        Group(int n) {
            parts = new float[n][][];
            phaser = new java.util.concurrent.Phaser(n);
        }
    }

    @Override
    public int rank() {
        return rank;
    }

    @Override
    public int size() {
        return group.parts.length;
    }

    @Override
    public void allReduceSum(List<Tensor> tensors) {
        float[][] mine = new float[tensors.size()][];
        for (int i = 0; i < mine.length; i++) mine[i] = backend.toHost(tensors.get(i));
        group.parts[rank] = mine;
        await();
        for (int i = 0; i < mine.length; i++) {
            // every replica adds the same parts in rank order: the same bits everywhere
            float[] sum = new float[mine[i].length];
            for (float[][] part : group.parts) {
                if (part.length != mine.length || part[i].length != sum.length)
                    throw new IllegalStateException("replicas reduce different tensors");
                for (int k = 0; k < sum.length; k++) sum[k] += part[i][k];
            }
            backend.copy(tensors.get(i), backend.fromHost(sum, tensors.get(i).shape()));
        }
        // nobody may replace its part for the next reduction until everyone has read this one
        await();
    }

    private void await() {
        if (group.phaser.arriveAndAwaitAdvance() < 0)
            throw new IllegalStateException("another replica failed during an all-reduce");
    }

    @Override
    public void join() {}

    @Override
    public void abort() {
        group.phaser.forceTermination();
    }
}
