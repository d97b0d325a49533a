package org.ssmtk.core.backend.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The packed kernel over edge tiles (rows not a multiple of MR, columns not a multiple of NR, K
 * over several packed blocks with a short last one): against a float64 product, bit for bit
 * against the broadcast kernel's sums where that kernel runs whole vectors (Gemm.matmul on W
 * transposed: the same fmas in the same order), and the same bits on 1 and 3 threads and with
 * either tile (AVX-512's 8 rows, AVX2's 3: both run on any machine); int8 against its
 * dequantized weights, and its panels' rows dequantized (a register at a time) to the same bits as
 * value by value.
 */
class PackedGemmTest {
    private static final int LANES = VectorMath.S.length();

    @ParameterizedTest(name = "m={0} n={1} k={2}")
    @CsvSource({"75,100,544", "8,48,256", "1,1,32", "17,49,288", "64,3,96"})
    void packedProductIsTheBroadcastKernelsSumsOverEveryEdge(int m, int n, int k) {
        SplittableRandom r = new SplittableRandom(m * 31L + n * 7L + k);
        float[] x = new float[m * k], w = new float[n * k], bias = new float[n];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        for (int i = 0; i < n; i++) bias[i] = (float) r.nextGaussian();
        float[] wT = new float[k * n];
        for (int j = 0; j < n; j++)
            for (int p = 0; p < k; p++) wT[p * n + j] = w[j * k + p];
        Q8Gemm.Q8Storage q = Q8Gemm.quantize(w, 0, n, k);
        float[] deq = new float[n * k];
        for (int j = 0; j < n; j++)
            for (int p = 0; p < k; p++) deq[j * k + p] = q.at(j * k + Q8Gemm.slot(p, k)) * q.scales[(j * k + p) / 32];
        for (int j = 0; j < n; j++)
            for (int k0 = 0; k0 < k; k0 += PackedGemm.KC) {
                int kc = Math.min(PackedGemm.KC, k - k0);
                float[] slice = new float[kc];
                Q8Gemm.dequantize(q, j * k, k, k0, kc, slice);
                assertArrayEquals(java.util.Arrays.copyOfRange(deq, j * k + k0, j * k + k0 + kc), slice, "row " + j + " dequantized from " + k0);
            }
        try (Parallel one = new Parallel(1); Parallel three = new Parallel(3)) {
            float[] want = new float[m * n];
            for (int i = 0; i < m; i++) System.arraycopy(bias, 0, want, i * n, n);
            Gemm.matmul(one, x, 0, wT, 0, want, 0, m, n, k, true);
            float[] got1 = new float[m * n], got3 = new float[m * n];
            PackedGemm.matmulTransposed(one, x, 0, PackedGemm.fp32(w, 0, k), bias, 0, got1, 0, m, n, k);
            PackedGemm.matmulTransposed(three, x, 0, PackedGemm.fp32(w, 0, k), bias, 0, got3, 0, m, n, k);
            // the broadcast kernel sums columns past its last whole vector in scalar code; compare the others
            int whole = n / PackedGemm.NR * PackedGemm.NR + (n % PackedGemm.NR) / LANES * LANES;
            for (int i = 0; i < m; i++)
                for (int j = 0; j < whole; j++)
                    assertTrue(want[i * n + j] == got1[i * n + j], "fp32 vs the broadcast kernel at " + i + "," + j);
            assertArrayEquals(got1, got3, "fp32 on 1 and 3 threads");
            for (int mr : new int[]{8, 3}) {
                float[] tiled = new float[m * n];
                PackedGemm.matmulTransposed(three, x, 0, PackedGemm.fp32(w, 0, k), bias, 0, tiled, 0, m, n, k, mr);
                assertArrayEquals(got1, tiled, "fp32 with a tile of " + mr + " rows");
            }
            assertTrue(maxRelative(got1, x, w, bias, m, n, k) < 1e-6, "fp32 vs float64");

            float[] q1 = new float[m * n], q3 = new float[m * n];
            PackedGemm.matmulTransposed(one, x, 0, PackedGemm.int8(q, 0, k), null, 0, q1, 0, m, n, k);
            PackedGemm.matmulTransposed(three, x, 0, PackedGemm.int8(q, 0, k), null, 0, q3, 0, m, n, k);
            assertArrayEquals(q1, q3, "int8 on 1 and 3 threads");
            for (int mr : new int[]{8, 3}) {
                float[] tiled = new float[m * n];
                PackedGemm.matmulTransposed(one, x, 0, PackedGemm.int8(q, 0, k), null, 0, tiled, 0, m, n, k, mr);
                assertArrayEquals(q1, tiled, "int8 with a tile of " + mr + " rows");
            }
            assertTrue(maxRelative(q1, x, deq, new float[n], m, n, k) < 1e-6, "int8 vs float64 on the dequantized weights");
        }
    }

    private static double maxRelative(float[] got, float[] x, float[] w, float[] bias, int m, int n, int k) {
        double max = 0;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double ref = bias[j], scale = Math.abs(bias[j]) + 1; // float32 rounding grows with the sum of |terms|
                for (int p = 0; p < k; p++) {
                    ref += (double) x[i * k + p] * w[j * k + p];
                    scale += Math.abs((double) x[i * k + p] * w[j * k + p]);
                }
                max = Math.max(max, Math.abs(got[i * n + j] - ref) / scale);
            }
        return max;
    }
}
