package org.ssmtk.core.backend.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import org.ssmtk.core.tensor.Tensor;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssmtk.core.Fixtures.relativeError;
import static org.ssmtk.core.backend.cpu.SsdScanTest.dot;
import static org.ssmtk.core.backend.cpu.SsdScanTest.f;
import static org.ssmtk.core.backend.cpu.SsdScanTest.gauss;
import static org.ssmtk.core.backend.cpu.SsdScanTest.toDouble;

/** The gated RMSNorm against a float64 loop from its definition, and its backward against finite differences of that loop. */
class GatedRmsNormTest {
    final CpuBackend cpu = new CpuBackend(2);

    static double[] reference(double[] x, double[] z, double[] w, int rows, int width, int group, double eps) {
        double[] out = new double[rows * width];
        for (int r = 0; r < rows; r++)
            for (int g0 = 0; g0 < width; g0 += group) {
                double ss = 0;
                for (int i = g0; i < g0 + group; i++) {
                    double v = x[r * width + i] * z[r * width + i] / (1 + Math.exp(-z[r * width + i]));
                    ss += v * v;
                }
                double inv = 1 / Math.sqrt(ss / group + eps);
                for (int i = g0; i < g0 + group; i++)
                    out[r * width + i] = w[i] * x[r * width + i] * z[r * width + i] / (1 + Math.exp(-z[r * width + i])) * inv;
            }
        return out;
    }

    @ParameterizedTest(name = "{0} rows of {1}, groups of {2}")
    @CsvSource({"7, 64, 64", "130, 12, 4", "3, 30, 10", "1, 5, 1"})
    void forwardAndBackward(int rows, int width, int group) {
        SplittableRandom r = new SplittableRandom(rows * 31L + width);
        double[] x = gauss(r, rows * width, 1), z = gauss(r, rows * width, 1.5), w = gauss(r, width, 1), g = gauss(r, rows * width, 1);
        float eps = 1e-5f;
        Tensor xt = cpu.fromHost(f(x), rows, width), zt = cpu.fromHost(f(z), rows, width), wt = cpu.fromHost(f(w), width);
        Tensor out = cpu.allocate(rows, width);
        cpu.gatedRmsNorm(out, xt, zt, wt, group, eps);
        double err = relativeError(cpu.toHost(out), reference(x, z, w, rows, width, group, eps));
        assertTrue(err < 1e-6, "forward: relative error " + err);

        Tensor dx = cpu.allocate(rows, width), dz = cpu.allocate(rows, width), dw = cpu.allocate(width);
        cpu.fill(dw, 1f); // accumulates
        cpu.gatedRmsNormBackward(dx, dz, dw, cpu.fromHost(f(g), rows, width), xt, zt, wt, group, eps);
        double[] dwa = toDouble(cpu.toHost(dw));
        for (int i = 0; i < dwa.length; i++) dwa[i] -= 1;
        double[][] analytic = {toDouble(cpu.toHost(dx)), toDouble(cpu.toHost(dz)), dwa};
        String[] names = {"x", "z", "weight"};
        for (int which = 0; which < 3; which++) {
            double[] base = which == 0 ? x : which == 1 ? z : w;
            double[] v = gauss(r, base.length, 1), plus = base.clone(), minus = base.clone();
            double h = 1e-5;
            for (int i = 0; i < v.length; i++) {
                plus[i] += h * v[i];
                minus[i] -= h * v[i];
            }
            double fp = dot(reference(which == 0 ? plus : x, which == 1 ? plus : z, which == 2 ? plus : w, rows, width, group, eps), g);
            double fm = dot(reference(which == 0 ? minus : x, which == 1 ? minus : z, which == 2 ? minus : w, rows, width, group, eps), g);
            double fd = (fp - fm) / (2 * h), an = dot(analytic[which], v);
            double scale = Math.max(Math.abs(fd), Math.sqrt(dot(analytic[which], analytic[which])));
            double rel = Math.abs(fd - an) / scale;
            assertTrue(rel < 1e-4, "d/d" + names[which] + ": analytic " + an + " vs finite difference " + fd + " (rel " + rel + ")");
        }
    }
}
