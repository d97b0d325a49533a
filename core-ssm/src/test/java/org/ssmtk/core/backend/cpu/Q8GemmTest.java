package org.ssmtk.core.backend.cpu;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.tensor.Q8Blocks;
import org.ssmtk.core.tensor.Tensor;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The int8 product equals a float64 product of the dequantized weights and the dequantized
 * activations, on both kernels (few and many rows).
 */
class Q8GemmTest {
    @Test
    void int8LinearIsTheProductWithTheDequantizedWeights() {
        SplittableRandom r = new SplittableRandom(7);
        int n = 37, k = 96;
        float[] w = new float[n * k];
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian() * (i % 5 == 0 ? 3 : 0.1f);
        float[] bias = new float[n];
        for (int i = 0; i < n; i++) bias[i] = (float) r.nextGaussian();
        // the dequantized weights, from the block format's own definition
        byte[] q = new byte[k];
        short[] s = new short[k / Q8Blocks.BLOCK];
        double[] deq = new double[n * k];
        for (int j = 0; j < n; j++) {
            Q8Blocks.quantize(w, j * k, k, q, 0, s, 0);
            for (int p = 0; p < k; p++) deq[j * k + p] = Q8Blocks.dequantize(q[p], s[p / Q8Blocks.BLOCK]);
        }
        try (CpuBackend cpu = new CpuBackend(2)) {
            Tensor wq = cpu.quantizeInt8(cpu.fromHost(w, n, k)), b = cpu.fromHost(bias, n);
            for (int m : new int[]{1, 3, Gemm.PACK_ROWS, Gemm.PACK_ROWS + 5}) { // decode kernel, then the dequantize-and-transpose path
                float[] x = new float[m * k];
                for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                Tensor out = cpu.allocate(m, n);
                cpu.linear(out, cpu.fromHost(x, m, k), wq, b);
                float[] got = cpu.toHost(out);
                // the activations as the product quantizes them, from the rule's own definition
                byte[] xq = new byte[k];
                float[] xs = new float[k / Q8Blocks.BLOCK];
                double maxRel = 0;
                for (int i = 0; i < m; i++) {
                    Q8Blocks.quantizeActivations(x, i * k, k, xq, 0, xs, 0);
                    for (int j = 0; j < n; j++) {
                        double ref = bias[j];
                        for (int p = 0; p < k; p++) ref += (double) xq[p] * xs[p / Q8Blocks.BLOCK] * deq[j * k + p];
                        maxRel = Math.max(maxRel, Math.abs(got[i * n + j] - ref) / (Math.abs(ref) + 1));
                    }
                }
                assertTrue(maxRel < 1e-5, "m = " + m + ": max relative error " + maxRel);
            }
            // a row view (in_proj's x and z halves) reads its own rows
            Tensor lower = wq.rows(20, 37);
            Tensor out = cpu.allocate(1, 17);
            float[] x = new float[k];
            x[5] = 1f;
            cpu.linear(out, cpu.fromHost(x, 1, k), lower, null);
            assertEquals(deq[20 * k + 5], cpu.toHost(out)[0], 1e-7);
            assertThrows(IllegalArgumentException.class, () -> cpu.quantizeInt8(cpu.allocate(4, 48)));
        }
    }

    /** The decoding kernel's activations: the definition's bytes and scales, in the weights' stored order. */
    @Test
    void activationsHoldTheDefinitionsBytesInStoredOrder() {
        SplittableRandom r = new SplittableRandom(3);
        int k = 96, vectors = 2; // three blocks: whole runs under AVX2, a run and a half under AVX-512
        float[] x = new float[vectors * k + 7];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian() * (i % 7 == 0 ? 5 : 1);
        // a block whose scale is 1: halves round away from zero, and a block of zeros
        x[7 + 32] = 127f;
        x[7 + 33] = 2.5f;
        x[7 + 34] = -2.5f;
        x[7 + 35] = -0.5f;
        x[7 + 36] = 0.49f;
        java.util.Arrays.fill(x, 7 + k + 64, 7 + 2 * k, 0f);
        Q8Gemm.Activations a = new Q8Gemm.Activations(vectors, k);
        for (int v = 0; v < vectors; v++) a.quantize(v, x, 7 + v * k);
        byte[] q = new byte[k];
        float[] s = new float[k / Q8Blocks.BLOCK];
        int whole = Q8Gemm.interleaved(k);
        for (int v = 0; v < vectors; v++) {
            Q8Blocks.quantizeActivations(x, 7 + v * k, k, q, 0, s, 0);
            if (v == 0) assertArrayEquals(new byte[]{127, 3, -3, -1, 0}, java.util.Arrays.copyOfRange(q, 32, 37));
            for (int b = 0; b < s.length; b++) assertEquals(s[b], a.scales[v * s.length + b], "scale of block " + b);
            for (int p = 0; p < k; p++) {
                if (p < whole) {
                    int stored = Q8Gemm.slot(p, k);
                    short got = (stored % 2 == 0 ? a.low : a.high)[(v * k + stored) / 2];
                    assertEquals(q[p], got, "vector " + v + ", value " + p);
                } else {
                    assertEquals(q[p] * s[p / Q8Blocks.BLOCK], a.dequantized[v * k + p], "vector " + v + ", value " + p);
                }
            }
        }
    }

    /**
     * A matrix whose rows are shorter than the activations (x_proj and out_proj read one vector
     * in a decoding step): its rows read their first values, and under AVX-512 a row of an odd
     * number of blocks reads its last block from the first half of a run stored interleaved.
     */
    @Test
    void rowsShorterThanTheActivationsReadTheirFirstValues() {
        SplittableRandom r = new SplittableRandom(5);
        int rows = 3, k = 96, longer = 128;
        float[] w = new float[rows * k], x = new float[longer];
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        for (int i = 0; i < longer; i++) x[i] = (float) r.nextGaussian() * (i % 9 == 0 ? 4 : 1);
        Q8Gemm.Q8Storage q = Q8Gemm.quantize(w, 0, rows, k);
        Q8Gemm.Activations a = new Q8Gemm.Activations(1, longer);
        a.quantize(0, x, 0);
        byte[] wq = new byte[k], xq = new byte[longer];
        short[] ws = new short[k / Q8Blocks.BLOCK];
        float[] xs = new float[longer / Q8Blocks.BLOCK];
        Q8Blocks.quantizeActivations(x, 0, longer, xq, 0, xs, 0);
        for (int j = 0; j < rows; j++) {
            Q8Blocks.quantize(w, j * k, k, wq, 0, ws, 0);
            double ref = 0, scale = 0;
            for (int p = 0; p < k; p++) {
                double term = Q8Blocks.dequantize(wq[p], ws[p / Q8Blocks.BLOCK]) * (double) xq[p] * xs[p / Q8Blocks.BLOCK];
                ref += term;
                scale += Math.abs(term);
            }
            assertEquals(ref, Q8Gemm.dot(a, 0, q, j * k, k), 1e-6 * scale, "row " + j);
        }
    }

    @Test
    void blocksRoundHalfAwayFromZeroWithAHalfPrecisionScale() {
        float[] x = new float[32];
        x[0] = 127f; // scale 1
        x[1] = 2.5f;
        x[2] = -2.5f;
        x[3] = -0.5f;
        x[4] = 0.49f;
        byte[] q = new byte[32];
        short[] s = new short[1];
        Q8Blocks.quantize(x, 0, 32, q, 0, s, 0);
        assertEquals(1f, Float.float16ToFloat(s[0]));
        assertEquals(127, q[0]);
        assertEquals(3, q[1]);
        assertEquals(-3, q[2]); // Math.round would give -2
        assertEquals(-1, q[3]); // Math.round would give 0
        assertEquals(0, q[4]);
        float[] zeros = new float[32];
        Q8Blocks.quantize(zeros, 0, 32, q, 0, s, 0);
        assertEquals(0, q[0]);
        assertEquals(0f, Float.float16ToFloat(s[0]));
    }
}
