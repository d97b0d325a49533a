package org.ssmtk.core.backend.cuda;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.tensor.Tensor;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ModelBench kernels=N's table: what is launched while timing is on is counted, per name, and nothing else. */
class CudaKernelTimesTest {
    /** The row of that name: {ms per step, calls per step}, or null. */
    private static double[] row(List<String> table, String name) {
        for (String line : table) {
            if (!line.startsWith(name + " ")) continue;
            String[] f = line.substring(60).trim().split("\\s+");
            return new double[]{Double.parseDouble(f[0]), Double.parseDouble(f[1])};
        }
        return null;
    }

    @Test
    void countsTheLaunchesMadeWhileOnAndTheirProducts() {
        CudaBackend gpu = Gpu.backend();
        gpu.kernelTimes(1);  // forget anything an earlier test left
        Tensor x = gpu.allocate(64, 96), w = gpu.allocate(80, 96), out = gpu.allocate(64, 80);
        gpu.fillUniform(x, 1, -1, 1);  // before timing: not counted
        gpu.timeKernels(true);
        gpu.fillUniform(w, 2, -1, 1);
        gpu.fillUniform(w, 3, -1, 1);
        gpu.linear(out, x, w, null);
        gpu.fill(out, 1f); // not zero: a zero fill of a whole storage is deferred, with no memset yet
        gpu.timeKernels(false);
        gpu.fillUniform(x, 4, -1, 1);  // after: not counted
        List<String> table = gpu.kernelTimes(2);
        table.forEach(System.out::println);
        double[] uniform = row(table, "fill_uniform");
        assertTrue(uniform != null, "fill_uniform is in the table");
        assertEquals(1.0, uniform[1], 1e-9, "two launches over two steps: one a step");
        assertTrue(uniform[0] > 0, "it took device time");
        boolean product = table.stream().anyMatch(l -> l.startsWith("cublasSgemm TN 80x64x96") || l.startsWith("gemm_strided"));
        assertTrue(product, "the product is in the table");
        assertTrue(row(table, "memset (fill)") != null, "the fill is in the table");
        assertTrue(row(gpu.kernelTimes(1), "fill_uniform") == null, "the table forgets what it printed");
    }
}
