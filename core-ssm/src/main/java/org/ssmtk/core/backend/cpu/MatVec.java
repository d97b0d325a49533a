package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.ssmtk.core.tensor.Tensor;

import java.util.function.IntConsumer;

/**
 * out_i = W_i x (+ b_i) for one vector x and one or more matrices that read it (in_proj's views,
 * x_proj's dt/B/C rows): the products of a decoding step, built once and run once per token, with
 * nothing allocated per run. Every weight row is read once, one row after the other: a
 * decoding step streams its weights from memory, and on the 2-core AVX-512 machine one sequential
 * stream is read much faster than several rows side by side (the 130M LM head, one thread: fp32
 * 154 MB in 7.4 ms one row at a time vs 12.0 ms four rows at a time as Gemm's tile does; int8
 * 38.6 MB in 4.3 ms vs 7.8 ms). Only products of at least {@link #PARALLEL_MACS} go to the thread team: a dispatch costs a few
 * microseconds, more than a small matrix takes. A row is always summed whole by one task, so the
 * results do not depend on the thread count.
 */
final class MatVec implements IntConsumer {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int V = F.length();

    /** Multiply-adds from which a product is split among threads. */
    static final long PARALLEL_MACS = 1 << 18;
    /** Tasks per thread when split: enough that a thread the OS holds back leaves little for the others. */
    private static final int TASKS_PER_THREAD = 8;

    /** One matrix: rows [0, rows) of k values; fp32 (w) or int8 (q); its bias and output. */
    private record Part(float[] w, Q8Gemm.Q8Storage q, int wOff, int rows, int k, float[] bias, int bOff,
                        float[] out, int outOff, int firstTask, int rowsPerTask) {}

    private final Parallel par;
    private final float[] x;
    private final Part[] parts;
    private final int tasks;
    private final boolean split;

    /** weights[i] (rows_i, k) with biases[i] (nullable) into outs[i][outOffs[i] ..]; x holds k values (more is fine). */
    MatVec(Parallel par, float[] x, Tensor[] weights, Tensor[] biases, float[][] outs, int[] outOffs) {
        this.par = par;
        this.x = x;
        long macs = 0;
        for (Tensor w : weights) macs += (long) w.dim(0) * w.cols();
        split = par.threads() > 1 && macs >= PARALLEL_MACS;
        parts = new Part[weights.length];
        int task = 0;
        for (int i = 0; i < weights.length; i++) {
            Tensor w = weights[i], b = biases[i];
            int rows = w.dim(0), k = w.cols();
            if (k > x.length) throw new IllegalArgumentException("matvec: " + w + " reads " + k + " values of " + x.length);
            if (outs[i].length < outOffs[i] + rows) throw new IllegalArgumentException("matvec: " + w + " writes past its output");
            if (b != null && b.size() != rows) throw new IllegalArgumentException("matvec: bias " + b + " for " + w);
            int perTask = rows;
            if (split) {
                long share = (long) rows * k * par.threads() * TASKS_PER_THREAD / macs; // this matrix's tasks
                perTask = (int) Math.max(4, (rows / Math.max(1, share) + 3) / 4 * 4);
            }
            int wOff = CpuBackend.off(w);
            parts[i] = w.storage() instanceof Q8Gemm.Q8Storage q
                    ? new Part(null, q, wOff, rows, k, b == null ? null : CpuBackend.data(b), b == null ? 0 : CpuBackend.off(b),
                    outs[i], outOffs[i], task, perTask)
                    : new Part(CpuBackend.data(w), null, wOff, rows, k, b == null ? null : CpuBackend.data(b),
                    b == null ? 0 : CpuBackend.off(b), outs[i], outOffs[i], task, perTask);
            task += (rows + perTask - 1) / perTask;
        }
        tasks = task;
    }

    /** Computes every output. */
    void run() {
        if (split) par.forEach(tasks, this);
        else for (int t = 0; t < tasks; t++) accept(t);
    }

    /** Task t: a run of rows of one matrix. */
    @Override
    public void accept(int t) {
        int i = parts.length - 1;
        while (parts[i].firstTask > t) i--;
        Part p = parts[i];
        int r0 = (t - p.firstTask) * p.rowsPerTask, r1 = Math.min(p.rows, r0 + p.rowsPerTask);
        int r = r0;
        if (p.q != null) {
            for (; r < r1; r++) p.out[p.outOff + r] = Q8Gemm.dot(x, 0, p.q, p.wOff + r * p.k, p.k) + bias(p, r);
        } else {
            for (; r < r1; r++) p.out[p.outOff + r] = fp32Dot(p.w, p.wOff + r * p.k, p.k) + bias(p, r);
        }
    }

    private static float bias(Part p, int r) {
        return p.bias == null ? 0f : p.bias[p.bOff + r];
    }

    /** Two sums, alternate vectors, so that the adds of one row do not wait on each other. */
    private float fp32Dot(float[] w, int wo, int k) {
        int k2 = k - k % (2 * V), kv = k - k % V, i = 0;
        FloatVector a = FloatVector.zero(F), b = a;
        for (; i < k2; i += 2 * V) {
            a = FloatVector.fromArray(F, w, wo + i).fma(FloatVector.fromArray(F, x, i), a);
            b = FloatVector.fromArray(F, w, wo + i + V).fma(FloatVector.fromArray(F, x, i + V), b);
        }
        if (i < kv) a = FloatVector.fromArray(F, w, wo + i).fma(FloatVector.fromArray(F, x, i), a);
        float s = VectorMath.sum(a.add(b));
        for (i = kv; i < k; i++) s += w[wo + i] * x[i];
        return s;
    }
}
