package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.ssmtk.core.tensor.Q8Blocks;
import org.ssmtk.core.tensor.Tensor;

import java.util.function.IntConsumer;

/**
 * out_i = W_i x (+ b_i) for one vector x and one or more matrices that read it (in_proj's views,
 * x_proj's dt/B/C rows): the products of a decoding step, built once and run once per token, with
 * nothing allocated per run. Every weight row is read once, four rows at a time so that four
 * independent sums hide the latency of the fused multiply-adds (one row's chain of dependent adds
 * is what bounds a plain dot product, above all for int8 rows, whose blocks each end in a scale).
 * Only products of at least {@link #PARALLEL_MACS} go to the thread team: a dispatch costs a few
 * microseconds, more than a small matrix takes. A row is always summed whole by one task, so the
 * results do not depend on the thread count.
 */
final class MatVec implements IntConsumer {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int V = F.length();
    /** Bytes that widen into one float register. */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, VectorShape.forBitSize(V * 8));

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
            for (; r + 4 <= r1; r += 4) q8Rows4(p, r);
            for (; r < r1; r++) p.out[p.outOff + r] = Q8Gemm.dot(x, 0, p.q, p.wOff + r * p.k, p.k) + bias(p, r);
        } else {
            for (; r + 4 <= r1; r += 4) fp32Rows4(p, r);
            for (; r < r1; r++) p.out[p.outOff + r] = fp32Dot(p.w, p.wOff + r * p.k, p.k) + bias(p, r);
        }
    }

    private static float bias(Part p, int r) {
        return p.bias == null ? 0f : p.bias[p.bOff + r];
    }

    private void fp32Rows4(Part p, int r) {
        float[] w = p.w;
        int k = p.k, kv = k - k % V, w0 = p.wOff + r * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int i = 0; i < kv; i += V) {
            FloatVector xv = FloatVector.fromArray(F, x, i);
            a0 = FloatVector.fromArray(F, w, w0 + i).fma(xv, a0);
            a1 = FloatVector.fromArray(F, w, w1 + i).fma(xv, a1);
            a2 = FloatVector.fromArray(F, w, w2 + i).fma(xv, a2);
            a3 = FloatVector.fromArray(F, w, w3 + i).fma(xv, a3);
        }
        float s0 = VectorMath.sum(a0), s1 = VectorMath.sum(a1), s2 = VectorMath.sum(a2), s3 = VectorMath.sum(a3);
        for (int i = kv; i < k; i++) {
            s0 += w[w0 + i] * x[i];
            s1 += w[w1 + i] * x[i];
            s2 += w[w2 + i] * x[i];
            s3 += w[w3 + i] * x[i];
        }
        int o = p.outOff + r;
        p.out[o] = s0 + bias(p, r);
        p.out[o + 1] = s1 + bias(p, r + 1);
        p.out[o + 2] = s2 + bias(p, r + 2);
        p.out[o + 3] = s3 + bias(p, r + 3);
    }

    private float fp32Dot(float[] w, int wo, int k) {
        int kv = k - k % V;
        FloatVector a = FloatVector.zero(F);
        for (int i = 0; i < kv; i += V) a = FloatVector.fromArray(F, w, wo + i).fma(FloatVector.fromArray(F, x, i), a);
        float s = VectorMath.sum(a);
        for (int i = kv; i < k; i++) s += w[wo + i] * x[i];
        return s;
    }

    /** Four int8 rows: per 32-value block a partial sum per row, scaled once into the row's total (as Q8Gemm.dot). */
    private void q8Rows4(Part p, int r) {
        byte[] q = p.q.q;
        float[] scales = p.q.scales;
        int k = p.k, w0 = p.wOff + r * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
        FloatVector a0 = FloatVector.zero(F), a1 = a0, a2 = a0, a3 = a0;
        for (int b = 0; b < k; b += Q8Blocks.BLOCK) {
            FloatVector s0 = FloatVector.zero(F), s1 = s0, s2 = s0, s3 = s0;
            for (int i = b; i < b + Q8Blocks.BLOCK; i += V) {
                FloatVector xv = FloatVector.fromArray(F, x, i);
                s0 = widen(q, w0 + i).fma(xv, s0);
                s1 = widen(q, w1 + i).fma(xv, s1);
                s2 = widen(q, w2 + i).fma(xv, s2);
                s3 = widen(q, w3 + i).fma(xv, s3);
            }
            a0 = s0.fma(FloatVector.broadcast(F, scales[(w0 + b) / Q8Blocks.BLOCK]), a0);
            a1 = s1.fma(FloatVector.broadcast(F, scales[(w1 + b) / Q8Blocks.BLOCK]), a1);
            a2 = s2.fma(FloatVector.broadcast(F, scales[(w2 + b) / Q8Blocks.BLOCK]), a2);
            a3 = s3.fma(FloatVector.broadcast(F, scales[(w3 + b) / Q8Blocks.BLOCK]), a3);
        }
        int o = p.outOff + r;
        p.out[o] = VectorMath.sum(a0) + bias(p, r);
        p.out[o + 1] = VectorMath.sum(a1) + bias(p, r + 1);
        p.out[o + 2] = VectorMath.sum(a2) + bias(p, r + 2);
        p.out[o + 3] = VectorMath.sum(a3) + bias(p, r + 3);
    }

    private static FloatVector widen(byte[] q, int at) {
        return (FloatVector) ByteVector.fromArray(B, q, at).convertShape(VectorOperators.B2F, F, 0);
    }
}
