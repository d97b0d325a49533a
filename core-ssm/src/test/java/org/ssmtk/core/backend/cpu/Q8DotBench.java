package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.ssmtk.core.tensor.Q8Blocks;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Not a test: GB/s of weights one core reads in a decoding product, matrix by matrix (rows x k),
 * for {@link Q8Gemm#dot} (int8 activations; the weights as stored, interleaved where the vector
 * width allows), for the same int8 bytes stored in order, widened by the JDK's byte-to-float
 * conversion and dotted with fp32 activations (the kernel before rows were interleaved), and for
 * an fp32 row loop over the same shape (what memory gives a plain stream). Huge pages for all
 * three; median of repeats after a 2 s warm-up.
 * One kernel per JVM: measured in one, they changed each other's compiled code (a kernel measured
 * second ran at a twentieth of its speed measured first).
 * <pre>
 *   for kernel in dot converted fp32; do java --add-modules jdk.incubator.vector \
 *       -cp core-ssm/target/test-classes:core-ssm/target/classes org.ssmtk.core.backend.cpu.Q8DotBench $kernel [k] [rows] [repeats]; done
 * </pre>
 * defaults k 768, rows 3072, 15 repeats;
 * 3,072 x 768 is 130M's in_proj (2.4 MB: from L3), 50,280 x 768 its head (38.6 MB: from memory).
 */
public final class Q8DotBench {
    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class, jdk.incubator.vector.VectorShape.forBitSize(F.length() * 8));
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    public static void main(String[] args) {
        String kernel = args[0];
        int k = args.length > 1 ? Integer.parseInt(args[1]) : 768;
        int rows = args.length > 2 ? Integer.parseInt(args[2]) : 3072;
        int repeats = args.length > 3 ? Integer.parseInt(args[3]) : 15;
        SplittableRandom r = new SplittableRandom(rows);
        float[] w = new float[rows * k], x = new float[k], out = new float[rows];
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        for (int i = 0; i < k; i++) x[i] = (float) r.nextGaussian();
        Q8Gemm.Q8Storage q = Q8Gemm.quantize(w, 0, rows, k);
        Runnable body;
        long bytes = (long) rows * k;
        switch (kernel) {
            case "dot" -> {
                Q8Gemm.Activations a = new Q8Gemm.Activations(1, k);
                body = () -> {
                    a.quantize(0, x, 0); // once per product, as MatVec does
                    for (int j = 0; j < rows; j++) out[j] = Q8Gemm.dot(a, 0, q, j * k, k);
                };
                System.arraycopy(dequantized(x), 0, x, 0, k); // the check below multiplies what dot multiplies
            }
            case "converted" -> {
                MemorySegment plain = HugePages.allocate(bytes, Arena.ofAuto());
                for (long i = 0; i < bytes; i++) plain.set(ValueLayout.JAVA_BYTE, i, q.at(i / k * k + Q8Gemm.slot((int) (i % k), k)));
                body = () -> { for (int j = 0; j < rows; j++) out[j] = converted(x, plain, q.scales, j * k, k); };
            }
            case "fp32" -> {
                MemorySegment f32 = HugePages.allocate(4 * bytes, Arena.ofAuto());
                MemorySegment.copy(w, 0, f32, ValueLayout.JAVA_FLOAT, 0, w.length);
                bytes *= 4;
                body = () -> { for (int j = 0; j < rows; j++) out[j] = fp32(x, f32, (long) j * k, k); };
            }
            default -> throw new IllegalArgumentException("kernel: dot, converted or fp32, not " + kernel);
        }
        double gbs = rate(repeats, bytes, body);
        double ref = 0; // the product with the dequantized weights (fp32: the weights), so a wrong kernel cannot print a speed
        for (int p = 0; p < k; p++)
            ref += x[p] * (kernel.equals("fp32") ? w[(rows / 2) * k + p] : q.at((long) (rows / 2) * k + Q8Gemm.slot(p, k)) * q.scales[((rows / 2) * k + p) / Q8Blocks.BLOCK]);
        if (Math.abs(out[rows / 2] - ref) > 1e-4 * (1 + Math.abs(ref))) throw new AssertionError(kernel + ": " + out[rows / 2] + " against " + ref);
        System.out.printf("%s\t%d x %d\t%d lanes\t%.2f GB/s (median of %d)%n", kernel, rows, k, F.length(), gbs, repeats);
    }

    /** x's values as int8 activations stand for them. */
    private static float[] dequantized(float[] x) {
        byte[] q = new byte[x.length];
        float[] s = new float[x.length / Q8Blocks.BLOCK], d = new float[x.length];
        Q8Blocks.quantizeActivations(x, 0, x.length, q, 0, s, 0);
        for (int i = 0; i < x.length; i++) d[i] = q[i] * s[i / Q8Blocks.BLOCK];
        return d;
    }

    /** Median GB/s of repeats of body, which reads bytes. */
    private static double rate(int repeats, long bytes, Runnable body) {
        for (long t0 = System.nanoTime(); System.nanoTime() - t0 < 2_000_000_000L; ) body.run(); // warm-up: C2 compiles
        double[] r = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            long t0 = System.nanoTime();
            body.run();
            r[i] = (double) bytes / (System.nanoTime() - t0);
        }
        Arrays.sort(r);
        return r[repeats / 2];
    }

    /** The plain layout: lanes bytes at a time, widened by conversion, a block's partial sum scaled once. */
    private static float converted(float[] x, MemorySegment q, float[] scales, int wo, int k) {
        FloatVector acc = FloatVector.zero(F);
        for (int blk = 0; blk < k / Q8Blocks.BLOCK; blk++) {
            FloatVector part = FloatVector.zero(F);
            for (int p = blk * Q8Blocks.BLOCK; p < (blk + 1) * Q8Blocks.BLOCK; p += F.length()) {
                FloatVector wv = (FloatVector) ByteVector.fromMemorySegment(B, q, wo + p, ORDER).convertShape(VectorOperators.B2F, F, 0);
                part = FloatVector.fromArray(F, x, p).fma(wv, part);
            }
            acc = part.fma(FloatVector.broadcast(F, scales[wo / Q8Blocks.BLOCK + blk]), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /** Two sums over alternate vectors, as MatVec's fp32 rows. */
    private static float fp32(float[] x, MemorySegment w, long wo, int k) {
        FloatVector a = FloatVector.zero(F), b = a;
        for (int i = 0; i < k; i += 2 * F.length()) {
            a = FloatVector.fromMemorySegment(F, w, 4 * (wo + i), ORDER).fma(FloatVector.fromArray(F, x, i), a);
            b = FloatVector.fromMemorySegment(F, w, 4 * (wo + i + F.length()), ORDER).fma(FloatVector.fromArray(F, x, i + F.length()), b);
        }
        return a.add(b).reduceLanes(VectorOperators.ADD);
    }
}
