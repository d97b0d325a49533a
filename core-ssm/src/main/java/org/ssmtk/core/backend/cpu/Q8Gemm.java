package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.ssmtk.core.tensor.Q8Blocks;
import org.ssmtk.core.tensor.Storage;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * C = X W^T (+ bias) with W stored as block-scaled int8 ({@link Q8Blocks}): a quarter of fp32's
 * bytes, which is what a decoding step (every weight read once per token) is bound by. Few rows
 * (decoding): each W row is read as bytes, widened to floats a register at a time, and dotted with
 * X; a block's partial sum is scaled once. Widening 16 bytes to 16 floats by the JDK's conversion
 * (a cross-lane vpmovsxbd, then a convert) made that product compute-bound at about 9 GB/s on one
 * Zen 4 core, under the memory's 17 (28 with huge pages); so each row's runs of 4 V values are
 * stored interleaved ({@link #slot}) under AVX-512 and AVX2: one full-width load read as V ints
 * yields V consecutive values per byte position by two in-lane shifts. AVX-512 on Zen 4: 14.9 GB/s
 * from L3 (from memory with huge pages: 12.4 against 10.6; with 4 KB pages 8.1 against 9.2; the
 * bytes are kept on huge pages, see {@link Q8Storage}). AVX2 on a Zen core ({@code Q8DotBench}, a
 * test-source main): 6.0-9.4 GB/s from L3, run to run, against 3.0-3.5 for 8 bytes widened by
 * conversion; 4.8-7.4 from memory, where an fp32 row reads 10.5. Many rows (prefill): {@link
 * PackedGemm}, which dequantizes W a cache-sized panel at a time ({@link #dequantize}), each reused
 * by every row of X, so prefill runs the fp32 kernel from a quarter of the memory, plus the
 * dequantizing, which the fp32 path does not pay. Activations stay fp32.
 */
final class Q8Gemm {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int V = F.length();
    /** Bytes that widen into one float register. */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, jdk.incubator.vector.VectorShape.forBitSize(V * 8));
    private static final int N_BLOCK = 16;
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private Q8Gemm() {}

    /**
     * Int8 weights with one float scale per 32 values of a row (scales widened from half precision
     * once). The bytes are off the heap, on huge pages from a megabyte up ({@link HugePages}): a
     * decoding step streams them whole every token, and nothing but these kernels reads them.
     */
    static final class Q8Storage implements Storage {
        final MemorySegment q;
        final float[] scales;

        Q8Storage(MemorySegment q, float[] scales) {
            this.q = q;
            this.scales = scales;
        }

        /** Value slot of the weights (see {@link #slot}), as stored. */
        byte at(long i) {
            return q.get(ValueLayout.JAVA_BYTE, i);
        }

        @Override
        public long capacity() {
            return q.byteSize();
        }
    }

    /** Whether rows are stored interleaved: 8 or 16 float lanes (AVX2, AVX-512), a run of 4 V bytes one full-width load. */
    private static final boolean INTERLEAVED = V == 8 || V == 16;
    /** Values per interleaved run: four byte positions of V ints; one block under AVX2, two under AVX-512. */
    private static final int RUN = 4 * V;
    /** Block of a run's second half (byte positions 2, 3), counted from the run's first block. */
    private static final int SECOND_HALF_BLOCK = RUN / Q8Blocks.BLOCK - 1;
    private static final VectorSpecies<Byte> RUN_BYTES = VectorSpecies.of(byte.class, jdk.incubator.vector.VectorShape.forBitSize(RUN * 8));

    /**
     * Where value p of a row of k is stored within the row. Each whole run of 4 V values is
     * interleaved so that byte 4 l + g holds value V g + l: read as V ints, byte position g of
     * every int is values V g .. V g + V - 1, in order. A last half run (AVX-512, k an odd number of
     * blocks) and every row on other vector widths are stored in order.
     */
    static int slot(int p, int k) {
        if (!INTERLEAVED || p >= k - k % RUN) return p;
        int r = p % RUN;
        return p - r + (r % V) * 4 + r / V;
    }

    /** Quantizes a row-major (rows x k) float matrix, bytes on huge pages; k must be whole blocks. */
    static Q8Storage quantize(float[] w, int off, int rows, int k) {
        return quantize(w, off, rows, k, false);
    }

    /** heap: the bytes in a Java array instead (tests compare the two). */
    static Q8Storage quantize(float[] w, int off, int rows, int k, boolean heap) {
        MemorySegment q = heap ? MemorySegment.ofArray(new byte[rows * k]) : HugePages.allocate((long) rows * k, Arena.ofAuto());
        byte[] row = new byte[k], stored = new byte[k];
        short[] half = new short[rows * k / Q8Blocks.BLOCK];
        for (int r = 0; r < rows; r++) {
            Q8Blocks.quantize(w, off + r * k, k, row, 0, half, r * k / Q8Blocks.BLOCK);
            for (int p = 0; p < k; p++) stored[slot(p, k)] = row[p];
            MemorySegment.copy(stored, 0, q, ValueLayout.JAVA_BYTE, (long) r * k, k);
        }
        float[] scales = new float[half.length];
        for (int i = 0; i < half.length; i++) scales[i] = Float.float16ToFloat(half[i]);
        return new Q8Storage(q, scales);
    }

    static void matmulTransposed(Parallel par, float[] x, int xOff, Q8Storage w, int wOff, float[] bias, int bOff,
                                 float[] c, int cOff, int m, int n, int k) {
        if (m >= Gemm.PACK_ROWS) {
            PackedGemm.matmulTransposed(par, x, xOff, PackedGemm.int8(w, wOff, k), bias, bOff, c, cOff, m, n, k);
            return;
        }
        int blocks = (n + N_BLOCK - 1) / N_BLOCK;
        par.forEach(blocks, task -> {
            int j0 = task * N_BLOCK, j1 = Math.min(n, j0 + N_BLOCK);
            for (int i = 0; i < m; i++)
                for (int j = j0; j < j1; j++)
                    c[cOff + i * n + j] = dot(x, xOff + i * k, w, wOff + j * k, k) + (bias == null ? 0f : bias[bOff + j]);
        });
    }

    /** sum_p x[xo + p] * W[wo + p] over k values, k whole blocks of 32; wo is a row's start. */
    static float dot(float[] x, int xo, Q8Storage w, int wo, int k) {
        FloatVector acc = FloatVector.zero(F), odd = acc;
        int so = wo / Q8Blocks.BLOCK, p0 = 0;
        if (INTERLEAVED) {
            // byte positions 0, 1 are the first half of a run, 2, 3 the second: two blocks under
            // AVX-512, the same block under AVX2 (two accumulators either way)
            for (int whole = k - k % RUN; p0 < whole; p0 += RUN) {
                jdk.incubator.vector.IntVector q = ByteVector.fromMemorySegment(RUN_BYTES, w.q, wo + p0, ORDER).reinterpretAsInts();
                FloatVector first = bytePosition(q, 0).mul(FloatVector.fromArray(F, x, xo + p0));
                first = bytePosition(q, 1).fma(FloatVector.fromArray(F, x, xo + p0 + V), first);
                FloatVector second = bytePosition(q, 2).mul(FloatVector.fromArray(F, x, xo + p0 + 2 * V));
                second = bytePosition(q, 3).fma(FloatVector.fromArray(F, x, xo + p0 + 3 * V), second);
                int blk = so + p0 / Q8Blocks.BLOCK;
                acc = first.fma(FloatVector.broadcast(F, w.scales[blk]), acc);
                odd = second.fma(FloatVector.broadcast(F, w.scales[blk + SECOND_HALF_BLOCK]), odd);
            }
        }
        for (int blk = p0 / Q8Blocks.BLOCK; blk < k / Q8Blocks.BLOCK; blk++) {
            int b0 = blk * Q8Blocks.BLOCK;
            FloatVector part = FloatVector.zero(F);
            for (int p = b0; p < b0 + Q8Blocks.BLOCK; p += V) {
                FloatVector wv = (FloatVector) ByteVector.fromMemorySegment(B, w.q, wo + p, ORDER).convertShape(VectorOperators.B2F, F, 0);
                part = FloatVector.fromArray(F, x, xo + p).fma(wv, part);
            }
            acc = part.fma(FloatVector.broadcast(F, w.scales[so + blk]), acc);
        }
        return VectorMath.sum(acc.add(odd));
    }

    /**
     * {@link #dot} of one W row with four vectors (x from xo, xo + xs, ..) into out[o], out[o + os], ..
     * plus bias: the row's bytes are loaded and widened once for the four, and each vector keeps
     * dot's accumulators and order, so every result is the bits dot gives.
     */
    static void dot4(float[] x, int xo, int xs, Q8Storage w, int wo, int k, float[] out, int o, int os, float bias, float[] lanes) {
        int x1 = xo + xs, x2 = x1 + xs, x3 = x2 + xs;
        FloatVector acc0 = FloatVector.zero(F), odd0 = acc0, acc1 = acc0, odd1 = acc0, acc2 = acc0, odd2 = acc0, acc3 = acc0, odd3 = acc0;
        int so = wo / Q8Blocks.BLOCK, p0 = 0;
        if (INTERLEAVED) {
            for (int whole = k - k % RUN; p0 < whole; p0 += RUN) {
                jdk.incubator.vector.IntVector q = ByteVector.fromMemorySegment(RUN_BYTES, w.q, wo + p0, ORDER).reinterpretAsInts();
                FloatVector q0 = bytePosition(q, 0), q1 = bytePosition(q, 1), q2 = bytePosition(q, 2), q3 = bytePosition(q, 3);
                int blk = so + p0 / Q8Blocks.BLOCK;
                FloatVector s0 = FloatVector.broadcast(F, w.scales[blk]), s1 = FloatVector.broadcast(F, w.scales[blk + SECOND_HALF_BLOCK]);
                int a = p0, b = p0 + V, c = p0 + 2 * V, d = p0 + 3 * V;
                acc0 = q1.fma(FloatVector.fromArray(F, x, xo + b), q0.mul(FloatVector.fromArray(F, x, xo + a))).fma(s0, acc0);
                odd0 = q3.fma(FloatVector.fromArray(F, x, xo + d), q2.mul(FloatVector.fromArray(F, x, xo + c))).fma(s1, odd0);
                acc1 = q1.fma(FloatVector.fromArray(F, x, x1 + b), q0.mul(FloatVector.fromArray(F, x, x1 + a))).fma(s0, acc1);
                odd1 = q3.fma(FloatVector.fromArray(F, x, x1 + d), q2.mul(FloatVector.fromArray(F, x, x1 + c))).fma(s1, odd1);
                acc2 = q1.fma(FloatVector.fromArray(F, x, x2 + b), q0.mul(FloatVector.fromArray(F, x, x2 + a))).fma(s0, acc2);
                odd2 = q3.fma(FloatVector.fromArray(F, x, x2 + d), q2.mul(FloatVector.fromArray(F, x, x2 + c))).fma(s1, odd2);
                acc3 = q1.fma(FloatVector.fromArray(F, x, x3 + b), q0.mul(FloatVector.fromArray(F, x, x3 + a))).fma(s0, acc3);
                odd3 = q3.fma(FloatVector.fromArray(F, x, x3 + d), q2.mul(FloatVector.fromArray(F, x, x3 + c))).fma(s1, odd3);
            }
        }
        for (int blk = p0 / Q8Blocks.BLOCK; blk < k / Q8Blocks.BLOCK; blk++) {
            int b0 = blk * Q8Blocks.BLOCK;
            FloatVector part0 = FloatVector.zero(F), part1 = part0, part2 = part0, part3 = part0;
            for (int p = b0; p < b0 + Q8Blocks.BLOCK; p += V) {
                FloatVector wv = (FloatVector) ByteVector.fromMemorySegment(B, w.q, wo + p, ORDER).convertShape(VectorOperators.B2F, F, 0);
                part0 = FloatVector.fromArray(F, x, xo + p).fma(wv, part0);
                part1 = FloatVector.fromArray(F, x, x1 + p).fma(wv, part1);
                part2 = FloatVector.fromArray(F, x, x2 + p).fma(wv, part2);
                part3 = FloatVector.fromArray(F, x, x3 + p).fma(wv, part3);
            }
            FloatVector sc = FloatVector.broadcast(F, w.scales[so + blk]);
            acc0 = part0.fma(sc, acc0);
            acc1 = part1.fma(sc, acc1);
            acc2 = part2.fma(sc, acc2);
            acc3 = part3.fma(sc, acc3);
        }
        // VectorMath.sum's tree on stored lanes (lanes: 4 V floats of scratch): as a call, sum boxed its vector
        acc0.add(odd0).intoArray(lanes, 0);
        acc1.add(odd1).intoArray(lanes, V);
        acc2.add(odd2).intoArray(lanes, 2 * V);
        acc3.add(odd3).intoArray(lanes, 3 * V);
        out[o] = VectorMath.sumLanes(lanes, 0) + bias;
        out[o + os] = VectorMath.sumLanes(lanes, V) + bias;
        out[o + 2 * os] = VectorMath.sumLanes(lanes, 2 * V) + bias;
        out[o + 3 * os] = VectorMath.sumLanes(lanes, 3 * V) + bias;
    }

    /**
     * out[i] = W[wo + k0 + i] * its block's scale for i < kc, in value order: one row's slice of a
     * packed panel ({@link PackedGemm#int8}). Whole interleaved runs widen a register at a time as
     * {@link #dot} does; the rest by {@link #slot}. Each value is q * scale, one float product.
     * wo is a row's start, k its length; k0 a multiple of {@link #RUN} (PackedGemm's K blocks are).
     */
    static void dequantize(Q8Storage w, int wo, int k, int k0, int kc, float[] out) {
        int so = wo / Q8Blocks.BLOCK, p = k0, end = k0 + kc;
        if (INTERLEAVED)
            for (int whole = Math.min(end, k - k % RUN); p + RUN <= whole; p += RUN) {
                jdk.incubator.vector.IntVector q = ByteVector.fromMemorySegment(RUN_BYTES, w.q, wo + p, ORDER).reinterpretAsInts();
                for (int g = 0; g < 4; g++)
                    bytePosition(q, g).mul(w.scales[so + (p + g * V) / Q8Blocks.BLOCK]).intoArray(out, p - k0 + g * V);
            }
        for (; p < end; p++) out[p - k0] = w.at(wo + slot(p, k)) * w.scales[so + p / Q8Blocks.BLOCK];
    }

    /** Byte g (0 lowest) of every int lane, sign-extended, as floats: shift it to the top, shift back arithmetically. */
    private static FloatVector bytePosition(jdk.incubator.vector.IntVector q, int g) {
        jdk.incubator.vector.IntVector top = g == 3 ? q : q.lanewise(VectorOperators.LSHL, 24 - 8 * g);
        return (FloatVector) top.lanewise(VectorOperators.ASHR, 24).convert(VectorOperators.I2F, 0);
    }
}
