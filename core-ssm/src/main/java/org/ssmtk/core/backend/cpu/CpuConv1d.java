package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * The depthwise causal conv with SiLU of a whole sequence (Backend#causalConv1dSilu), SIMD lanes
 * over channels: every tap of a time step is one contiguous load of a row. Scalar, with a double
 * exp per value, it took 23 ms per layer of the 130M shape at 1,024 tokens, a tenth of the layer.
 * The arithmetic is the fused decoding step's ({@link CpuDecoder.ConvWindow}): multiply then add,
 * oldest tap first, then x sigmoid(x) with VectorMath's exp, so a prefix and a step agree.
 */
final class CpuConv1d {
    private static final VectorSpecies<Float> S = VectorMath.S;
    private static final int V = S.length();
    /** Channels per task: a few vectors, so that even one sequence splits among threads. */
    private static final int BLOCK = 8 * V;

    private CpuConv1d() {}

    /** Array views of one call; state (batch, width - 1, ch) may be null (zeros before the sequence). */
    record Operands(float[] out, int oo, float[] x, int xo, float[] w, int wo, float[] bias, int bo,
                    float[] state, int so, int batch, int len, int ch, int width) {}

    static int tasks(Operands o) {
        return o.batch() * ((o.ch() + BLOCK - 1) / BLOCK);
    }

    /** Task: one sequence, one block of channels, every time step; then its part of the new window. */
    static void run(Operands o, int task) {
        int nBlocks = (o.ch() + BLOCK - 1) / BLOCK;
        int b = task / nBlocks, c0 = (task % nBlocks) * BLOCK, c1 = Math.min(o.ch(), c0 + BLOCK);
        int width = o.width();
        // taps transposed to (width, channels of the block), so a vector of channels reads one tap contiguously
        float[] taps = new float[width * BLOCK];
        for (int c = c0; c < c1; c++)
            for (int j = 0; j < width; j++) taps[j * BLOCK + c - c0] = o.w()[o.wo() + c * width + j];
        int full = c0 + (c1 - c0) / V * V;
        for (int t = 0; t < o.len(); t++) {
            if (full > c0) row(o, b, t, c0, full, taps, null);
            if (full < c1) row(o, b, t, full, full + V, taps, S.indexInRange(full, c1));
        }
        if (o.state() != null) {
            // the new window is the last width-1 inputs of (old window ++ x)
            int keep = width - 1, ch = o.ch(), len = o.len();
            for (int j = 0; j < keep; j++) {
                int src = len - keep + j;
                for (int c = c0; c < c1; c++) {
                    int dst = o.so() + (b * keep + j) * ch + c;
                    o.state()[dst] = src >= 0 ? o.x()[o.xo() + (b * len + src) * ch + c] : o.state()[o.so() + (b * keep + j + len) * ch + c];
                }
            }
        }
    }

    /**
     * Time step t of sequence b, channels [c0, c1) in whole vectors; m null, or the mask of a last,
     * partial one (c1 = c0 + V then). Whole vectors load and store unmasked: picking a mask for every
     * vector (maskAll, not compiled away) took 6% of a 130M prompt's samples on AVX2. Inputs before the sequence
     * come from the state, or are zeros without one, and are multiplied and added like the rest, as
     * the decoding step's zero-initialised window does.
     */
    private static void row(Operands o, int b, int t, int c0, int c1, float[] taps, VectorMask<Float> m) {
        int width = o.width(), keep = width - 1, ch = o.ch(), len = o.len(), block0 = c0 - c0 % BLOCK;
        for (int c = c0; c < c1; c += V) {
            FloatVector acc = o.bias() == null ? FloatVector.zero(S) : load(o.bias(), o.bo() + c, m);
            for (int j = 0; j < width; j++) {
                int src = t - keep + j;
                FloatVector v = src >= 0 ? load(o.x(), o.xo() + (b * len + src) * ch + c, m)
                        : o.state() != null ? load(o.state(), o.so() + (b * keep + keep + src) * ch + c, m)
                        : FloatVector.zero(S);
                acc = acc.add(FloatVector.fromArray(S, taps, j * BLOCK + c - block0).mul(v));
            }
            FloatVector y = acc.mul(VectorMath.sigmoid(acc));
            int at = o.oo() + (b * len + t) * ch + c;
            if (m == null) y.intoArray(o.out(), at);
            else y.intoArray(o.out(), at, m);
        }
    }

    private static FloatVector load(float[] a, int i, VectorMask<Float> m) {
        return m == null ? FloatVector.fromArray(S, a, i) : FloatVector.fromArray(S, a, i, m);
    }
}
