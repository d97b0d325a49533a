package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.ssmtk.core.tensor.Q8Blocks;
import org.ssmtk.core.tensor.Storage;

/**
 * C = X W^T (+ bias) with W stored as block-scaled int8 ({@link Q8Blocks}): a quarter of fp32's
 * bytes, which is what a decoding step (every weight read once per token) is bound by. Few rows
 * (decoding): each W row is read as bytes, widened to floats a register at a time, and dotted with
 * X; a block's partial sum is scaled once. Many rows (prefill): {@link PackedGemm}, which dequantizes
 * W a cache-sized panel at a time, each reused by every row of X, so prefill runs at the fp32
 * kernel's speed from a quarter of the memory. Activations stay fp32.
 */
final class Q8Gemm {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final int V = F.length();
    /** Bytes that widen into one float register. */
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, jdk.incubator.vector.VectorShape.forBitSize(V * 8));
    private static final int N_BLOCK = 16;

    private Q8Gemm() {}

    /** Int8 weights with one float scale per 32 values of a row (scales widened from half precision once). */
    static final class Q8Storage implements Storage {
        final byte[] q;
        final float[] scales;

        Q8Storage(byte[] q, float[] scales) {
            this.q = q;
            this.scales = scales;
        }

        @Override
        public long capacity() {
            return q.length;
        }
    }

    /** Quantizes a row-major (rows x k) float matrix; k must be whole blocks. */
    static Q8Storage quantize(float[] w, int off, int rows, int k) {
        byte[] q = new byte[rows * k];
        short[] half = new short[rows * k / Q8Blocks.BLOCK];
        for (int r = 0; r < rows; r++) Q8Blocks.quantize(w, off + r * k, k, q, r * k, half, r * k / Q8Blocks.BLOCK);
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

    /** sum_p x[xo + p] * W[wo + p] over k values, k whole blocks of 32. */
    static float dot(float[] x, int xo, Q8Storage w, int wo, int k) {
        FloatVector acc = FloatVector.zero(F);
        int so = wo / Q8Blocks.BLOCK;
        for (int blk = 0; blk < k / Q8Blocks.BLOCK; blk++) {
            int p0 = blk * Q8Blocks.BLOCK;
            FloatVector part = FloatVector.zero(F);
            for (int p = p0; p < p0 + Q8Blocks.BLOCK; p += V) {
                FloatVector wv = (FloatVector) ByteVector.fromArray(B, w.q, wo + p).convertShape(VectorOperators.B2F, F, 0);
                part = FloatVector.fromArray(F, x, xo + p).fma(wv, part);
            }
            acc = part.fma(FloatVector.broadcast(F, w.scales[so + blk]), acc);
        }
        return VectorMath.sum(acc);
    }
}
