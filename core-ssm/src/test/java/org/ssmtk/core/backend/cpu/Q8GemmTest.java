package org.ssmtk.core.backend.cpu;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.tensor.Q8Blocks;
import org.ssmtk.core.tensor.Tensor;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The int8 product equals a float64 product with the dequantized weights, on both kernels (few and many rows). */
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
                double maxRel = 0;
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        double ref = bias[j];
                        for (int p = 0; p < k; p++) ref += x[i * k + p] * deq[j * k + p];
                        maxRel = Math.max(maxRel, Math.abs(got[i * n + j] - ref) / (Math.abs(ref) + 1));
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
