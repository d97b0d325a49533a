package org.ssmtk.core.backend;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.Function;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every backward op against central finite differences of its forward, on random shapes: for each
 * input x and a random direction v, (L(x + eps v) - L(x - eps v)) / 2 eps must equal <dL/dx, v>,
 * where L = sum(out * g) is summed in float64 over the float32 outputs. The error is measured
 * against ||dL/dx||, the typical size of such a derivative.
 */
class BackwardFiniteDifferenceTest {
    // eps trades truncation error (eps^2) against float32 rounding in the outputs (1e-7 |out| / eps)
    static final double EPS = 1e-2, TOLERANCE = 3e-3;
    final CpuBackend cpu = new CpuBackend(2);

    static float[] random(SplittableRandom r, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (scale * r.nextGaussian());
        return v;
    }

    static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) s += (double) a[i] * b[i];
        return s;
    }

    /** Checks the analytic gradient of every named input against finite differences of forward. */
    static void check(String op, Map<String, float[]> inputs, Function<Map<String, float[]>, float[]> forward,
                      float[] g, Map<String, float[]> analytic, SplittableRandom r) {
        for (var e : analytic.entrySet()) {
            String name = e.getKey();
            float[] x = inputs.get(name);
            float[] v = random(r, x.length, 1);
            Map<String, float[]> plus = new LinkedHashMap<>(inputs), minus = new LinkedHashMap<>(inputs);
            float[] xp = x.clone(), xm = x.clone();
            for (int i = 0; i < x.length; i++) {
                xp[i] += (float) (EPS * v[i]);
                xm[i] -= (float) (EPS * v[i]);
            }
            plus.put(name, xp);
            minus.put(name, xm);
            double fd = (dot(forward.apply(plus), g) - dot(forward.apply(minus), g)) / (2 * EPS);
            double an = dot(e.getValue(), v);
            // For v ~ N(0, I), <grad, v> is typically ||grad||: measure against that scale, since a
            // single directional derivative can cancel to near zero and inflate its relative error.
            double scale = Math.max(Math.abs(fd), Math.sqrt(dot(e.getValue(), e.getValue())));
            double err = Math.abs(fd - an) / Math.max(1e-6, scale);
            assertTrue(err < TOLERANCE, op + ": d/d" + name + " analytic " + an + " vs finite difference " + fd + " (rel " + err + ")");
        }
    }

    private Tensor t(float[] v, int... shape) {
        return cpu.fromHost(v, shape);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(ints = {1, 2, 3})
    void linear(int seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int m = 1 + r.nextInt(40), n = 1 + r.nextInt(30), k = 1 + r.nextInt(50);
        Map<String, float[]> in = Map.of("x", random(r, m * k, 1), "w", random(r, n * k, 0.3), "b", random(r, n, 1));
        Function<Map<String, float[]>, float[]> f = p -> {
            Tensor out = cpu.allocate(m, n);
            cpu.linear(out, t(p.get("x"), m, k), t(p.get("w"), n, k), t(p.get("b"), n));
            return cpu.toHost(out);
        };
        float[] g = random(r, m * n, 1);
        Tensor dx = cpu.allocate(m, k), dw = cpu.allocate(n, k), db = cpu.allocate(n);
        cpu.linearBackward(dx, dw, db, t(g, m, n), t(in.get("x"), m, k), t(in.get("w"), n, k));
        check("linear " + m + "x" + n + "x" + k, in, f, g, Map.of("x", cpu.toHost(dx), "w", cpu.toHost(dw), "b", cpu.toHost(db)), r);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(ints = {1, 2, 3})
    void rmsNorm(int seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int m = 1 + r.nextInt(70), h = 1 + r.nextInt(40);
        Map<String, float[]> in = Map.of("x", random(r, m * h, 1), "w", random(r, h, 1));
        Function<Map<String, float[]>, float[]> f = p -> {
            Tensor out = cpu.allocate(m, h);
            cpu.rmsNorm(out, t(p.get("x"), m, h), t(p.get("w"), h), 1e-5f);
            return cpu.toHost(out);
        };
        float[] g = random(r, m * h, 1);
        Tensor dx = cpu.allocate(m, h), dw = cpu.allocate(h);
        cpu.rmsNormBackward(dx, dw, t(g, m, h), t(in.get("x"), m, h), t(in.get("w"), h), 1e-5f);
        check("rmsNorm", in, f, g, Map.of("x", cpu.toHost(dx), "w", cpu.toHost(dw)), r);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(ints = {1, 2, 3})
    void causalConv1dSilu(int seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int batch = 1 + r.nextInt(3), len = 1 + r.nextInt(20), ch = 1 + r.nextInt(20), width = 1 + r.nextInt(4);
        int rows = batch * len;
        Map<String, float[]> in = Map.of("x", random(r, rows * ch, 1), "w", random(r, ch * width, 0.5), "b", random(r, ch, 0.5));
        Function<Map<String, float[]>, float[]> f = p -> {
            Tensor out = cpu.allocate(rows, ch);
            cpu.causalConv1dSilu(out, t(p.get("x"), rows, ch), t(p.get("w"), ch, width), t(p.get("b"), ch), null, batch, len);
            return cpu.toHost(out);
        };
        float[] g = random(r, rows * ch, 1);
        Tensor dx = cpu.allocate(rows, ch), dw = cpu.allocate(ch, width), db = cpu.allocate(ch);
        cpu.causalConv1dSiluBackward(dx, dw, db, t(g, rows, ch), t(in.get("x"), rows, ch), t(in.get("w"), ch, width),
                t(in.get("b"), ch), batch, len);
        check("conv1d", in, f, g, Map.of("x", cpu.toHost(dx), "w", cpu.toHost(dw), "b", cpu.toHost(db)), r);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(ints = {1, 2, 3, 4})
    void selectiveScanAcrossChunks(int seed) {
        SplittableRandom r = new SplittableRandom(seed);
        // lengths up to three chunks, so that chunk boundaries and the recomputation are exercised
        int batch = 1 + r.nextInt(3), len = 1 + r.nextInt(3 * cpu.scanChunk()), ch = 1 + r.nextInt(19), n = 1 + r.nextInt(16);
        int rows = batch * len;
        float[] a = random(r, ch * n, 0.5);
        for (int i = 0; i < a.length; i++) a[i] = -(float) Math.exp(a[i]);
        Map<String, float[]> in = new LinkedHashMap<>();
        in.put("u", random(r, rows * ch, 1));
        in.put("delta", random(r, rows * ch, 0.5));
        in.put("bias", random(r, ch, 0.3));
        in.put("A", a);
        in.put("B", random(r, rows * n, 1));
        in.put("C", random(r, rows * n, 1));
        in.put("D", random(r, ch, 1));
        in.put("z", random(r, rows * ch, 1));
        int chunks = (len + cpu.scanChunk() - 1) / cpu.scanChunk();
        Function<Map<String, float[]>, float[]> f = p -> {
            Tensor y = cpu.allocate(rows, ch);
            cpu.selectiveScanTraining(y, t(p.get("u"), rows, ch), t(p.get("delta"), rows, ch), t(p.get("bias"), ch),
                    t(p.get("A"), ch, n), t(p.get("B"), rows, n), t(p.get("C"), rows, n), t(p.get("D"), ch),
                    t(p.get("z"), rows, ch), cpu.allocate(batch, chunks, ch, n), batch, len);
            return cpu.toHost(y);
        };
        float[] g = random(r, rows * ch, 1);
        Tensor states = cpu.allocate(batch, chunks, ch, n);
        Tensor y = cpu.allocate(rows, ch);
        Tensor u = t(in.get("u"), rows, ch), delta = t(in.get("delta"), rows, ch), bias = t(in.get("bias"), ch);
        Tensor A = t(a, ch, n), B = t(in.get("B"), rows, n), C = t(in.get("C"), rows, n), D = t(in.get("D"), ch), z = t(in.get("z"), rows, ch);
        cpu.selectiveScanTraining(y, u, delta, bias, A, B, C, D, z, states, batch, len);
        Tensor du = cpu.allocate(rows, ch), dDelta = cpu.allocate(rows, ch), dz = cpu.allocate(rows, ch), dBias = cpu.allocate(ch);
        Tensor dA = cpu.allocate(ch, n), dB = cpu.allocate(rows, n), dC = cpu.allocate(rows, n), dD = cpu.allocate(ch);
        cpu.selectiveScanBackward(du, dDelta, dBias, dA, dB, dC, dD, dz, t(g, rows, ch), u, delta, bias, A, B, C, D, z, states, batch, len);
        Map<String, float[]> an = new LinkedHashMap<>();
        an.put("u", cpu.toHost(du));
        an.put("delta", cpu.toHost(dDelta));
        an.put("bias", cpu.toHost(dBias));
        an.put("A", cpu.toHost(dA));
        an.put("B", cpu.toHost(dB));
        an.put("C", cpu.toHost(dC));
        an.put("D", cpu.toHost(dD));
        an.put("z", cpu.toHost(dz));
        check("scan b=" + batch + " L=" + len + " d=" + ch + " n=" + n, in, f, g, an, r);
    }

    @ParameterizedTest(name = "seed {0}")
    @ValueSource(ints = {1, 2})
    void embeddingAndCrossEntropy(int seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int vocab = 2 + r.nextInt(20), h = 1 + r.nextInt(10), m = 1 + r.nextInt(30);
        int[] ids = new int[m], targets = new int[m];
        for (int i = 0; i < m; i++) {
            ids[i] = r.nextInt(vocab);
            targets[i] = i % 5 == 4 ? -100 : r.nextInt(vocab);
        }
        Map<String, float[]> in = Map.of("table", random(r, vocab * h, 1));
        Function<Map<String, float[]>, float[]> emb = p -> {
            Tensor out = cpu.allocate(m, h);
            cpu.embedding(out, ids, t(p.get("table"), vocab, h));
            return cpu.toHost(out);
        };
        float[] g = random(r, m * h, 1);
        Tensor dTable = cpu.allocate(vocab, h);
        cpu.embeddingBackward(dTable, ids, t(g, m, h));
        check("embedding", in, emb, g, Map.of("table", cpu.toHost(dTable)), r);

        Map<String, float[]> logits = Map.of("logits", random(r, m * vocab, 2));
        Tensor dLogits = cpu.allocate(m, vocab);
        cpu.crossEntropy(t(logits.get("logits"), m, vocab), targets, -100, dLogits, 1f);
        // L = sum of losses: a one-element "output" with g = 1
        Function<Map<String, float[]>, float[]> ce = p -> new float[]{(float) cpu.crossEntropy(t(p.get("logits"), m, vocab), targets, -100, cpu.allocate(m, vocab), 1f)};
        check("cross-entropy", logits, ce, new float[]{1f}, Map.of("logits", cpu.toHost(dLogits)), r);
    }
}
