package org.ssmtk.core.backend.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.backend.cuda.SsdCases.Case;
import org.ssmtk.core.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Runs without a GPU: the GPU's SSD algorithm as SsdKernelModel transcribes ssd.cu and CudaSsd
 * (chunk states, the pass over chunks, tiled outputs, the decoding step kernel, the backward's
 * carries, row and column tiles and per-chunk finish, the gated norm) against CpuBackend, which
 * matches transformers' fixtures. Forward within 1e-5 relative error, gradients within 1e-4, as
 * the GPU tests hold the kernels themselves; gradients start from random values to check that
 * every output accumulates.
 */
class SsdKernelModelTest {
    static final double FWD = 1e-5, GRAD = 1e-4;
    static CpuBackend cpu;
    final SsdKernelModel model = new SsdKernelModel();

    @BeforeAll
    static void open() {
        cpu = new CpuBackend(2);
    }

    @AfterAll
    static void close() {
        cpu.close();
    }

    static void near(String what, float[] ours, float[] ref, double tol) {
        double err = Fixtures.relativeError(ours, toDouble(ref));
        assertTrue(err < tol, what + ": relative error " + err + " is not below " + tol);
    }

    static double[] toDouble(float[] v) {
        double[] o = new double[v.length];
        for (int i = 0; i < v.length; i++) o[i] = v[i];
        return o;
    }

    Tensor t(float[] v, int... shape) {
        return cpu.fromHost(v.clone(), shape);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.ssmtk.core.backend.cuda.SsdCases#cases")
    void forwardFromAStateAndFromZeroKeepingChunkStates(Case k) {
        Map<String, float[]> in = SsdCases.inputs(k, 7);
        int rows = k.rows(), di = k.heads() * k.headDim(), gn = k.groups() * k.state();
        float[] initial = SsdCases.gauss(new SplittableRandom(3), k.batch() * k.stateSize(), 1);
        // from a carried state
        Tensor yc = cpu.allocate(rows, di), sc = t(initial, k.batch(), k.heads(), k.headDim(), k.state());
        cpu.ssdScan(yc, t(in.get("x"), rows, di), t(in.get("dt"), rows, k.heads()), t(in.get("dtBias"), k.heads()),
                t(in.get("A"), k.heads()), t(in.get("B"), rows, gn), t(in.get("C"), rows, gn), t(in.get("D"), k.heads()), sc, null,
                k.batch(), k.len(), k.shape());
        float[] y = new float[rows * di], state = initial.clone();
        model.scan(y, in.get("x"), in.get("dt"), in.get("dtBias"), in.get("A"), in.get("B"), in.get("C"), in.get("D"), state, null,
                k.batch(), k.len(), k.shape());
        near("y from a carried state", y, cpu.toHost(yc), FWD);
        near("final state", state, cpu.toHost(sc), FWD);
        // from zero, keeping the chunk states
        Tensor kept = cpu.allocate(k.batch(), k.chunks(), k.heads(), k.headDim(), k.state());
        cpu.ssdScan(yc, t(in.get("x"), rows, di), t(in.get("dt"), rows, k.heads()), t(in.get("dtBias"), k.heads()),
                t(in.get("A"), k.heads()), t(in.get("B"), rows, gn), t(in.get("C"), rows, gn), t(in.get("D"), k.heads()), null, kept,
                k.batch(), k.len(), k.shape());
        float[] keptOurs = new float[k.batch() * k.chunks() * k.stateSize()];
        model.scan(y, in.get("x"), in.get("dt"), in.get("dtBias"), in.get("A"), in.get("B"), in.get("C"), in.get("D"), null, keptOurs,
                k.batch(), k.len(), k.shape());
        near("y from zero", y, cpu.toHost(yc), FWD);
        near("chunk states", keptOurs, cpu.toHost(kept), FWD);
        // from zero, keeping nothing (one chunk: no state kernels at all)
        java.util.Arrays.fill(y, Float.NaN);
        model.scan(y, in.get("x"), in.get("dt"), in.get("dtBias"), in.get("A"), in.get("B"), in.get("C"), in.get("D"), null, null,
                k.batch(), k.len(), k.shape());
        near("y from zero, nothing kept", y, cpu.toHost(yc), FWD);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.ssmtk.core.backend.cuda.SsdCases#cases")
    void decodingStepsThroughTheStepKernelEqualTheFullForward(Case k) {
        Map<String, float[]> in = SsdCases.inputs(k, 11);
        int rows = k.rows(), di = k.heads() * k.headDim(), gn = k.groups() * k.state();
        Tensor full = cpu.allocate(rows, di);
        cpu.ssdScan(full, t(in.get("x"), rows, di), t(in.get("dt"), rows, k.heads()), t(in.get("dtBias"), k.heads()),
                t(in.get("A"), k.heads()), t(in.get("B"), rows, gn), t(in.get("C"), rows, gn), t(in.get("D"), k.heads()), null, null,
                k.batch(), k.len(), k.shape());
        float[] whole = cpu.toHost(full), stepped = new float[whole.length], state = new float[k.batch() * k.stateSize()];
        for (int pos = 0; pos < k.len(); pos++) {
            float[] y = new float[k.batch() * di];
            model.scan(y, SsdCases.position(in.get("x"), k.batch(), k.len(), pos), SsdCases.position(in.get("dt"), k.batch(), k.len(), pos),
                    in.get("dtBias"), in.get("A"), SsdCases.position(in.get("B"), k.batch(), k.len(), pos),
                    SsdCases.position(in.get("C"), k.batch(), k.len(), pos), in.get("D"), state, null, k.batch(), 1, k.shape());
            for (int s = 0; s < k.batch(); s++) System.arraycopy(y, s * di, stepped, (s * k.len() + pos) * di, di);
        }
        near("steps vs the CPU's full forward", stepped, whole, FWD);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.ssmtk.core.backend.cuda.SsdCases#cases")
    void backwardEqualsTheCpuBackward(Case k) {
        Map<String, float[]> in = SsdCases.inputs(k, 5);
        int rows = k.rows(), di = k.heads() * k.headDim(), gn = k.groups() * k.state();
        float[] dy = SsdCases.gauss(new SplittableRandom(9), rows * di, 1);
        Tensor x = t(in.get("x"), rows, di), dt = t(in.get("dt"), rows, k.heads()), bias = t(in.get("dtBias"), k.heads());
        Tensor a = t(in.get("A"), k.heads()), b = t(in.get("B"), rows, gn), c = t(in.get("C"), rows, gn), d = t(in.get("D"), k.heads());
        Tensor kept = cpu.allocate(k.batch(), k.chunks(), k.heads(), k.headDim(), k.state());
        cpu.ssdScan(cpu.allocate(rows, di), x, dt, bias, a, b, c, d, null, kept, k.batch(), k.len(), k.shape());
        Map<String, float[]> start = new LinkedHashMap<>();
        SplittableRandom r = new SplittableRandom(13);
        for (var e : in.entrySet()) start.put(e.getKey(), SsdCases.gauss(r, e.getValue().length, 1));
        Map<String, Tensor> g = new LinkedHashMap<>();
        for (var e : start.entrySet()) g.put(e.getKey(), t(e.getValue(), e.getValue().length));
        cpu.ssdScanBackward(g.get("x").reshape(rows, di), g.get("dt").reshape(rows, k.heads()), g.get("dtBias"), g.get("A"),
                g.get("B").reshape(rows, gn), g.get("C").reshape(rows, gn), g.get("D"), t(dy, rows, di), x, dt, bias, a, b, c, d, kept,
                k.batch(), k.len(), k.shape());
        Map<String, float[]> ours = new LinkedHashMap<>();
        for (var e : start.entrySet()) ours.put(e.getKey(), e.getValue().clone());
        model.backward(ours.get("x"), ours.get("dt"), ours.get("dtBias"), ours.get("A"), ours.get("B"), ours.get("C"), ours.get("D"), dy,
                in.get("x"), in.get("dt"), in.get("dtBias"), in.get("A"), in.get("B"), in.get("C"), in.get("D"), cpu.toHost(kept),
                k.batch(), k.len(), k.shape());
        for (String name : in.keySet()) {
            float[] mine = ours.get(name).clone(), cpuGrad = cpu.toHost(g.get(name)), from = start.get(name);
            // compare the added gradients, not the random starting values they were added to
            for (int i = 0; i < mine.length; i++) {
                mine[i] -= from[i];
                cpuGrad[i] -= from[i];
            }
            near("d" + name, mine, cpuGrad, GRAD);
        }
    }

    @ParameterizedTest(name = "rows={0} width={1} group={2}")
    @CsvSource({"1,4,4", "37,64,64", "5,48,16", "3,1024,256"})
    void gatedNormAndItsBackwardEqualTheCpu(int rows, int width, int gs) {
        SplittableRandom r = new SplittableRandom(rows * 31L + width);
        float[] x = SsdCases.gauss(r, rows * width, 1), z = SsdCases.gauss(r, rows * width, 2), w = SsdCases.gauss(r, width, 1);
        float[] dOut = SsdCases.gauss(r, rows * width, 1);
        float[] dx0 = SsdCases.gauss(r, rows * width, 1), dz0 = SsdCases.gauss(r, rows * width, 1), dw0 = SsdCases.gauss(r, width, 1);
        Tensor out = cpu.allocate(rows, width);
        cpu.gatedRmsNorm(out, t(x, rows, width), t(z, rows, width), t(w, width), gs, 1e-5f);
        float[] mine = new float[rows * width];
        SsdKernelModel.gatedRmsNorm(mine, x, z, w, rows, width, gs, 1e-5f);
        near("gated norm", mine, cpu.toHost(out), FWD);
        Tensor dx = t(dx0, rows, width), dz = t(dz0, rows, width), dw = t(dw0, width);
        cpu.gatedRmsNormBackward(dx, dz, dw, t(dOut, rows, width), t(x, rows, width), t(z, rows, width), t(w, width), gs, 1e-5f);
        float[] mdx = dx0.clone(), mdz = dz0.clone(), mdw = dw0.clone();
        SsdKernelModel.normBackward(mdx, mdz, mdw, dOut, x, z, w, rows, width, gs, 1e-5f);
        near("gated norm dx", mdx, cpu.toHost(dx), GRAD);
        near("gated norm dz", mdz, cpu.toHost(dz), GRAD);
        near("gated norm dweight", mdw, cpu.toHost(dw), GRAD);
    }
}
