package org.ssmtk.core.backend.cpu;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.ssmtk.core.tensor.Q8Blocks;
import org.ssmtk.core.tensor.Tensor;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The decoding step's products read their weights off the heap, on huge pages: they give the bits
 * that the same products give from copies in Java arrays (so the copies hold the right rows, views
 * and int8 layout included), fp32 and int8, one vector and several (the four-vector kernels), one
 * thread and a split over three, and both are the product within float rounding (int8: of the
 * dequantized weights and activations); and the copies
 * are 2 MB-aligned and, where the kernel's THP mode allows, really on huge pages.
 */
class HugePagesTest {
    @ParameterizedTest(name = "{0} rows {1} x {2}, {3} vectors, {4} threads")
    @CsvSource({"fp32,37,83,1,1", "fp32,37,83,5,1", "fp32,300,1200,6,3", "int8,37,96,1,1", "int8,37,96,5,3",
            "int8,300,1216,9,3"})
    void productsFromHugePagesGiveTheBitsOfProductsFromHeapCopies(String format, int n, int k, int vectors, int threads) {
        SplittableRandom r = new SplittableRandom(n * 31L + k);
        int rows = n + 7; // the product reads a view from row 7: the copy must start there
        float[] w = new float[rows * k], x = new float[vectors * k], bias = new float[n];
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        for (int i = 0; i < n; i++) bias[i] = (float) r.nextGaussian();
        float[][] out = new float[2][];
        try (CpuBackend cpu = new CpuBackend(threads)) {
            for (int heap = 0; heap < 2; heap++) {
                Tensor all = format.equals("int8")
                        ? new Tensor(Q8Gemm.quantize(w, 0, rows, k, heap == 1), 0, rows, k) : cpu.fromHost(w, rows, k);
                out[heap] = new float[vectors * n];
                try (HugePages.Copies copies = new HugePages.Copies(heap == 1)) {
                    new MatVec(cpu.parallel(), vectors, x, k, new Tensor[]{all.rows(7, rows)}, new Tensor[]{cpu.fromHost(bias, n)},
                            new float[][]{out[heap]}, new int[1], new int[]{n}, copies).run();
                }
            }
        }
        assertArrayEquals(out[1], out[0], format + ": huge pages against heap copies");
        // and it is the product: of the fp32 weights, or of the int8 weights and activations as
        // dequantized by the rule's own definition (Q8Blocks)
        boolean int8 = format.equals("int8");
        double[] wRef = new double[w.length], xRef = new double[x.length];
        for (int i = 0; i < w.length; i++) wRef[i] = w[i];
        for (int i = 0; i < x.length; i++) xRef[i] = x[i];
        if (int8) {
            byte[] q = new byte[k];
            short[] half = new short[k / Q8Blocks.BLOCK];
            float[] scales = new float[k / Q8Blocks.BLOCK];
            for (int j = 0; j < rows; j++) {
                Q8Blocks.quantize(w, j * k, k, q, 0, half, 0);
                for (int p = 0; p < k; p++) wRef[j * k + p] = Q8Blocks.dequantize(q[p], half[p / Q8Blocks.BLOCK]);
            }
            for (int v = 0; v < vectors; v++) {
                Q8Blocks.quantizeActivations(x, v * k, k, q, 0, scales, 0);
                for (int p = 0; p < k; p++) xRef[v * k + p] = q[p] * scales[p / Q8Blocks.BLOCK];
            }
        }
        double tol = 1e-5, worst = 0;
        for (int v = 0; v < vectors; v++)
            for (int j = 0; j < n; j++) {
                double ref = bias[j], scale = Math.abs(bias[j]);
                for (int p = 0; p < k; p++) {
                    ref += wRef[(7 + j) * k + p] * xRef[v * k + p];
                    scale += Math.abs(wRef[(7 + j) * k + p] * xRef[v * k + p]);
                }
                worst = Math.max(worst, Math.abs(out[0][v * n + j] - ref) / scale);
            }
        assertTrue(worst < tol, format + ": worst error relative to sum |w x| " + worst);
    }

    @Test
    void copiesAreAlignedAndOnHugePagesWhereTheKernelAllows() throws IOException {
        Assumptions.assumeTrue(HugePages.enabled(), "huge pages are off (not Linux, or ssmtk.cpu.hugePages=false)");
        Path mode = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
        Assumptions.assumeTrue(Files.isReadable(mode) && !Files.readString(mode).contains("[never]"),
                "this kernel gives no transparent huge pages");
        float[] w = new float[3 << 20]; // 12 MB
        for (int i = 0; i < w.length; i++) w[i] = i;
        try (HugePages.Copies copies = new HugePages.Copies(false)) {
            MemorySegment c = copies.copy(w, 5, w.length - 5);
            assertEquals(0, c.address() % (2 << 20), "the first copy starts a huge page");
            assertEquals(5f, c.getAtIndex(ValueLayout.JAVA_FLOAT, 0));
            assertEquals(w.length - 1f, c.getAtIndex(ValueLayout.JAVA_FLOAT, w.length - 6));
            long huge = anonHugeKb(c.address());
            assertTrue(huge >= 2048, "AnonHugePages of the mapping: " + huge + " kB");
        }
    }

    @Test
    void onlyBlocksOfAMegabyteOrMoreAreMappedAsHugePages() {
        Assumptions.assumeTrue(HugePages.enabled(), "huge pages are off (not Linux, or ssmtk.cpu.hugePages=false)");
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            MemorySegment big = HugePages.allocate(HugePages.MIN_HUGE, arena);
            assertEquals(0, big.address() % (2 << 20), "a block of MIN_HUGE gets a mapping of its own");
            // a small one must not take a 2 MB page of its own: it comes from the arena, 64-byte aligned
            MemorySegment small = HugePages.allocate(300_000, arena);
            assertEquals(0, small.address() % 64);
            assertTrue(small.address() % (2 << 20) != 0, "a 300 KB block was given a huge-page mapping of its own");
            assertEquals(300_000, small.byteSize());
            small.set(ValueLayout.JAVA_BYTE, 299_999, (byte) 7); // and it is usable memory
            assertEquals(7, small.get(ValueLayout.JAVA_BYTE, 299_999));
        }
    }

    /** AnonHugePages of the mapping that holds address, from /proc/self/smaps. */
    private static long anonHugeKb(long address) throws IOException {
        List<String> lines = Files.readAllLines(Path.of("/proc/self/smaps"));
        boolean in = false;
        for (String l : lines) {
            if (l.matches("^[0-9a-f]+-[0-9a-f]+ .*")) {
                String[] range = l.substring(0, l.indexOf(' ')).split("-");
                in = Long.parseUnsignedLong(range[0], 16) <= address && address < Long.parseUnsignedLong(range[1], 16);
            } else if (in && l.startsWith("AnonHugePages:")) {
                return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        return -1;
    }
}
