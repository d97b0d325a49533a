package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * C = X W^T (+ bias) for row-major X (M x K) and W (N x K), the layout of PyTorch's Linear. Both
 * operands are read along K, contiguously, so the kernel is a tile of dot products: 3 rows of X
 * against 4 rows of W keeps 12 vector accumulators and 4 loads per step in AVX2's 16 registers.
 * Rows of X are split among threads when there are many (prefill, training); otherwise rows of W
 * are (decoding).
 */
final class Gemm {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int V = S.length();
    private static final int MR = 3, NR = 4;
    private static final int M_BLOCK = 96;
    private static final int N_BLOCK = 64;

    private Gemm() {}

    static void matmulTransposed(Parallel par, float[] x, int xOff, float[] w, int wOff, float[] bias, int bOff,
                                 float[] c, int cOff, int m, int n, int k) {
        int mBlocks = (m + M_BLOCK - 1) / M_BLOCK;
        if (mBlocks >= par.threads() * 2 || n < N_BLOCK * 2) {
            par.forEach(mBlocks, blk -> {
                int m0 = blk * M_BLOCK, m1 = Math.min(m, m0 + M_BLOCK);
                block(x, xOff, w, wOff, bias, bOff, c, cOff, m0, m1, 0, n, n, k);
            });
        } else {
            int nBlocks = (n + N_BLOCK - 1) / N_BLOCK;
            par.forEach(mBlocks * nBlocks, task -> {
                int mb = task / nBlocks, nb = task % nBlocks;
                int m0 = mb * M_BLOCK, m1 = Math.min(m, m0 + M_BLOCK);
                int n0 = nb * N_BLOCK, n1 = Math.min(n, n0 + N_BLOCK);
                block(x, xOff, w, wOff, bias, bOff, c, cOff, m0, m1, n0, n1, n, k);
            });
        }
    }

    private static void block(float[] x, int xOff, float[] w, int wOff, float[] bias, int bOff,
                              float[] c, int cOff, int m0, int m1, int n0, int n1, int ldc, int k) {
        int kv = k - k % V;
        int i = m0;
        for (; i + MR <= m1; i += MR) {
            int j = n0;
            for (; j + NR <= n1; j += NR) tile3x4(x, xOff + i * k, w, wOff + j * k, bias, bOff + j, c, cOff + i * ldc + j, ldc, k, kv);
            for (; j < n1; j++)
                for (int r = 0; r < MR; r++) c[cOff + (i + r) * ldc + j] = dot(x, xOff + (i + r) * k, w, wOff + j * k, k, kv) + b(bias, bOff + j);
        }
        for (; i < m1; i++) {
            int j = n0;
            for (; j + NR <= n1; j += NR) tile1x4(x, xOff + i * k, w, wOff + j * k, bias, bOff + j, c, cOff + i * ldc + j, k, kv);
            for (; j < n1; j++) c[cOff + i * ldc + j] = dot(x, xOff + i * k, w, wOff + j * k, k, kv) + b(bias, bOff + j);
        }
    }

    private static float b(float[] bias, int i) {
        return bias == null ? 0f : bias[i];
    }

    private static float dot(float[] x, int xo, float[] w, int wo, int k, int kv) {
        FloatVector acc = FloatVector.zero(S);
        for (int p = 0; p < kv; p += V) acc = FloatVector.fromArray(S, x, xo + p).fma(FloatVector.fromArray(S, w, wo + p), acc);
        float s = acc.reduceLanes(VectorOperators.ADD);
        for (int p = kv; p < k; p++) s += x[xo + p] * w[wo + p];
        return s;
    }

    private static void tile3x4(float[] x, int xo, float[] w, int wo, float[] bias, int bo, float[] c, int co, int ldc, int k, int kv) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        int x1 = xo + k, x2 = xo + 2 * k;
        int w1 = wo + k, w2 = wo + 2 * k, w3 = wo + 3 * k;
        for (int p = 0; p < kv; p += V) {
            FloatVector a0 = FloatVector.fromArray(S, x, xo + p);
            FloatVector a1 = FloatVector.fromArray(S, x, x1 + p);
            FloatVector a2 = FloatVector.fromArray(S, x, x2 + p);
            FloatVector b0 = FloatVector.fromArray(S, w, wo + p);
            c00 = a0.fma(b0, c00); c10 = a1.fma(b0, c10); c20 = a2.fma(b0, c20);
            FloatVector b1 = FloatVector.fromArray(S, w, w1 + p);
            c01 = a0.fma(b1, c01); c11 = a1.fma(b1, c11); c21 = a2.fma(b1, c21);
            FloatVector b2 = FloatVector.fromArray(S, w, w2 + p);
            c02 = a0.fma(b2, c02); c12 = a1.fma(b2, c12); c22 = a2.fma(b2, c22);
            FloatVector b3 = FloatVector.fromArray(S, w, w3 + p);
            c03 = a0.fma(b3, c03); c13 = a1.fma(b3, c13); c23 = a2.fma(b3, c23);
        }
        float[] s = {
                c00.reduceLanes(VectorOperators.ADD), c01.reduceLanes(VectorOperators.ADD), c02.reduceLanes(VectorOperators.ADD), c03.reduceLanes(VectorOperators.ADD),
                c10.reduceLanes(VectorOperators.ADD), c11.reduceLanes(VectorOperators.ADD), c12.reduceLanes(VectorOperators.ADD), c13.reduceLanes(VectorOperators.ADD),
                c20.reduceLanes(VectorOperators.ADD), c21.reduceLanes(VectorOperators.ADD), c22.reduceLanes(VectorOperators.ADD), c23.reduceLanes(VectorOperators.ADD)};
        for (int p = kv; p < k; p++) {
            for (int r = 0; r < MR; r++) {
                float a = x[xo + r * k + p];
                for (int q = 0; q < NR; q++) s[r * NR + q] += a * w[wo + q * k + p];
            }
        }
        for (int r = 0; r < MR; r++)
            for (int q = 0; q < NR; q++) c[co + r * ldc + q] = s[r * NR + q] + b(bias, bo + q);
    }

    private static void tile1x4(float[] x, int xo, float[] w, int wo, float[] bias, int bo, float[] c, int co, int k, int kv) {
        FloatVector c0 = FloatVector.zero(S), c1 = c0, c2 = c0, c3 = c0;
        int w1 = wo + k, w2 = wo + 2 * k, w3 = wo + 3 * k;
        for (int p = 0; p < kv; p += V) {
            FloatVector a = FloatVector.fromArray(S, x, xo + p);
            c0 = a.fma(FloatVector.fromArray(S, w, wo + p), c0);
            c1 = a.fma(FloatVector.fromArray(S, w, w1 + p), c1);
            c2 = a.fma(FloatVector.fromArray(S, w, w2 + p), c2);
            c3 = a.fma(FloatVector.fromArray(S, w, w3 + p), c3);
        }
        float s0 = c0.reduceLanes(VectorOperators.ADD), s1 = c1.reduceLanes(VectorOperators.ADD);
        float s2 = c2.reduceLanes(VectorOperators.ADD), s3 = c3.reduceLanes(VectorOperators.ADD);
        for (int p = kv; p < k; p++) {
            float a = x[xo + p];
            s0 += a * w[wo + p]; s1 += a * w[w1 + p]; s2 += a * w[w2 + p]; s3 += a * w[w3 + p];
        }
        c[co] = s0 + b(bias, bo);
        c[co + 1] = s1 + b(bias, bo + 1);
        c[co + 2] = s2 + b(bias, bo + 2);
        c[co + 3] = s3 + b(bias, bo + 3);
    }
}
