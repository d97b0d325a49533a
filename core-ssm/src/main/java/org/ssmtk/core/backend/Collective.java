package org.ssmtk.core.backend;

import org.ssmtk.core.tensor.Tensor;

import java.util.List;

/**
 * Sums tensors across the replicas of a data-parallel run: one instance per replica, each bound to
 * that replica's backend. Calls are issued by each replica's own thread, the same calls in the same
 * order on every replica (NCCL's rule, and what makes the sums match).
 *
 * <p>{@link #allReduceSum} may return before the sum is done (the NCCL collective runs on a stream
 * of its own, so that it overlaps the rest of the backward); {@link #join} orders everything queued
 * on the backend afterwards behind every sum started so far.
 */
public interface Collective extends AutoCloseable {

    /** This replica's index, 0 for the one that writes checkpoints and logs. */
    int rank();

    /** How many replicas take part. */
    int size();

    /** Replaces each tensor by its sum over the replicas (in place, fp32). */
    void allReduceSum(List<Tensor> tensors);

    /** Work queued on this replica's backend after this call sees every sum started before it. */
    void join();

    /** Gives up: wakes any replica blocked in a collective with an error (after another one failed). */
    default void abort() {}

    @Override
    default void close() {}

    /** The one-replica case: nothing to sum. */
    static Collective single() {
        return new Collective() {
            public int rank() { return 0; }

            public int size() { return 1; }

            public void allReduceSum(List<Tensor> tensors) {}

            public void join() {}
        };
    }
}
