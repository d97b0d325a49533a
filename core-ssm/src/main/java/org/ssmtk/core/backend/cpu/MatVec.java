package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.ssmtk.core.tensor.Tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.function.IntConsumer;

/**
 * out_i = W_i x (+ b_i) for one vector x, or a few (one per sequence of a batched decoding step),
 * and one or more matrices that read it (in_proj's views,
 * x_proj's dt/B/C rows): the products of a decoding step, built once and run once per token, with
 * nothing allocated per run. Every weight row is read once, one row after the other: a
 * decoding step streams its weights from memory, and on the 2-core AVX-512 machine one sequential
 * stream is read much faster than several rows side by side (the 130M LM head, one thread: fp32
 * 154 MB in 7.4 ms one row at a time vs 12.0 ms four rows at a time as Gemm's tile does; int8
 * 38.6 MB in 4.3 ms vs 7.8 ms). Only products of at least {@link #PARALLEL_MACS} go to the thread team: a
 * dispatch, and the output rows moving between cores, cost more than a small matrix takes (the DNA
 * preset's in_proj, 2^18 multiply-adds whose weights sit in cache, split over 2 threads decoded at
 * 1,235 tok/s against 1,848 kept on one). A row is always summed whole by one task, so the results do
 * not depend on the thread count.
 * <p>
 * The weights are read off the heap, on huge pages ({@link HugePages}): int8 ones where {@link
 * Q8Gemm.Q8Storage} keeps them, fp32 ones from copies made when the product is built (into the
 * decoder's {@link HugePages.Copies}, unmapped when it closes: the 130M shape holds 509 MB more
 * while a decoder is open). The kernels are the heap ones with loads from a segment: the same sums
 * in the same order, so the same bits.
 * <p>
 * With several vectors, each weight row is read from memory once and dotted with every vector
 * while it is in L1, four vectors per pass sharing its loads ({@link #fp32Dot4}, {@link
 * Q8Gemm#dot4}). Each vector keeps the single-vector kernel's own accumulators and order, so a
 * sequence's results are the same bits however many others share its step (unlike a matrix
 * product, whose kernel changes at {@link Gemm#PACK_ROWS} rows).
 */
final class MatVec implements IntConsumer {
    private static final VectorSpecies<Float> F = VectorMath.S;
    private static final int V = F.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    /** Multiply-adds from which a product is split among threads. */
    static final long PARALLEL_MACS = 1 << 20;
    /** Tasks per thread when split: enough that a thread the OS holds back leaves little for the others. */
    private static final int TASKS_PER_THREAD = 8;

    /** One matrix: rows [0, rows) of k values; fp32 (w, a copy from float 0) or int8 (q, from wOff); its bias and output. */
    private record Part(MemorySegment w, Q8Gemm.Q8Storage q, int wOff, int rows, int k, float[] bias, int bOff,
                        float[] out, int outOff, int firstTask, int rowsPerTask) {}

    private final Parallel par;
    private final float[] x;
    private final int vectors, xStride;
    private final int[] outStrides;
    private final Part[] parts;
    private final int tasks;
    private final boolean split;
    /** Per task, where the four-row kernels leave their accumulators to be summed (see VectorMath.sumLanes). */
    private final float[][] lanes;
    /** x quantized for the int8 matrices (the longest row's values), before each run; null without int8 matrices. */
    private final Q8Gemm.Activations activations;

    /**
     * weights[i] (rows_i, k) with biases[i] (nullable) into outs[i][outOffs[i] ..]; x holds k values
     * (more is fine). fp32 weights are read from copies made into copies; int8 ones where they are.
     */
    MatVec(Parallel par, float[] x, Tensor[] weights, Tensor[] biases, float[][] outs, int[] outOffs, HugePages.Copies copies) {
        this(par, 1, x, x.length, weights, biases, outs, outOffs, new int[weights.length], copies);
    }

    /**
     * vectors vectors of x, vector v at x[v * xStride ..]; its outputs at outs[i][outOffs[i] + v * outStrides[i] ..]
     * (a stride 0 would have the vectors overwrite one another: refused unless there is one vector).
     */
    MatVec(Parallel par, int vectors, float[] x, int xStride, Tensor[] weights, Tensor[] biases, float[][] outs, int[] outOffs,
           int[] outStrides, HugePages.Copies copies) {
        if (vectors < 1) throw new IllegalArgumentException("matvec: " + vectors + " vectors");
        this.par = par;
        this.x = x;
        this.vectors = vectors;
        this.xStride = xStride;
        this.outStrides = outStrides.clone();
        if ((long) (vectors - 1) * xStride + Math.min(xStride, x.length) > x.length)
            throw new IllegalArgumentException("matvec: " + vectors + " vectors of stride " + xStride + " in " + x.length + " values");
        long macs = 0;
        for (Tensor w : weights) macs += (long) w.dim(0) * w.cols();
        split = par.threads() > 1 && macs * vectors >= PARALLEL_MACS;
        parts = new Part[weights.length];
        int task = 0;
        for (int i = 0; i < weights.length; i++) {
            Tensor w = weights[i], b = biases[i];
            int rows = w.dim(0), k = w.cols();
            if (k > Math.min(xStride, x.length)) throw new IllegalArgumentException("matvec: " + w + " reads " + k + " values of " + xStride);
            if (vectors > 1 && outStrides[i] < rows) throw new IllegalArgumentException("matvec: " + w + " with an output stride of " + outStrides[i]);
            if (outs[i].length < outOffs[i] + (long) (vectors - 1) * outStrides[i] + rows)
                throw new IllegalArgumentException("matvec: " + w + " writes past its output");
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
                    : new Part(copies.copy(CpuBackend.data(w), wOff, rows * k), null, 0, rows, k, b == null ? null : CpuBackend.data(b),
                    b == null ? 0 : CpuBackend.off(b), outs[i], outOffs[i], task, perTask);
            task += (rows + perTask - 1) / perTask;
        }
        tasks = task;
        lanes = vectors >= 4 ? new float[tasks][4 * V] : null;
        int int8K = 0;
        for (Part p : parts) if (p.q != null) int8K = Math.max(int8K, p.k);
        activations = int8K > 0 ? new Q8Gemm.Activations(vectors, int8K) : null;
    }

    /** Computes every output. */
    void run() {
        if (activations != null) for (int v = 0; v < vectors; v++) activations.quantize(v, x, v * xStride);
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
        if (vectors > 1) {
            rows(p, r0, r1, outStrides[i], lanes == null ? null : lanes[t]);
            return;
        }
        int r = r0; // one vector: the loops as they were before batches (decode of one sequence is benchmarked)
        if (p.q != null) {
            for (; r < r1; r++) p.out[p.outOff + r] = Q8Gemm.dot(activations, 0, p.q, p.wOff + r * p.k, p.k) + bias(p, r);
        } else {
            for (; r < r1; r++) p.out[p.outOff + r] = fp32Dot(p.w, p.wOff + r * p.k, p.k, 0) + bias(p, r);
        }
    }

    /** Rows [r0, r1) of p for every vector, each row read once from memory; os: the output stride. */
    private void rows(Part p, int r0, int r1, int os, float[] scratch) {
        int v4 = vectors - vectors % 4;
        for (int r = r0; r < r1; r++) {
            float bias = bias(p, r);
            int wo = p.wOff + r * p.k, o = p.outOff + r;
            if (p.q != null) {
                for (int v = 0; v < v4; v += 4) Q8Gemm.dot4(activations, v, p.q, wo, p.k, p.out, o + v * os, os, bias, scratch);
                for (int v = v4; v < vectors; v++) p.out[o + v * os] = Q8Gemm.dot(activations, v, p.q, wo, p.k) + bias;
            } else {
                for (int v = 0; v < v4; v += 4) fp32Dot4(p.w, wo, p.k, v * xStride, xStride, p.out, o + v * os, os, bias, scratch);
                for (int v = v4; v < vectors; v++) p.out[o + v * os] = fp32Dot(p.w, wo, p.k, v * xStride) + bias;
            }
        }
    }

    private static float bias(Part p, int r) {
        return p.bias == null ? 0f : p.bias[p.bOff + r];
    }

    /** Two sums, alternate vectors, so that the adds of one row do not wait on each other; x from xo. */
    private float fp32Dot(MemorySegment w, int wo, int k, int xo) {
        int k2 = k - k % (2 * V), kv = k - k % V, i = 0;
        FloatVector a = FloatVector.zero(F), b = a;
        for (; i < k2; i += 2 * V) {
            a = load(w, wo + i).fma(FloatVector.fromArray(F, x, xo + i), a);
            b = load(w, wo + i + V).fma(FloatVector.fromArray(F, x, xo + i + V), b);
        }
        if (i < kv) a = load(w, wo + i).fma(FloatVector.fromArray(F, x, xo + i), a);
        float s = VectorMath.sum(a.add(b));
        for (i = kv; i < k; i++) s += at(w, wo + i) * x[xo + i];
        return s;
    }

    /** V weights from float index i of a copy. */
    private static FloatVector load(MemorySegment w, int i) {
        return FloatVector.fromMemorySegment(F, w, 4L * i, ORDER);
    }

    private static float at(MemorySegment w, int i) {
        return w.getAtIndex(ValueLayout.JAVA_FLOAT, i);
    }

    /**
     * fp32Dot of one weight row with four vectors (x from xo, xo + xs, ..) into out[o], out[o + os], ..
     * plus bias: each loaded weight vector serves four rows, and each row keeps fp32Dot's two sums in
     * its order, so every result is the bits fp32Dot gives.
     */
    private void fp32Dot4(MemorySegment w, int wo, int k, int xo, int xs, float[] out, int o, int os, float bias, float[] lanes) {
        int k2 = k - k % (2 * V), kv = k - k % V, i = 0;
        int x1 = xo + xs, x2 = x1 + xs, x3 = x2 + xs;
        FloatVector a0 = FloatVector.zero(F), b0 = a0, a1 = a0, b1 = a0, a2 = a0, b2 = a0, a3 = a0, b3 = a0;
        for (; i < k2; i += 2 * V) {
            FloatVector w0 = load(w, wo + i), w1 = load(w, wo + i + V);
            a0 = w0.fma(FloatVector.fromArray(F, x, xo + i), a0);
            b0 = w1.fma(FloatVector.fromArray(F, x, xo + i + V), b0);
            a1 = w0.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            b1 = w1.fma(FloatVector.fromArray(F, x, x1 + i + V), b1);
            a2 = w0.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            b2 = w1.fma(FloatVector.fromArray(F, x, x2 + i + V), b2);
            a3 = w0.fma(FloatVector.fromArray(F, x, x3 + i), a3);
            b3 = w1.fma(FloatVector.fromArray(F, x, x3 + i + V), b3);
        }
        if (i < kv) {
            FloatVector w0 = load(w, wo + i);
            a0 = w0.fma(FloatVector.fromArray(F, x, xo + i), a0);
            a1 = w0.fma(FloatVector.fromArray(F, x, x1 + i), a1);
            a2 = w0.fma(FloatVector.fromArray(F, x, x2 + i), a2);
            a3 = w0.fma(FloatVector.fromArray(F, x, x3 + i), a3);
        }
        a0.add(b0).intoArray(lanes, 0);
        a1.add(b1).intoArray(lanes, V);
        a2.add(b2).intoArray(lanes, 2 * V);
        a3.add(b3).intoArray(lanes, 3 * V);
        float s0 = VectorMath.sumLanes(lanes, 0), s1 = VectorMath.sumLanes(lanes, V);
        float s2 = VectorMath.sumLanes(lanes, 2 * V), s3 = VectorMath.sumLanes(lanes, 3 * V);
        for (i = kv; i < k; i++) {
            float wi = at(w, wo + i);
            s0 += wi * x[xo + i];
            s1 += wi * x[x1 + i];
            s2 += wi * x[x2 + i];
            s3 += wi * x[x3 + i];
        }
        out[o] = s0 + bias;
        out[o + os] = s1 + bias;
        out[o + 2 * os] = s2 + bias;
        out[o + 3 * os] = s3 + bias;
    }
}
