package org.ssmtk.core.backend.cpu;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.ssmtk.core.backend.SsdShape;

import org.ssmtk.core.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssmtk.core.Fixtures.relativeError;

/**
 * The chunked SSD scan against a float64 step-by-step recurrence written from the definition
 * (Backend#ssdScan), against itself fed one token at a time through the carried state, and its
 * backward against central finite differences of the float64 recurrence.
 */
class SsdScanTest {

    /** batch, len, heads, headDim, groups, state, chunk, dtMin, dtMax. */
    record Case(int batch, int len, int heads, int headDim, int groups, int state, int chunk, float dtMin, float dtMax) {
        SsdShape shape() {
            return new SsdShape(heads, headDim, groups, state, chunk, dtMin, dtMax);
        }

        @Override
        public String toString() {
            return batch + "x" + len + ", " + heads + " heads of " + headDim + ", " + groups + " groups, state " + state
                    + ", chunk " + chunk + ", dt in [" + dtMin + ", " + dtMax + "]";
        }
    }

    static Stream<Case> cases() {
        float inf = Float.POSITIVE_INFINITY;
        return Stream.of(
                new Case(2, 37, 4, 16, 1, 16, 8, 0f, inf),     // the fixture's shape: four full chunks and a partial one
                new Case(1, 1, 3, 5, 3, 7, 8, 0f, inf),        // L = 1, one head per group
                new Case(3, 29, 6, 3, 2, 5, 4, 0f, inf),       // several groups, odd widths (SIMD tails)
                new Case(2, 48, 4, 8, 2, 9, 16, 0f, inf),      // a multiple of the chunk
                new Case(1, 23, 2, 17, 1, 33, 32, 0f, inf),    // one partial chunk, widths past one vector
                new Case(2, 19, 4, 4, 4, 4, 5, 0.3f, 1.2f),    // time_step_limit clamps some dt at both ends
                new Case(2, 70, 2, 4, 1, 3, 1, 0f, inf),       // chunks of one step, more chunks than one window (CpuSsd.WINDOW)
                new Case(1, 150, 4, 8, 2, 8, 2, 0f, inf));     // 75 chunks: a second, partial window
    }

    /** Random inputs of one case, in double (the reference reads them as they are, the kernel as floats). */
    static Map<String, double[]> inputs(Case k, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int rows = k.batch * k.len, di = k.heads * k.headDim, gn = k.groups * k.state;
        Map<String, double[]> in = new LinkedHashMap<>();
        in.put("x", gauss(r, rows * di, 1));
        in.put("dt", gauss(r, rows * k.heads, 1));
        in.put("dtBias", gauss(r, k.heads, 0.5));
        double[] a = new double[k.heads];
        for (int h = 0; h < k.heads; h++) a[h] = -Math.exp(0.5 * r.nextGaussian());
        in.put("A", a);
        in.put("B", gauss(r, rows * gn, 1));
        in.put("C", gauss(r, rows * gn, 1));
        in.put("D", gauss(r, k.heads, 1));
        return in;
    }

    static double[] gauss(SplittableRandom r, int n, double scale) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) v[i] = (float) (scale * r.nextGaussian()); // float-representable
        return v;
    }

    static float[] f(double[] v) {
        float[] o = new float[v.length];
        for (int i = 0; i < v.length; i++) o[i] = (float) v[i];
        return o;
    }

    /** The recurrence in float64: y (rows, heads * headDim); the final state into finalState; states entering chunks into kept. */
    static double[] naive(Case k, Map<String, double[]> in, double[] initial, double[] finalState, double[] kept) {
        int di = k.heads * k.headDim, gn = k.groups * k.state, p = k.headDim, n = k.state, chunks = (k.len + k.chunk - 1) / k.chunk;
        double[] x = in.get("x"), dt = in.get("dt"), bias = in.get("dtBias"), a = in.get("A"), b = in.get("B"), c = in.get("C"), d = in.get("D");
        double[] y = new double[k.batch * k.len * di];
        for (int s = 0; s < k.batch; s++) {
            for (int h = 0; h < k.heads; h++) {
                int g = h / (k.heads / k.groups);
                double[] st = new double[p * n];
                if (initial != null) System.arraycopy(initial, (s * k.heads + h) * p * n, st, 0, p * n);
                for (int t = 0; t < k.len; t++) {
                    if (kept != null && t % k.chunk == 0)
                        System.arraycopy(st, 0, kept, ((s * chunks + t / k.chunk) * k.heads + h) * p * n, p * n);
                    int row = s * k.len + t;
                    double pre = dt[row * k.heads + h] + bias[h];
                    double sp = pre > 20 ? pre : Math.log1p(Math.exp(pre));
                    double w = Math.min(Math.max(sp, k.dtMin), k.dtMax);
                    double decay = Math.exp(w * a[h]);
                    for (int i = 0; i < p; i++) {
                        double xi = x[row * di + h * p + i], acc = d[h] * xi;
                        for (int j = 0; j < n; j++) {
                            st[i * n + j] = decay * st[i * n + j] + w * xi * b[row * gn + g * n + j];
                            acc += st[i * n + j] * c[row * gn + g * n + j];
                        }
                        y[row * di + h * p + i] = acc;
                    }
                }
                if (finalState != null) System.arraycopy(st, 0, finalState, (s * k.heads + h) * p * n, p * n);
            }
        }
        return y;
    }

    final CpuBackend cpu = new CpuBackend(3);

    Tensor t(double[] v, int... shape) {
        return cpu.fromHost(f(v), shape);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void chunkedForwardEqualsTheRecurrenceAndKeepsItsChunkStates(Case k) {
        Map<String, double[]> in = inputs(k, 7);
        int rows = k.batch * k.len, di = k.heads * k.headDim, gn = k.groups * k.state, stateSize = k.heads * k.headDim * k.state;
        int chunks = (k.len + k.chunk - 1) / k.chunk;
        double[] initial = gauss(new SplittableRandom(3), k.batch * stateSize, 1);
        double[] refFinal = new double[k.batch * stateSize], refKept = new double[k.batch * chunks * stateSize];
        double[] ref = naive(k, in, initial, refFinal, null);
        Tensor y = cpu.allocate(rows, di), state = t(initial, k.batch, k.heads, k.headDim, k.state);
        cpu.ssdScan(y, t(in.get("x"), rows, di), t(in.get("dt"), rows, k.heads), t(in.get("dtBias"), k.heads), t(in.get("A"), k.heads),
                t(in.get("B"), rows, gn), t(in.get("C"), rows, gn), t(in.get("D"), k.heads), state, null, k.batch, k.len, k.shape());
        assertBelow("y from a carried state", cpu.toHost(y), ref, 2e-6);
        assertBelow("final state", cpu.toHost(state), refFinal, 2e-6);
        // from zero, keeping the chunk states as training does
        ref = naive(k, in, null, null, refKept);
        Tensor kept = cpu.allocate(k.batch, chunks, k.heads, k.headDim, k.state);
        cpu.ssdScan(y, t(in.get("x"), rows, di), t(in.get("dt"), rows, k.heads), t(in.get("dtBias"), k.heads), t(in.get("A"), k.heads),
                t(in.get("B"), rows, gn), t(in.get("C"), rows, gn), t(in.get("D"), k.heads), null, kept, k.batch, k.len, k.shape());
        assertBelow("y from zero", cpu.toHost(y), ref, 2e-6);
        assertBelow("chunk states", cpu.toHost(kept), refKept, 2e-6);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void oneTokenAtATimeThroughTheStateEqualsTheChunkedForward(Case k) {
        Map<String, double[]> in = inputs(k, 11);
        int rows = k.batch * k.len, di = k.heads * k.headDim, gn = k.groups * k.state;
        Tensor full = cpu.allocate(rows, di);
        cpu.ssdScan(full, t(in.get("x"), rows, di), t(in.get("dt"), rows, k.heads), t(in.get("dtBias"), k.heads), t(in.get("A"), k.heads),
                t(in.get("B"), rows, gn), t(in.get("C"), rows, gn), t(in.get("D"), k.heads), null, null, k.batch, k.len, k.shape());
        float[] whole = cpu.toHost(full), stepped = new float[whole.length];
        Tensor state = cpu.allocate(k.batch, k.heads, k.headDim, k.state);
        for (int pos = 0; pos < k.len; pos++) {
            Map<String, double[]> step = new LinkedHashMap<>(in);
            for (String name : new String[]{"x", "dt", "B", "C"}) step.put(name, column(in.get(name), k.batch, k.len, pos));
            Tensor y = cpu.allocate(k.batch, di);
            cpu.ssdScan(y, t(step.get("x"), k.batch, di), t(step.get("dt"), k.batch, k.heads), t(in.get("dtBias"), k.heads),
                    t(in.get("A"), k.heads), t(step.get("B"), k.batch, gn), t(step.get("C"), k.batch, gn), t(in.get("D"), k.heads),
                    state, null, k.batch, 1, k.shape());
            float[] yh = cpu.toHost(y);
            for (int s = 0; s < k.batch; s++) System.arraycopy(yh, s * di, stepped, (s * k.len + pos) * di, di);
        }
        double err = relativeError(stepped, toDouble(whole));
        assertTrue(err < 2e-6, "steps vs chunked: relative error " + err);
    }

    /** Position pos of every sequence: (batch, width) rows out of (batch * len, width). */
    static double[] column(double[] m, int batch, int len, int pos) {
        int width = m.length / (batch * len);
        double[] out = new double[batch * width];
        for (int s = 0; s < batch; s++) System.arraycopy(m, (s * len + pos) * width, out, s * width, width);
        return out;
    }

    static double[] toDouble(float[] v) {
        double[] o = new double[v.length];
        for (int i = 0; i < v.length; i++) o[i] = v[i];
        return o;
    }

    static void assertBelow(String what, float[] ours, double[] ref, double tol) {
        double err = relativeError(ours, ref);
        assertTrue(err < tol, what + ": relative error " + err + " is not below " + tol);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void backwardMatchesFiniteDifferencesOfTheRecurrence(Case k) {
        Map<String, double[]> in = inputs(k, 5);
        int rows = k.batch * k.len, di = k.heads * k.headDim, gn = k.groups * k.state, chunks = (k.len + k.chunk - 1) / k.chunk;
        double[] g = gauss(new SplittableRandom(9), rows * di, 1);
        Tensor y = cpu.allocate(rows, di), kept = cpu.allocate(k.batch, chunks, k.heads, k.headDim, k.state);
        Tensor x = t(in.get("x"), rows, di), dt = t(in.get("dt"), rows, k.heads), bias = t(in.get("dtBias"), k.heads), a = t(in.get("A"), k.heads);
        Tensor b = t(in.get("B"), rows, gn), c = t(in.get("C"), rows, gn), d = t(in.get("D"), k.heads);
        cpu.ssdScan(y, x, dt, bias, a, b, c, d, null, kept, k.batch, k.len, k.shape());
        Map<String, Tensor> grads = new LinkedHashMap<>();
        for (var e : in.entrySet()) grads.put(e.getKey(), cpu.allocate(e.getValue().length));
        // accumulation: every gradient starts at 1, and the check subtracts it
        for (Tensor gt : grads.values()) cpu.fill(gt, 1f);
        cpu.ssdScanBackward(grads.get("x").reshape(rows, di), grads.get("dt").reshape(rows, k.heads), grads.get("dtBias"), grads.get("A"),
                grads.get("B").reshape(rows, gn), grads.get("C").reshape(rows, gn), grads.get("D"), t(g, rows, di),
                x, dt, bias, a, b, c, d, kept, k.batch, k.len, k.shape());
        SplittableRandom r = new SplittableRandom(21);
        for (var e : in.entrySet()) {
            String name = e.getKey();
            double[] analytic = toDouble(cpu.toHost(grads.get(name)));
            for (int i = 0; i < analytic.length; i++) analytic[i] -= 1;
            double[] v = gauss(r, analytic.length, 1);
            double eps = 1e-5;
            Map<String, double[]> plus = new LinkedHashMap<>(in), minus = new LinkedHashMap<>(in);
            double[] xp = e.getValue().clone(), xm = e.getValue().clone();
            for (int i = 0; i < v.length; i++) {
                xp[i] += eps * v[i];
                xm[i] -= eps * v[i];
            }
            plus.put(name, xp);
            minus.put(name, xm);
            double fd = (dot(naive(k, plus, null, null, null), g) - dot(naive(k, minus, null, null, null), g)) / (2 * eps);
            double an = dot(analytic, v);
            double scale = Math.max(Math.abs(fd), Math.sqrt(dot(analytic, analytic)));
            double err = Math.abs(fd - an) / Math.max(1e-9, scale);
            assertTrue(err < 1e-4, "d/d" + name + ": analytic " + an + " vs finite difference " + fd + " (rel " + err + ")");
        }
    }

    static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += a[i] * b[i];
        return s;
    }

    @org.junit.jupiter.api.Test
    void aStateOfTheWrongShapeIsRefusedBeforeAnythingRuns() {
        Case k = cases().findFirst().orElseThrow();
        Map<String, double[]> in = inputs(k, 1);
        int rows = k.batch * k.len, di = k.heads * k.headDim, gn = k.groups * k.state;
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () ->
                cpu.ssdScan(cpu.allocate(rows, di), t(in.get("x"), rows, di), t(in.get("dt"), rows, k.heads), t(in.get("dtBias"), k.heads),
                        t(in.get("A"), k.heads), t(in.get("B"), rows, gn), t(in.get("C"), rows, gn), t(in.get("D"), k.heads),
                        cpu.allocate(k.batch, k.heads, k.headDim, k.state + 1), null, k.batch, k.len, k.shape()));
        assertTrue(e.getMessage().startsWith("SSD scan: inconsistent shapes"), e.getMessage());
    }
}
