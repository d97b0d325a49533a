package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
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
 * bytes, which is what a decoding step (every weight read once per token) is bound by. X is
 * quantized too, per block of 32 on the fly ({@link Q8Blocks#quantizeActivations}, as llama.cpp's
 * Q8_0 does), so every int8 product, of few rows or many, is that of the dequantized weights and
 * the dequantized activations.
 * <p>
 * Few rows (decoding): each row's runs of 4 V values are stored interleaved ({@link #slot}) under
 * AVX-512 and AVX2, and X's bytes are laid out the same way ({@link Activations}): one full-width
 * load of W, read as 16-bit lanes, yields its two bytes per lane by in-lane shifts, multiplied by
 * X's as shorts and summed to ints in-lane, one convert and one scale per block. Widening W to
 * floats instead (a shift pair and a convert for every V bytes, and an FMA each) made the product
 * compute-bound: on a 2-core AVX2 EPYC ({@code Q8DotBench}, a test-source main, 2026-12-01) 5.3-5.6
 * GB/s from L3 against 7.4-13.0 with byte products, and from memory 4.8-6.1 against 8.2-9.0, where
 * an fp32 row reads 10.5-11.2. Under 128-bit floats (NEON, SSE) rows are stored in order and their
 * bytes widen to floats, dotted with the dequantized activations. The bytes are kept on huge pages
 * ({@link Q8Storage}).
 * <p>
 * Many rows (prefill): {@link PackedGemm}, which dequantizes W a cache-sized panel at a time
 * ({@link #dequantize}), each reused by every row of X, on X dequantized once: the fp32 kernel from
 * a quarter of the memory, plus the dequantizing, which the fp32 path does not pay.
 */
final class Q8Gemm {
    private static final VectorSpecies<Float> F = VectorMath.S;
    private static final int V = F.length();
    /**
     * Bytes loaded at once to widen into float registers: V of them, or under 128-bit floats (NEON,
     * SSE) the narrowest byte vector, 8, which widens into two.
     */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, jdk.incubator.vector.VectorShape.forBitSize(Math.max(64, V * 8)));
    private static final int PARTS = B.length() / V;
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
    private static final VectorSpecies<Integer> I = VectorSpecies.of(int.class, F.vectorShape());
    /** A run's bytes as 16-bit lanes, and the activations' shorts that multiply them. */
    private static final VectorSpecies<Short> S = VectorSpecies.of(short.class, jdk.incubator.vector.VectorShape.forBitSize(RUN * 8));

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

    /** Values of a row of k that are stored interleaved (its whole runs); 0 on widths that store rows in order. */
    static int interleaved(int k) {
        return INTERLEAVED ? k - k % RUN : 0;
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

    /**
     * The activations of int8 products, quantized as {@link Q8Blocks#quantizeActivations} defines,
     * for {@code vectors} vectors of up to {@code k} values (whole blocks): their scales; where rows
     * are interleaved, their bytes in the weights' stored order as shorts, byte 2 i of each run in
     * {@code low[i]} and byte 2 i + 1 in {@code high[i]}, the operands of {@link #dot}'s 16-bit
     * products; and q * scale as floats where a row may not be interleaved (a row's last half run
     * under AVX-512, every value on other widths). Filled once per product, read by every row.
     */
    static final class Activations {
        final int k;
        final float[] scales, dequantized;
        final short[] low, high;

        Activations(int vectors, int k) {
            if (!Q8Blocks.fits(k)) throw new IllegalArgumentException(k + " activations are not whole int8 blocks");
            this.k = k;
            scales = new float[vectors * k / Q8Blocks.BLOCK];
            dequantized = new float[vectors * k];
            low = new short[INTERLEAVED ? vectors * k / 2 : 0];
            high = new short[low.length];
        }

        /**
         * Vector v from x[xo .. xo + k). Whole runs a register at a time: a block's amax by lanes,
         * q = trunc(|x (1 / scale)| + 0.5) with x's sign (the definition's rounding, the same bytes),
         * and the shorts in stored order built from the run's four V-lane groups G0..G3: byte 4 l + g
         * holds value V g + l, so the low shorts of int lane l are G0's q_l and G2's q_l, the high
         * ones G1's and G3's.
         */
        void quantize(int v, float[] x, int xo) {
            int so = v * k / Q8Blocks.BLOCK, o = v * k, whole = interleaved(k);
            for (int p = 0; p < whole; p += RUN) {
                int b = so + p / Q8Blocks.BLOCK;
                scales[b] = blockScale(x, xo + p);
                if (SECOND_HALF_BLOCK != 0) scales[b + 1] = blockScale(x, xo + p + Q8Blocks.BLOCK);
                float first = inverse(scales[b]), second = inverse(scales[b + SECOND_HALF_BLOCK]);
                IntVector g0 = rounded(x, xo + p, first), g1 = rounded(x, xo + p + V, first);
                IntVector g2 = rounded(x, xo + p + 2 * V, second), g3 = rounded(x, xo + p + 3 * V, second);
                if (SECOND_HALF_BLOCK != 0) { // AVX-512: a row of an odd number of blocks reads its last one from a run's first half
                    FloatVector d = FloatVector.broadcast(F, scales[b]);
                    ((FloatVector) g0.convert(VectorOperators.I2F, 0)).mul(d).intoArray(dequantized, o + p);
                    ((FloatVector) g1.convert(VectorOperators.I2F, 0)).mul(d).intoArray(dequantized, o + p + V);
                }
                int h = (o + p) / 2;
                g0.and(0xFFFF).or(g2.lanewise(VectorOperators.LSHL, 16)).reinterpretAsShorts().intoArray(low, h);
                g1.and(0xFFFF).or(g3.lanewise(VectorOperators.LSHL, 16)).reinterpretAsShorts().intoArray(high, h);
            }
            if (whole == k) return;
            dequantizeActivations(x, xo + whole, k - whole, dequantized, o + whole, scales, so + whole / Q8Blocks.BLOCK);
        }
    }

    /**
     * Activations x[xo, xo + n) (whole blocks) as the rule stands for them, q * scale, into out from
     * oo; their blocks' scales into scales from so unless scales is null.
     */
    private static void dequantizeActivations(float[] x, int xo, int n, float[] out, int oo, float[] scales, int so) {
        for (int b = 0; b < n; b += Q8Blocks.BLOCK) {
            float scale = blockScale(x, xo + b), inv = inverse(scale);
            if (scales != null) scales[so + b / Q8Blocks.BLOCK] = scale;
            for (int j = b; j < b + Q8Blocks.BLOCK; j += V)
                ((FloatVector) rounded(x, xo + j, inv).convert(VectorOperators.I2F, 0)).mul(scale).intoArray(out, oo + j);
        }
    }

    /** The scale of the block of activations x from off, amax / 127 ({@link Q8Blocks#quantizeActivations}' rule a register at a time). */
    private static float blockScale(float[] x, int off) {
        FloatVector amax = FloatVector.zero(F);
        for (int j = 0; j < Q8Blocks.BLOCK; j += V) amax = amax.max(FloatVector.fromArray(F, x, off + j).abs());
        return amax.reduceLanes(VectorOperators.MAX) / 127f;
    }

    /** What the rule multiplies a block by: 1 / scale, 0 for a block of zeros. */
    private static float inverse(float scale) {
        return scale != 0 ? 1f / scale : 0f;
    }

    /** V activations of x from off times inv, rounded half away from zero (trunc(|v| + 0.5) with v's sign: the rule's bytes), as ints. */
    private static IntVector rounded(float[] x, int off, float inv) {
        FloatVector scaled = FloatVector.fromArray(F, x, off).mul(inv);
        IntVector magnitude = (IntVector) scaled.abs().add(0.5f).convert(VectorOperators.F2I, 0);
        return magnitude.lanewise(VectorOperators.NEG, scaled.compare(VectorOperators.LT, 0f).cast(I));
    }

    static void matmulTransposed(Parallel par, float[] x, int xOff, Q8Storage w, int wOff, float[] bias, int bOff,
                                 float[] c, int cOff, int m, int n, int k) {
        if (m >= Gemm.PACK_ROWS) {
            // the fp32 kernel on both operands dequantized: the same numbers as the byte products of few rows
            float[] xq = new float[m * k];
            par.forEach(m, i -> dequantizeActivations(x, xOff + i * k, k, xq, i * k, null, 0));
            PackedGemm.matmulTransposed(par, xq, 0, PackedGemm.int8(w, wOff, k), bias, bOff, c, cOff, m, n, k);
            return;
        }
        Activations a = new Activations(m, k);
        for (int i = 0; i < m; i++) a.quantize(i, x, xOff + i * k);
        int blocks = (n + N_BLOCK - 1) / N_BLOCK;
        par.forEach(blocks, task -> {
            int j0 = task * N_BLOCK, j1 = Math.min(n, j0 + N_BLOCK);
            for (int i = 0; i < m; i++)
                for (int j = j0; j < j1; j++)
                    c[cOff + i * n + j] = dot(a, i, w, wOff + j * k, k) + (bias == null ? 0f : bias[bOff + j]);
        });
    }

    /**
     * sum_p a_p W[wo + p] over k values (whole blocks of 32; at most a.k) of activation vector v; wo
     * is a row's start. Whole interleaved runs multiply bytes: each pair of bytes in a 16-bit lane
     * is sign-extended by two in-lane shifts and multiplied by its activation as shorts, the two
     * products of a lane added (|q| <= 127 on both sides, so |sum| <= 32,258 fits), the two shorts of
     * an int lane added the same way, and a block's integer sum scaled once by the weights' scale
     * times the activations'. Under AVX-512 a run is two blocks: an int lane's low short holds byte
     * positions 0, 1 (the first block), its high short 2, 3 (the second), so they are scaled apart.
     */
    static float dot(Activations a, int v, Q8Storage w, int wo, int k) {
        FloatVector acc = FloatVector.zero(F), odd = acc;
        int so = wo / Q8Blocks.BLOCK, xo = v * a.k, p0 = 0;
        if (INTERLEAVED) {
            int runs = k / RUN, h = xo / 2, xb = xo / Q8Blocks.BLOCK;
            for (int r = 0; r < runs; r++) {
                ShortVector q = ByteVector.fromMemorySegment(RUN_BYTES, w.q, wo + r * RUN, ORDER).reinterpretAsShorts();
                IntVector pairs = products(q.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8),
                        q.lanewise(VectorOperators.ASHR, 8), a, h + r * (RUN / 2));
                int b = r * (RUN / Q8Blocks.BLOCK), c = b + SECOND_HALF_BLOCK;
                acc = firstBlock(pairs, w.scales[so + b] * a.scales[xb + b], acc);
                odd = secondBlock(pairs, w.scales[so + c] * a.scales[xb + c], odd);
            }
            p0 = runs * RUN;
        }
        for (int blk = p0 / Q8Blocks.BLOCK; blk < k / Q8Blocks.BLOCK; blk++)
            acc = widenedBlock(a.dequantized, xo + blk * Q8Blocks.BLOCK, w, wo + blk * Q8Blocks.BLOCK).fma(FloatVector.broadcast(F, w.scales[so + blk]), acc);
        return VectorMath.sum(acc.add(odd));
    }

    /**
     * {@link #dot} of one W row with activation vectors v .. v + 3 into out[o], out[o + os], .. plus
     * bias: the row's bytes are loaded and sign-extended once for the four, and each vector keeps
     * dot's accumulators and order, so every result is the bits dot gives.
     */
    static void dot4(Activations a, int v, Q8Storage w, int wo, int k, float[] out, int o, int os, float bias, float[] lanes) {
        int x0 = v * a.k, x1 = x0 + a.k, x2 = x1 + a.k, x3 = x2 + a.k;
        FloatVector acc0 = FloatVector.zero(F), odd0 = acc0, acc1 = acc0, odd1 = acc0, acc2 = acc0, odd2 = acc0, acc3 = acc0, odd3 = acc0;
        int so = wo / Q8Blocks.BLOCK, p0 = 0;
        if (INTERLEAVED) {
            int runs = k / RUN, h0 = x0 / 2, h1 = x1 / 2, h2 = x2 / 2, h3 = x3 / 2;
            int xb0 = x0 / Q8Blocks.BLOCK, xb1 = x1 / Q8Blocks.BLOCK, xb2 = x2 / Q8Blocks.BLOCK, xb3 = x3 / Q8Blocks.BLOCK;
            float[] xs = a.scales;
            for (int r = 0; r < runs; r++) {
                ShortVector q = ByteVector.fromMemorySegment(RUN_BYTES, w.q, wo + r * RUN, ORDER).reinterpretAsShorts();
                ShortVector low = q.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 8), high = q.lanewise(VectorOperators.ASHR, 8);
                int b = r * (RUN / Q8Blocks.BLOCK), c = b + SECOND_HALF_BLOCK, h = r * (RUN / 2);
                float s0 = w.scales[so + b], s1 = w.scales[so + c];
                IntVector pairs = products(low, high, a, h0 + h);
                acc0 = firstBlock(pairs, s0 * xs[xb0 + b], acc0);
                odd0 = secondBlock(pairs, s1 * xs[xb0 + c], odd0);
                pairs = products(low, high, a, h1 + h);
                acc1 = firstBlock(pairs, s0 * xs[xb1 + b], acc1);
                odd1 = secondBlock(pairs, s1 * xs[xb1 + c], odd1);
                pairs = products(low, high, a, h2 + h);
                acc2 = firstBlock(pairs, s0 * xs[xb2 + b], acc2);
                odd2 = secondBlock(pairs, s1 * xs[xb2 + c], odd2);
                pairs = products(low, high, a, h3 + h);
                acc3 = firstBlock(pairs, s0 * xs[xb3 + b], acc3);
                odd3 = secondBlock(pairs, s1 * xs[xb3 + c], odd3);
            }
            p0 = runs * RUN;
        }
        for (int blk = p0 / Q8Blocks.BLOCK; blk < k / Q8Blocks.BLOCK; blk++) {
            int b0 = blk * Q8Blocks.BLOCK;
            FloatVector sc = FloatVector.broadcast(F, w.scales[so + blk]);
            acc0 = widenedBlock(a.dequantized, x0 + b0, w, wo + b0).fma(sc, acc0);
            acc1 = widenedBlock(a.dequantized, x1 + b0, w, wo + b0).fma(sc, acc1);
            acc2 = widenedBlock(a.dequantized, x2 + b0, w, wo + b0).fma(sc, acc2);
            acc3 = widenedBlock(a.dequantized, x3 + b0, w, wo + b0).fma(sc, acc3);
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

    /** Per int lane, its two shorts' products low * a.low + high * a.high from h, added: four byte products (see {@link #dot}). */
    private static IntVector products(ShortVector low, ShortVector high, Activations a, int h) {
        return low.mul(ShortVector.fromArray(S, a.low, h)).add(high.mul(ShortVector.fromArray(S, a.high, h))).reinterpretAsInts();
    }

    /** acc plus a run's first block (AVX2: the whole run, both shorts of a lane) times its scale. */
    private static FloatVector firstBlock(IntVector pairs, float scale, FloatVector acc) {
        IntVector low = pairs.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 16);
        IntVector sums = SECOND_HALF_BLOCK == 0 ? low.add(pairs.lanewise(VectorOperators.ASHR, 16)) : low;
        return ((FloatVector) sums.convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, scale), acc);
    }

    /** odd plus a run's second block (the high shorts) times its scale under AVX-512; under AVX2 odd as it is. */
    private static FloatVector secondBlock(IntVector pairs, float scale, FloatVector odd) {
        if (SECOND_HALF_BLOCK == 0) return odd;
        return ((FloatVector) pairs.lanewise(VectorOperators.ASHR, 16).convert(VectorOperators.I2F, 0)).fma(FloatVector.broadcast(F, scale), odd);
    }

    /** sum over one block of dequantized activations from xo times the row's bytes from wo widened to floats, unscaled, as V lanes. */
    private static FloatVector widenedBlock(float[] x, int xo, Q8Storage w, int wo) {
        FloatVector part = FloatVector.zero(F);
        for (int p = 0; p < Q8Blocks.BLOCK; p += B.length()) {
            ByteVector q = ByteVector.fromMemorySegment(B, w.q, wo + p, ORDER);
            for (int j = 0; j < PARTS; j++)
                part = FloatVector.fromArray(F, x, xo + p + j * V).fma((FloatVector) q.convertShape(VectorOperators.B2F, F, j), part);
        }
        return part;
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
