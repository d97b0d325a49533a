package org.ssmtk.core.backend.cpu;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Not a test: GFLOP/s of {@link PackedGemm}'s fp32 product C = X W^T on one thread (or more), the
 * prompt-processing product. Median of repeats after a 3 s warm-up.
 * <pre>
 *   java --add-modules jdk.incubator.vector -cp core-ssm/target/test-classes:core-ssm/target/classes \
 *       org.ssmtk.core.backend.cpu.PackedGemmBench [m] [n] [k] [threads] [repeats]
 * </pre>
 * defaults m 512, n 3072, k 768 (130M's in_proj over 512 prompt tokens), 1 thread, 15 repeats.
 */
public final class PackedGemmBench {
    public static void main(String[] args) {
        int m = args.length > 0 ? Integer.parseInt(args[0]) : 512;
        int n = args.length > 1 ? Integer.parseInt(args[1]) : 3072;
        int k = args.length > 2 ? Integer.parseInt(args[2]) : 768;
        int threads = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        int repeats = args.length > 4 ? Integer.parseInt(args[4]) : 15;
        SplittableRandom rnd = new SplittableRandom(1);
        float[] x = new float[m * k], w = new float[n * k], c = new float[m * n];
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        for (int i = 0; i < w.length; i++) w[i] = (float) rnd.nextGaussian();
        PackedGemm.Weights packed = PackedGemm.fp32(w, 0, k);
        try (Parallel par = new Parallel(threads)) {
            long end = System.nanoTime() + 3_000_000_000L;
            while (System.nanoTime() < end) PackedGemm.matmulTransposed(par, x, 0, packed, null, 0, c, 0, m, n, k);
            double[] gflops = new double[repeats];
            for (int r = 0; r < repeats; r++) {
                long t0 = System.nanoTime();
                PackedGemm.matmulTransposed(par, x, 0, packed, null, 0, c, 0, m, n, k);
                gflops[r] = 2.0 * m * n * k / (System.nanoTime() - t0);
            }
            Arrays.sort(gflops);
            System.out.printf("packed gemm %d x %d x %d, %d thread(s), %s: median %.1f GFLOP/s [%.1f-%.1f]%n", m, n, k, threads,
                    jdk.incubator.vector.FloatVector.SPECIES_PREFERRED, gflops[repeats / 2], gflops[0], gflops[repeats - 1]);
        }
    }
}
