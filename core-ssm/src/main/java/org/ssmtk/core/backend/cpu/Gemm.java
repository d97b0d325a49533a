package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * C = X W^T (+ bias) for row-major X (M x K) and W (N x K), the layout of PyTorch's Linear. Both
 * operands are read along K, contiguously, so the kernel is a tile of dot products: 3 rows of X
 * against 4 rows of W keeps 12 vector accumulators and 4 loads per step in AVX2's 16 registers.
 * Rows of X are split among threads when there are many; otherwise rows of W are. From
 * {@link #PACK_ROWS} rows (prefill, training) {@link PackedGemm} runs instead.
 */
final class Gemm {
    private static final VectorSpecies<Float> S = VectorMath.S;
    private static final int V = S.length();
    private static final int MR = 3, NR = 4;
    private static final int M_BLOCK = 96;
    private static final int N_BLOCK = 64;

    private Gemm() {}

    /** Below this many rows the dot-product kernel runs; above, {@link PackedGemm}'s. */
    static final int PACK_ROWS = 64;

    static void matmulTransposed(Parallel par, float[] x, int xOff, float[] w, int wOff, float[] bias, int bOff,
                                 float[] c, int cOff, int m, int n, int k) {
        if (m >= PACK_ROWS) { // many rows (prefill, training): W in packed panels, the same sums in the same order
            PackedGemm.matmulTransposed(par, x, xOff, PackedGemm.fp32(w, wOff, k), bias, bOff, c, cOff, m, n, k);
            return;
        }
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
        float s = VectorMath.sum(acc);
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
                VectorMath.sum(c00), VectorMath.sum(c01), VectorMath.sum(c02), VectorMath.sum(c03),
                VectorMath.sum(c10), VectorMath.sum(c11), VectorMath.sum(c12), VectorMath.sum(c13),
                VectorMath.sum(c20), VectorMath.sum(c21), VectorMath.sum(c22), VectorMath.sum(c23)};
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
        float s0 = VectorMath.sum(c0), s1 = VectorMath.sum(c1);
        float s2 = VectorMath.sum(c2), s3 = VectorMath.sum(c3);
        for (int p = kv; p < k; p++) {
            float a = x[xo + p];
            s0 += a * w[wo + p]; s1 += a * w[w1 + p]; s2 += a * w[w2 + p]; s3 += a * w[w3 + p];
        }
        c[co] = s0 + b(bias, bo);
        c[co + 1] = s1 + b(bias, bo + 1);
        c[co + 2] = s2 + b(bias, bo + 2);
        c[co + 3] = s3 + b(bias, bo + 3);
    }

    // ---- C (+)= A B with B row-major (K x N): the backward products dX = dY W and dW = dY^T X.
    // Lanes run along N: a broadcast of A[i, p] times a row segment of B, 4 rows x 2 vectors per tile.

    static void matmul(Parallel par, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff,
                       int m, int n, int k, boolean accumulate) {
        int mBlocks = (m + M_BLOCK - 1) / M_BLOCK;
        int nBlock = 128;
        int nBlocks = (n + nBlock - 1) / nBlock;
        par.forEach(mBlocks * nBlocks, task -> {
            int mb = task / nBlocks, nb = task % nBlocks;
            int m0 = mb * M_BLOCK, m1 = Math.min(m, m0 + M_BLOCK);
            int n0 = nb * nBlock, n1 = Math.min(n, n0 + nBlock);
            blockNN(a, aOff, b, bOff, c, cOff, m0, m1, n0, n1, n, k, accumulate);
        });
    }

    private static void blockNN(float[] a, int aOff, float[] b, int bOff, float[] c, int cOff,
                                int m0, int m1, int n0, int n1, int n, int k, boolean accumulate) {
        int i = m0;
        for (; i + 4 <= m1; i += 4) {
            int j = n0;
            for (; j + 2 * V <= n1; j += 2 * V) tileNN4x2(a, aOff + i * k, b, bOff + j, c, cOff + i * n + j, n, k, accumulate);
            for (; j + V <= n1; j += V)
                for (int r = 0; r < 4; r++) rowNN(a, aOff + (i + r) * k, b, bOff + j, c, cOff + (i + r) * n + j, n, k, accumulate);
            for (; j < n1; j++)
                for (int r = 0; r < 4; r++) c[cOff + (i + r) * n + j] = scalarNN(a, aOff + (i + r) * k, b, bOff + j, n, k) + (accumulate ? c[cOff + (i + r) * n + j] : 0f);
        }
        for (; i < m1; i++) {
            int j = n0;
            for (; j + V <= n1; j += V) rowNN(a, aOff + i * k, b, bOff + j, c, cOff + i * n + j, n, k, accumulate);
            for (; j < n1; j++) c[cOff + i * n + j] = scalarNN(a, aOff + i * k, b, bOff + j, n, k) + (accumulate ? c[cOff + i * n + j] : 0f);
        }
    }

    private static float scalarNN(float[] a, int ao, float[] b, int bo, int n, int k) {
        float s = 0;
        for (int p = 0; p < k; p++) s += a[ao + p] * b[bo + p * n];
        return s;
    }

    private static void rowNN(float[] a, int ao, float[] b, int bo, float[] c, int co, int n, int k, boolean accumulate) {
        FloatVector acc = accumulate ? FloatVector.fromArray(S, c, co) : FloatVector.zero(S);
        for (int p = 0; p < k; p++) acc = FloatVector.fromArray(S, b, bo + p * n).fma(FloatVector.broadcast(S, a[ao + p]), acc);
        acc.intoArray(c, co);
    }

    private static void tileNN4x2(float[] a, int ao, float[] b, int bo, float[] c, int co, int n, int k, boolean accumulate) {
        FloatVector c00, c01, c10, c11, c20, c21, c30, c31;
        if (accumulate) {
            c00 = FloatVector.fromArray(S, c, co); c01 = FloatVector.fromArray(S, c, co + V);
            c10 = FloatVector.fromArray(S, c, co + n); c11 = FloatVector.fromArray(S, c, co + n + V);
            c20 = FloatVector.fromArray(S, c, co + 2 * n); c21 = FloatVector.fromArray(S, c, co + 2 * n + V);
            c30 = FloatVector.fromArray(S, c, co + 3 * n); c31 = FloatVector.fromArray(S, c, co + 3 * n + V);
        } else {
            c00 = FloatVector.zero(S); c01 = c00; c10 = c00; c11 = c00; c20 = c00; c21 = c00; c30 = c00; c31 = c00;
        }
        int a1 = ao + k, a2 = ao + 2 * k, a3 = ao + 3 * k;
        for (int p = 0; p < k; p++) {
            FloatVector b0 = FloatVector.fromArray(S, b, bo + p * n);
            FloatVector b1 = FloatVector.fromArray(S, b, bo + p * n + V);
            FloatVector x0 = FloatVector.broadcast(S, a[ao + p]);
            c00 = b0.fma(x0, c00); c01 = b1.fma(x0, c01);
            FloatVector x1 = FloatVector.broadcast(S, a[a1 + p]);
            c10 = b0.fma(x1, c10); c11 = b1.fma(x1, c11);
            FloatVector x2 = FloatVector.broadcast(S, a[a2 + p]);
            c20 = b0.fma(x2, c20); c21 = b1.fma(x2, c21);
            FloatVector x3 = FloatVector.broadcast(S, a[a3 + p]);
            c30 = b0.fma(x3, c30); c31 = b1.fma(x3, c31);
        }
        c00.intoArray(c, co); c01.intoArray(c, co + V);
        c10.intoArray(c, co + n); c11.intoArray(c, co + n + V);
        c20.intoArray(c, co + 2 * n); c21.intoArray(c, co + 2 * n + V);
        c30.intoArray(c, co + 3 * n); c31.intoArray(c, co + 3 * n + V);
    }

    // ---- C (n x k) += A^T B for row-major A (m x n) and B (m x k): the weight gradient dW = dY^T X,
    // read in place. Lanes run along k; each task owns a tile of C and sums over the m rows in
    // order, so the result does not depend on the thread count.

    static void matmulTransposedA(Parallel par, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, int m, int n, int k) {
        int jBlock = 16, kBlock = 8 * V;
        int jBlocks = (n + jBlock - 1) / jBlock, kBlocks = (k + kBlock - 1) / kBlock;
        par.forEach(jBlocks * kBlocks, task -> {
            int j0 = (task / kBlocks) * jBlock, j1 = Math.min(n, j0 + jBlock);
            int k0 = (task % kBlocks) * kBlock, k1 = Math.min(k, k0 + kBlock);
            int j = j0;
            for (; j + 4 <= j1; j += 4) {
                int q = k0;
                for (; q + 2 * V <= k1; q += 2 * V) tileTN4x2(a, aOff + j, b, bOff + q, c, cOff + j * k + q, m, n, k);
                for (; q < k1; q++)
                    for (int r = 0; r < 4; r++) c[cOff + (j + r) * k + q] += scalarTN(a, aOff + j + r, b, bOff + q, m, n, k);
            }
            for (; j < j1; j++)
                for (int q = k0; q < k1; q++) c[cOff + j * k + q] += scalarTN(a, aOff + j, b, bOff + q, m, n, k);
        });
    }

    private static float scalarTN(float[] a, int ao, float[] b, int bo, int m, int n, int k) {
        float s = 0;
        for (int p = 0; p < m; p++) s += a[ao + p * n] * b[bo + p * k];
        return s;
    }

    private static void tileTN4x2(float[] a, int ao, float[] b, int bo, float[] c, int co, int m, int n, int k) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
        for (int p = 0; p < m; p++) {
            int ap = ao + p * n, bp = bo + p * k;
            FloatVector b0 = FloatVector.fromArray(S, b, bp), b1 = FloatVector.fromArray(S, b, bp + V);
            FloatVector x0 = FloatVector.broadcast(S, a[ap]);
            c00 = b0.fma(x0, c00); c01 = b1.fma(x0, c01);
            FloatVector x1 = FloatVector.broadcast(S, a[ap + 1]);
            c10 = b0.fma(x1, c10); c11 = b1.fma(x1, c11);
            FloatVector x2 = FloatVector.broadcast(S, a[ap + 2]);
            c20 = b0.fma(x2, c20); c21 = b1.fma(x2, c21);
            FloatVector x3 = FloatVector.broadcast(S, a[ap + 3]);
            c30 = b0.fma(x3, c30); c31 = b1.fma(x3, c31);
        }
        addInto(c00, c, co); addInto(c01, c, co + V);
        addInto(c10, c, co + k); addInto(c11, c, co + k + V);
        addInto(c20, c, co + 2 * k); addInto(c21, c, co + 2 * k + V);
        addInto(c30, c, co + 3 * k); addInto(c31, c, co + 3 * k + V);
    }

    private static void addInto(FloatVector v, float[] c, int at) {
        v.add(FloatVector.fromArray(S, c, at)).intoArray(c, at);
    }
}
