package org.ssmtk.core.backend;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.tensor.Tensor;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssmtk.core.Fixtures.assertClose;

/** The CPU kernels against plain float64 loops, on shapes that exercise every tail. */
class CpuKernelsTest {

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    @ParameterizedTest(name = "M={0} N={1} K={2} threads={3}")
    @CsvSource({"1,1,1,1", "1,7,3,2", "2,5,9,2", "3,4,8,1", "5,13,17,2", "97,67,33,2", "200,130,64,3", "4,300,768,2", "1,256,48,2"})
    void linearMatchesANaiveProduct(int m, int n, int k, int threads) {
        float[] x = random(m * k, 1), w = random(n * k, 2), bias = random(n, 3);
        double[] want = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double s = bias[j];
                for (int p = 0; p < k; p++) s += (double) x[i * k + p] * w[j * k + p];
                want[i * n + j] = s;
            }
        try (CpuBackend cpu = new CpuBackend(threads)) {
            Tensor out = cpu.allocate(m, n);
            cpu.linear(out, cpu.fromHost(x, m, k), cpu.fromHost(w, n, k), cpu.fromHost(bias, n));
            assertClose("linear", cpu.toHost(out), want, 1e-6);
            // a row view of a larger weight, as the model uses for in_proj and x_proj
            float[] big = new float[(n + 3) * k];
            System.arraycopy(w, 0, big, 2 * k, n * k);
            Tensor view = cpu.fromHost(big, n + 3, k).rows(2, 2 + n);
            cpu.linear(out, cpu.fromHost(x, m, k), view, cpu.fromHost(bias, n));
            assertClose("linear on a row view", cpu.toHost(out), want, 1e-6);
        }
    }

    @ParameterizedTest(name = "batch={0} len={1} channels={2} state={3}")
    @CsvSource({"1,1,1,1", "2,5,3,4", "1,70,16,16", "3,9,13,7", "2,33,24,5"})
    void selectiveScanMatchesTheRecurrenceInFloat64(int batch, int len, int ch, int n) {
        int rows = batch * len;
        float[] u = random(rows * ch, 4), delta = random(rows * ch, 5), z = random(rows * ch, 6);
        float[] b = random(rows * n, 7), c = random(rows * n, 8), d = random(ch, 9), bias = random(ch, 10);
        float[] a = random(ch * n, 11), h0 = random(batch * ch * n, 12);
        for (int i = 0; i < a.length; i++) a[i] = -(float) Math.exp(0.5 * a[i]);
        double[] y = new double[rows * ch];
        double[] h = new double[batch * ch * n];
        for (int i = 0; i < h.length; i++) h[i] = h0[i];
        for (int s = 0; s < batch; s++)
            for (int q = 0; q < ch; q++)
                for (int t = 0; t < len; t++) {
                    int r = s * len + t;
                    double x = delta[r * ch + q] + bias[q];
                    double dt = x > 20 ? x : Math.log1p(Math.exp(x));
                    double acc = 0;
                    for (int k = 0; k < n; k++) {
                        int hi = (s * ch + q) * n + k;
                        h[hi] = Math.exp(dt * a[q * n + k]) * h[hi] + dt * b[r * n + k] * u[r * ch + q];
                        acc += h[hi] * c[r * n + k];
                    }
                    acc += d[q] * u[r * ch + q];
                    double zz = z[r * ch + q];
                    y[r * ch + q] = acc * zz / (1 + Math.exp(-zz));
                }
        try (CpuBackend cpu = new CpuBackend(2)) {
            Tensor out = cpu.allocate(rows, ch);
            Tensor state = cpu.fromHost(h0, batch, ch, n);
            cpu.selectiveScan(out, cpu.fromHost(u, rows, ch), cpu.fromHost(delta, rows, ch), cpu.fromHost(bias, ch),
                    cpu.fromHost(a, ch, n), cpu.fromHost(b, rows, n), cpu.fromHost(c, rows, n), cpu.fromHost(d, ch),
                    cpu.fromHost(z, rows, ch), state, batch, len);
            assertClose("scan y", cpu.toHost(out), y, 1e-5);
            assertClose("scan state", cpu.toHost(state), h, 1e-5);
        }
    }

    @ParameterizedTest(name = "batch={0} len={1} channels={2} width={3}")
    @CsvSource({"1,1,3,4", "2,2,5,4", "2,9,70,4", "1,6,8,2", "3,5,4,1"})
    void causalConvMatchesADirectSum(int batch, int len, int ch, int width) {
        float[] x = random(batch * len * ch, 13), w = random(ch * width, 14), bias = random(ch, 15);
        double[] want = new double[x.length];
        for (int s = 0; s < batch; s++)
            for (int t = 0; t < len; t++)
                for (int q = 0; q < ch; q++) {
                    double acc = bias[q];
                    for (int j = 0; j < width; j++) {
                        int src = t - (width - 1) + j;
                        if (src >= 0) acc += (double) w[q * width + j] * x[(s * len + src) * ch + q];
                    }
                    want[(s * len + t) * ch + q] = acc / (1 + Math.exp(-acc));
                }
        try (CpuBackend cpu = new CpuBackend(2)) {
            Tensor out = cpu.allocate(batch * len, ch);
            cpu.causalConv1dSilu(out, cpu.fromHost(x, batch * len, ch), cpu.fromHost(w, ch, width), cpu.fromHost(bias, ch),
                    null, batch, len);
            assertClose("conv", cpu.toHost(out), want, 1e-6);
        }
    }

    /**
     * A sequence convolved in two calls through the conv state equals one call over all of it:
     * the state carries the last width - 1 inputs (also when the second call is shorter than the
     * window), over channel counts past one task's block and with a masked last vector.
     */
    @ParameterizedTest(name = "batch={0} len={1}+{2} channels={3} width={4}")
    @CsvSource({"2,7,2,300,4", "1,1,5,19,4", "2,3,3,129,3", "1,4,4,16,1"})
    void causalConvContinuesThroughItsState(int batch, int first, int second, int ch, int width) {
        int len = first + second;
        float[] x = random(batch * len * ch, 16), w = random(ch * width, 17), bias = random(ch, 18);
        float[] a = new float[batch * first * ch], b = new float[batch * second * ch];
        for (int s = 0; s < batch; s++) {
            System.arraycopy(x, s * len * ch, a, s * first * ch, first * ch);
            System.arraycopy(x, (s * len + first) * ch, b, s * second * ch, second * ch);
        }
        try (CpuBackend cpu = new CpuBackend(2)) {
            Tensor wt = cpu.fromHost(w, ch, width), bt = cpu.fromHost(bias, ch);
            Tensor whole = cpu.allocate(batch * len, ch);
            cpu.causalConv1dSilu(whole, cpu.fromHost(x, batch * len, ch), wt, bt, null, batch, len);
            Tensor state = width > 1 ? cpu.allocate(batch, width - 1, ch) : null;
            Tensor outA = cpu.allocate(batch * first, ch), outB = cpu.allocate(batch * second, ch);
            cpu.causalConv1dSilu(outA, cpu.fromHost(a, batch * first, ch), wt, bt, state, batch, first);
            cpu.causalConv1dSilu(outB, cpu.fromHost(b, batch * second, ch), wt, bt, state, batch, second);
            float[] all = cpu.toHost(whole), got = new float[all.length];
            float[] ga = cpu.toHost(outA), gb = cpu.toHost(outB);
            for (int s = 0; s < batch; s++) {
                System.arraycopy(ga, s * first * ch, got, s * len * ch, first * ch);
                System.arraycopy(gb, s * second * ch, got, (s * len + first) * ch, second * ch);
            }
            org.junit.jupiter.api.Assertions.assertArrayEquals(all, got, "two calls through the state vs one");
            if (state != null) { // the state holds the last width - 1 inputs
                float[] st = cpu.toHost(state);
                for (int s = 0; s < batch; s++)
                    for (int j = 0; j < width - 1; j++)
                        for (int q = 0; q < ch; q++) {
                            int src = len - (width - 1) + j;
                            float want = src >= 0 ? x[(s * len + src) * ch + q] : 0f;
                            org.junit.jupiter.api.Assertions.assertEquals(want, st[(s * (width - 1) + j) * ch + q]);
                        }
            }
        }
    }

    /**
     * The chunked, recomputing backward against plain backpropagation through time in float64
     * that keeps every state, over lengths that span several chunks.
     */
    @ParameterizedTest(name = "batch={0} len={1} channels={2} state={3}")
    @CsvSource({"2,150,13,7", "1,64,8,16", "1,65,9,3", "3,1,5,2", "1,200,16,16"})
    void selectiveScanBackwardMatchesFullBackpropagationInFloat64(int batch, int len, int ch, int n) {
        int rows = batch * len;
        float[] u = random(rows * ch, 21), delta = random(rows * ch, 22), z = random(rows * ch, 23);
        float[] b = random(rows * n, 24), c = random(rows * n, 25), d = random(ch, 26), bias = random(ch, 27);
        float[] a = random(ch * n, 28), g = random(rows * ch, 29);
        for (int i = 0; i < a.length; i++) a[i] = -(float) Math.exp(0.5 * a[i]);
        double[] du = new double[rows * ch], dDelta = new double[rows * ch], dz = new double[rows * ch];
        double[] dB = new double[rows * n], dC = new double[rows * n], dA = new double[ch * n], dD = new double[ch], dBias = new double[ch];
        for (int s = 0; s < batch; s++)
            for (int q = 0; q < ch; q++) {
                double[][] h = new double[len + 1][n];
                double[] dt = new double[len], y = new double[len];
                for (int t = 0; t < len; t++) {
                    int r = s * len + t;
                    double x = delta[r * ch + q] + bias[q];
                    dt[t] = x > 20 ? x : Math.log1p(Math.exp(x));
                    y[t] = d[q] * u[r * ch + q];
                    for (int k = 0; k < n; k++) {
                        h[t + 1][k] = Math.exp(dt[t] * a[q * n + k]) * h[t][k] + dt[t] * b[r * n + k] * u[r * ch + q];
                        y[t] += h[t + 1][k] * c[r * n + k];
                    }
                }
                double[] dh = new double[n];
                for (int t = len - 1; t >= 0; t--) {
                    int r = s * len + t;
                    double zz = z[r * ch + q], sig = 1 / (1 + Math.exp(-zz));
                    double dy = g[r * ch + q] * zz * sig;
                    dz[r * ch + q] = g[r * ch + q] * y[t] * sig * (1 + zz * (1 - sig));
                    dD[q] += dy * u[r * ch + q];
                    du[r * ch + q] += dy * d[q];
                    double ddt = 0;
                    for (int k = 0; k < n; k++) {
                        double ak = Math.exp(dt[t] * a[q * n + k]);
                        dh[k] += dy * c[r * n + k];
                        dC[r * n + k] += dy * h[t + 1][k];
                        dB[r * n + k] += dh[k] * dt[t] * u[r * ch + q];
                        du[r * ch + q] += dh[k] * dt[t] * b[r * n + k];
                        ddt += dh[k] * (ak * a[q * n + k] * h[t][k] + b[r * n + k] * u[r * ch + q]);
                        dA[q * n + k] += dh[k] * ak * dt[t] * h[t][k];
                        dh[k] *= ak;
                    }
                    double x = delta[r * ch + q] + bias[q];
                    dDelta[r * ch + q] = ddt / (1 + Math.exp(-x));
                    dBias[q] += dDelta[r * ch + q];
                }
            }
        try (CpuBackend cpu = new CpuBackend(2)) {
            int chunks = (len + cpu.scanChunk() - 1) / cpu.scanChunk();
            Tensor tu = cpu.fromHost(u, rows, ch), tDelta = cpu.fromHost(delta, rows, ch), tBias = cpu.fromHost(bias, ch);
            Tensor tA = cpu.fromHost(a, ch, n), tB = cpu.fromHost(b, rows, n), tC = cpu.fromHost(c, rows, n);
            Tensor tD = cpu.fromHost(d, ch), tz = cpu.fromHost(z, rows, ch), states = cpu.allocate(batch, chunks, ch, n);
            cpu.selectiveScanTraining(cpu.allocate(rows, ch), tu, tDelta, tBias, tA, tB, tC, tD, tz, states, batch, len);
            Tensor gu = cpu.allocate(rows, ch), gDelta = cpu.allocate(rows, ch), gz = cpu.allocate(rows, ch), gBias = cpu.allocate(ch);
            Tensor gA = cpu.allocate(ch, n), gB = cpu.allocate(rows, n), gC = cpu.allocate(rows, n), gD = cpu.allocate(ch);
            cpu.selectiveScanBackward(gu, gDelta, gBias, gA, gB, gC, gD, gz, cpu.fromHost(g, rows, ch), tu, tDelta, tBias, tA, tB, tC,
                    tD, tz, states, batch, len);
            assertClose("du", cpu.toHost(gu), du, 1e-5);
            assertClose("ddelta", cpu.toHost(gDelta), dDelta, 1e-5);
            assertClose("dz", cpu.toHost(gz), dz, 1e-5);
            assertClose("dB", cpu.toHost(gB), dB, 1e-5);
            assertClose("dC", cpu.toHost(gC), dC, 1e-5);
            assertClose("dA", cpu.toHost(gA), dA, 1e-5);
            assertClose("dD", cpu.toHost(gD), dD, 1e-5);
            assertClose("dbias", cpu.toHost(gBias), dBias, 1e-5);
        }
    }

    /**
     * Per-row cross-entropy (CPU: vector exps summed in float; the interface's default: double on
     * the host) against a float64 loop: rows of one vector, of several with a tail and of none
     * (width below the lanes), a width short of the row (a padded vocabulary), logits far from 0,
     * unscored rows (NaN). Within 1e-6 nats of a row's loss (float sums of a few hundred exps).
     */
    @ParameterizedTest(name = "rows={0} cols={1} width={2} threads={3}")
    @CsvSource({"1,1,1,1", "3,5,3,2", "70,256,256,2", "9,256,250,3", "5,19,17,1", "130,48,48,2", "2,1000,999,2"})
    void crossEntropyRowsMatchAFloat64Softmax(int rows, int cols, int width, int threads) {
        float[] x = random(rows * cols, 13);
        for (int i = 0; i < x.length; i++) x[i] = 4 * x[i] + (i % 3 == 0 ? 30 : -20);
        SplittableRandom r = new SplittableRandom(14);
        int[] targets = new int[rows];
        for (int i = 0; i < rows; i++) targets[i] = i % 4 == 1 ? -1 : r.nextInt(width);
        double[] want = new double[rows];
        for (int i = 0; i < rows; i++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int v = 0; v < width; v++) max = Math.max(max, x[i * cols + v]);
            for (int v = 0; v < width; v++) sum += Math.exp(x[i * cols + v] - max);
            want[i] = targets[i] < 0 ? Double.NaN : max + Math.log(sum) - x[i * cols + targets[i]];
        }
        try (CpuBackend cpu = new CpuBackend(threads)) {
            // a row view, so that the kernel's offset is not 0
            Tensor logits = cpu.fromHost(new float[cols + x.length], rows + 1, cols).rows(1, rows + 1);
            cpu.copy(logits, cpu.fromHost(x, rows, cols));
            Backend host = hostDefaults(cpu);
            for (Backend b : new Backend[]{cpu, host}) {
                double[] got = b.crossEntropyRows(logits, width, targets);
                for (int i = 0; i < rows; i++) {
                    String what = b.name() + " row " + i;
                    if (Double.isNaN(want[i])) assertTrue(Double.isNaN(got[i]), what + " is not scored");
                    else assertEquals(want[i], got[i], 1e-6 * Math.max(1, Math.abs(want[i])), what);
                }
            }
            assertThrows(IllegalArgumentException.class, () -> cpu.crossEntropyRows(logits, width, new int[rows + 1]));
            assertThrows(IllegalArgumentException.class, () -> cpu.crossEntropyRows(logits, cols + 1, targets));
            int[] high = targets.clone();
            high[0] = width;
            assertThrows(IllegalArgumentException.class, () -> cpu.crossEntropyRows(logits, width, high));
        }
    }

    /** The backend with its overrides of Backend's default methods bypassed: the defaults run on its tensors. */
    static Backend hostDefaults(Backend b) {
        return (Backend) java.lang.reflect.Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[]{Backend.class}, (proxy, m, args) -> {
            if (m.getName().equals("name")) return "default of " + b.name();
            if (m.isDefault()) return java.lang.reflect.InvocationHandler.invokeDefault(proxy, m, args);
            try {
                return m.invoke(b, args);
            } catch (java.lang.reflect.InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }
}
