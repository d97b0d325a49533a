package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * C = X W^T (+ bias) for many rows of X (prefill, training's forward), W as fp32 rows or as int8
 * blocks: the GotoBLAS layout. X is copied once into groups of {@link #MR} rows interleaved along K
 * ({@code [k block][row group][p][MR]}), and each task takes a panel of {@link #NR} columns of W,
 * which it copies (int8: dequantizes) {@link #KC} values of K at a time into a small transposed
 * buffer ({@code [p][NR]}) that stays in cache while every row group of X passes over it. The
 * kernel holds an MR x NR tile of C in registers and per step of K loads three vectors of W and
 * broadcasts MR values of X. Under AVX-512 the tile is 8 x 3 vectors: 24 of its 32 registers, 24
 * FMAs for 11 loads. Under AVX2's 16 it is 3 x 3: C2 loads a step's broadcasts all at its start, so
 * a tile that leaves fewer registers for them (8 x 3, 6 x 2, 4 x 3 vectors) keeps accumulators on
 * the stack, and each of those waits on a store and a load every step. On one Zen 3 core (512 x
 * 3072 x 768, {@code PackedGemmBench}) 3 x 3 ran at 68-74 GFLOP/s, near the core's FMA peak,
 * against 35-37 for 8 x 3.
 *
 * <p>Each output is its bias (or 0) plus x_p w_p fused-multiply-added over p = 0, 1, .. in order,
 * as Gemm's broadcast kernel sums its whole vectors (which ran here before), so results are the
 * same bits for every thread count; int8 values dequantize as q * scale in float, as
 * {@link Q8Gemm}'s dot product does.
 */
final class PackedGemm {
    private static final VectorSpecies<Float> S = VectorMath.S;
    private static final int V = S.length();
    /** Rows of X per kernel call: 8 where there are 32 vector registers (AVX-512), 3 where there are 16. */
    static final int MR = V >= 16 ? 8 : 3;
    /** Columns of W per panel: three vectors. */
    static final int NR = 3 * V;
    /** Values of K per packed block: a multiple of int8's 32-value blocks and of its 64-value interleaved runs. */
    static final int KC = 256;

    private PackedGemm() {}

    /** The rows of W, as fp32 or int8 blocks, copied into a panel. */
    interface Weights {
        /** dst[p * NR + jj] = W[j0 + jj, k0 + p] for jj < cols, p < kc; columns cols .. NR are left as they are. */
        void pack(int j0, int cols, int k0, int kc, float[] dst);
    }

    static Weights fp32(float[] w, int wOff, int k) {
        return (j0, cols, k0, kc, dst) -> {
            for (int jj = 0; jj < cols; jj++) {
                int src = wOff + (j0 + jj) * k + k0;
                for (int p = 0; p < kc; p++) dst[p * NR + jj] = w[src + p];
            }
        };
    }

    static Weights int8(Q8Gemm.Q8Storage w, int wOff, int k) {
        return (j0, cols, k0, kc, dst) -> {
            // each row's slice dequantized in value order a register at a time, then transposed into the panel
            float[] row = new float[kc];
            for (int jj = 0; jj < cols; jj++) {
                Q8Gemm.dequantize(w, wOff + (j0 + jj) * k, k, k0, kc, row);
                for (int p = 0; p < kc; p++) dst[p * NR + jj] = row[p];
            }
        };
    }

    static void matmulTransposed(Parallel par, float[] x, int xOff, Weights w, float[] bias, int bOff,
                                 float[] c, int cOff, int m, int n, int k) {
        matmulTransposed(par, x, xOff, w, bias, bOff, c, cOff, m, n, k, MR);
    }

    /** With a tile of mr (8 or 3) rows: tests run both kernels on any machine. */
    static void matmulTransposed(Parallel par, float[] x, int xOff, Weights w, float[] bias, int bOff,
                                 float[] c, int cOff, int m, int n, int k, int mr) {
        if (mr != 8 && mr != 3) throw new IllegalArgumentException("packed gemm: a tile of " + mr + " rows");
        int groups = (m + mr - 1) / mr, m8 = groups * mr;
        float[] xp = new float[m8 * k];
        // X packed: row group g of k block [k0, k0 + kc) starts at k0 * m8 + g * mr * kc
        par.forEach(groups, g -> {
            int rows = Math.min(mr, m - g * mr);
            for (int k0 = 0; k0 < k; k0 += KC) {
                int kc = Math.min(KC, k - k0), base = k0 * m8 + g * mr * kc;
                for (int r = 0; r < rows; r++) {
                    int src = xOff + (g * mr + r) * k + k0;
                    for (int p = 0; p < kc; p++) xp[base + p * mr + r] = x[src + p];
                }
            }
        });
        int panels = (n + NR - 1) / NR;
        // enough tasks that every thread has several, each task a range of row groups of one panel
        int split = Math.max(1, Math.min(groups, (par.threads() * 4 + panels - 1) / panels));
        int groupsPerTask = (groups + split - 1) / split;
        int tasks = (groups + groupsPerTask - 1) / groupsPerTask;
        par.forEach(panels * tasks, task -> {
            int panel = task / tasks, g0 = (task % tasks) * groupsPerTask, g1 = Math.min(groups, g0 + groupsPerTask);
            int j0 = panel * NR, cols = Math.min(NR, n - j0);
            float[] wp = new float[KC * NR], tile = new float[mr * NR];
            for (int k0 = 0; k0 < k; k0 += KC) {
                int kc = Math.min(KC, k - k0);
                w.pack(j0, cols, k0, kc, wp);
                for (int g = g0; g < g1; g++) {
                    int rows = Math.min(mr, m - g * mr);
                    int xo = k0 * m8 + g * mr * kc;
                    int co = cOff + g * mr * n + j0;
                    if (k0 == 0) start(tile, bias, bOff + j0, cols, rows);
                    else load(c, co, n, tile, cols, rows);
                    if (mr == 8) kernel8x3(xp, xo, wp, kc, tile);
                    else kernel3x3(xp, xo, wp, kc, tile);
                    store(tile, c, co, n, cols, rows); // rows, cols: fewer than mr, NR at the edges
                }
            }
        });
    }

    private static void start(float[] tile, float[] bias, int bo, int cols, int rows) {
        for (int r = 0; r < rows; r++)
            for (int jj = 0; jj < cols; jj++) tile[r * NR + jj] = bias == null ? 0f : bias[bo + jj];
    }

    private static void load(float[] c, int co, int ldc, float[] tile, int cols, int rows) {
        for (int r = 0; r < rows; r++) System.arraycopy(c, co + r * ldc, tile, r * NR, cols);
    }

    private static void store(float[] tile, float[] c, int co, int ldc, int cols, int rows) {
        for (int r = 0; r < rows; r++) System.arraycopy(tile, r * NR, c, co + r * ldc, cols);
    }

    /** tile (8 x NR) += X group (kc x 8, interleaved) times the panel (kc x NR). */
    private static void kernel8x3(float[] xp, int xo, float[] wp, int kc, float[] tile) {
        FloatVector c00 = FloatVector.fromArray(S, tile, 0), c01 = FloatVector.fromArray(S, tile, V), c02 = FloatVector.fromArray(S, tile, 2 * V);
        FloatVector c10 = FloatVector.fromArray(S, tile, NR), c11 = FloatVector.fromArray(S, tile, NR + V), c12 = FloatVector.fromArray(S, tile, NR + 2 * V);
        FloatVector c20 = FloatVector.fromArray(S, tile, 2 * NR), c21 = FloatVector.fromArray(S, tile, 2 * NR + V), c22 = FloatVector.fromArray(S, tile, 2 * NR + 2 * V);
        FloatVector c30 = FloatVector.fromArray(S, tile, 3 * NR), c31 = FloatVector.fromArray(S, tile, 3 * NR + V), c32 = FloatVector.fromArray(S, tile, 3 * NR + 2 * V);
        FloatVector c40 = FloatVector.fromArray(S, tile, 4 * NR), c41 = FloatVector.fromArray(S, tile, 4 * NR + V), c42 = FloatVector.fromArray(S, tile, 4 * NR + 2 * V);
        FloatVector c50 = FloatVector.fromArray(S, tile, 5 * NR), c51 = FloatVector.fromArray(S, tile, 5 * NR + V), c52 = FloatVector.fromArray(S, tile, 5 * NR + 2 * V);
        FloatVector c60 = FloatVector.fromArray(S, tile, 6 * NR), c61 = FloatVector.fromArray(S, tile, 6 * NR + V), c62 = FloatVector.fromArray(S, tile, 6 * NR + 2 * V);
        FloatVector c70 = FloatVector.fromArray(S, tile, 7 * NR), c71 = FloatVector.fromArray(S, tile, 7 * NR + V), c72 = FloatVector.fromArray(S, tile, 7 * NR + 2 * V);
        for (int p = 0; p < kc; p++) {
            int wo = p * NR, a = xo + p * 8;
            FloatVector b0 = FloatVector.fromArray(S, wp, wo), b1 = FloatVector.fromArray(S, wp, wo + V), b2 = FloatVector.fromArray(S, wp, wo + 2 * V);
            FloatVector x = FloatVector.broadcast(S, xp[a]);
            c00 = b0.fma(x, c00); c01 = b1.fma(x, c01); c02 = b2.fma(x, c02);
            x = FloatVector.broadcast(S, xp[a + 1]);
            c10 = b0.fma(x, c10); c11 = b1.fma(x, c11); c12 = b2.fma(x, c12);
            x = FloatVector.broadcast(S, xp[a + 2]);
            c20 = b0.fma(x, c20); c21 = b1.fma(x, c21); c22 = b2.fma(x, c22);
            x = FloatVector.broadcast(S, xp[a + 3]);
            c30 = b0.fma(x, c30); c31 = b1.fma(x, c31); c32 = b2.fma(x, c32);
            x = FloatVector.broadcast(S, xp[a + 4]);
            c40 = b0.fma(x, c40); c41 = b1.fma(x, c41); c42 = b2.fma(x, c42);
            x = FloatVector.broadcast(S, xp[a + 5]);
            c50 = b0.fma(x, c50); c51 = b1.fma(x, c51); c52 = b2.fma(x, c52);
            x = FloatVector.broadcast(S, xp[a + 6]);
            c60 = b0.fma(x, c60); c61 = b1.fma(x, c61); c62 = b2.fma(x, c62);
            x = FloatVector.broadcast(S, xp[a + 7]);
            c70 = b0.fma(x, c70); c71 = b1.fma(x, c71); c72 = b2.fma(x, c72);
        }
        c00.intoArray(tile, 0); c01.intoArray(tile, V); c02.intoArray(tile, 2 * V);
        c10.intoArray(tile, NR); c11.intoArray(tile, NR + V); c12.intoArray(tile, NR + 2 * V);
        c20.intoArray(tile, 2 * NR); c21.intoArray(tile, 2 * NR + V); c22.intoArray(tile, 2 * NR + 2 * V);
        c30.intoArray(tile, 3 * NR); c31.intoArray(tile, 3 * NR + V); c32.intoArray(tile, 3 * NR + 2 * V);
        c40.intoArray(tile, 4 * NR); c41.intoArray(tile, 4 * NR + V); c42.intoArray(tile, 4 * NR + 2 * V);
        c50.intoArray(tile, 5 * NR); c51.intoArray(tile, 5 * NR + V); c52.intoArray(tile, 5 * NR + 2 * V);
        c60.intoArray(tile, 6 * NR); c61.intoArray(tile, 6 * NR + V); c62.intoArray(tile, 6 * NR + 2 * V);
        c70.intoArray(tile, 7 * NR); c71.intoArray(tile, 7 * NR + V); c72.intoArray(tile, 7 * NR + 2 * V);
    }

    /** As {@link #kernel8x3}, for a group of 3 rows. */
    private static void kernel3x3(float[] xp, int xo, float[] wp, int kc, float[] tile) {
        FloatVector c00 = FloatVector.fromArray(S, tile, 0), c01 = FloatVector.fromArray(S, tile, V), c02 = FloatVector.fromArray(S, tile, 2 * V);
        FloatVector c10 = FloatVector.fromArray(S, tile, NR), c11 = FloatVector.fromArray(S, tile, NR + V), c12 = FloatVector.fromArray(S, tile, NR + 2 * V);
        FloatVector c20 = FloatVector.fromArray(S, tile, 2 * NR), c21 = FloatVector.fromArray(S, tile, 2 * NR + V), c22 = FloatVector.fromArray(S, tile, 2 * NR + 2 * V);
        for (int p = 0; p < kc; p++) {
            int wo = p * NR, a = xo + p * 3;
            FloatVector b0 = FloatVector.fromArray(S, wp, wo), b1 = FloatVector.fromArray(S, wp, wo + V), b2 = FloatVector.fromArray(S, wp, wo + 2 * V);
            FloatVector x = FloatVector.broadcast(S, xp[a]);
            c00 = b0.fma(x, c00); c01 = b1.fma(x, c01); c02 = b2.fma(x, c02);
            x = FloatVector.broadcast(S, xp[a + 1]);
            c10 = b0.fma(x, c10); c11 = b1.fma(x, c11); c12 = b2.fma(x, c12);
            x = FloatVector.broadcast(S, xp[a + 2]);
            c20 = b0.fma(x, c20); c21 = b1.fma(x, c21); c22 = b2.fma(x, c22);
        }
        c00.intoArray(tile, 0); c01.intoArray(tile, V); c02.intoArray(tile, 2 * V);
        c10.intoArray(tile, NR); c11.intoArray(tile, NR + V); c12.intoArray(tile, NR + 2 * V);
        c20.intoArray(tile, 2 * NR); c21.intoArray(tile, 2 * NR + V); c22.intoArray(tile, 2 * NR + 2 * V);
    }

}
