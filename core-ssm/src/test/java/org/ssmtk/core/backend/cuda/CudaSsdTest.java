package org.ssmtk.core.backend.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.backend.cuda.SsdCases.Case;
import org.ssmtk.core.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssmtk.core.backend.cuda.Gpu.close;

/**
 * Mamba-2's kernels (ssd.cu) against CpuBackend, which matches transformers' fixtures, on SsdCases'
 * shapes: the SSD scan from a carried state, from zero keeping the chunk states (training) and
 * keeping nothing, one token at a time through the decoding step kernel, the backward with every
 * gradient pre-filled with random values (so accumulation is checked; the comparison is of what was
 * added), and the gated RMSNorm both ways. Forward
 * within 1e-5 relative error, gradients within 1e-4; the bf16 backend's scan and backward (TF32 products)
 * within 5e-3 and 1e-2. Skips where no GPU works.
 */
class CudaSsdTest {
    static final double FWD = 1e-5, GRAD = 1e-4;
    /** TF32 products (10 bits of mantissa): ssd-host-check measures forward <= 5.0e-4, gradients <= 1.3e-3 against float64. */
    static final double TF32_FWD = 5e-3, TF32_GRAD = 1e-2;
    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = new CpuBackend(2);
    }

    @AfterAll
    static void closeCpu() {
        cpu.close();
    }

    /** The same inputs on both backends. */
    record Operands(Map<String, Tensor> c, Map<String, Tensor> g) {
        static Operands of(CudaBackend gpu, Case k, Map<String, float[]> in) {
            int rows = k.rows(), di = k.heads() * k.headDim(), gn = k.groups() * k.state();
            Map<String, int[]> shapes = Map.of("x", new int[]{rows, di}, "dt", new int[]{rows, k.heads()},
                    "dtBias", new int[]{k.heads()}, "A", new int[]{k.heads()}, "B", new int[]{rows, gn}, "C", new int[]{rows, gn},
                    "D", new int[]{k.heads()});
            Map<String, Tensor> c = new LinkedHashMap<>(), g = new LinkedHashMap<>();
            for (var e : in.entrySet()) {
                c.put(e.getKey(), cpu.fromHost(e.getValue().clone(), shapes.get(e.getKey())));
                g.put(e.getKey(), gpu.fromHost(e.getValue().clone(), shapes.get(e.getKey())));
            }
            return new Operands(c, g);
        }

        static void scan(Backend be, Map<String, Tensor> o, Tensor y, Tensor state, Tensor kept, Case k) {
            be.ssdScan(y, o.get("x"), o.get("dt"), o.get("dtBias"), o.get("A"), o.get("B"), o.get("C"), o.get("D"), state, kept,
                    k.batch(), k.len(), k.shape());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.ssmtk.core.backend.cuda.SsdCases#cases")
    void scanFromAStateFromZeroAndKeepingChunkStates(Case k) {
        scanChecks(Gpu.backend(), k, "ssd", FWD);
    }

    /** The exact fp32 products (CUDA cores), which fp32 no longer runs by default, at fp32's tolerance. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.ssmtk.core.backend.cuda.SsdCases#cases")
    void exactFp32ProductsScanEqualsTheCpu(Case k) {
        scanChecks(Gpu.exactFp32(), k, "ssd exact fp32", FWD);
    }

    /** The bf16 backend's scan: its products in TF32 on tensor cores, within the bf16 precision's tolerance. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.ssmtk.core.backend.cuda.SsdCases#cases")
    void tf32ProductsScanWithinTheBf16Tolerance(Case k) {
        scanChecks(Gpu.bf16(), k, "ssd tf32", TF32_FWD);
    }

    static void scanChecks(CudaBackend gpu, Case k, String what, double fwd) {
        Operands o = Operands.of(gpu, k, SsdCases.inputs(k, 7));
        int rows = k.rows(), di = k.heads() * k.headDim();
        float[] initial = SsdCases.gauss(new SplittableRandom(3), k.batch() * k.stateSize(), 1);
        Tensor yc = cpu.allocate(rows, di), yg = gpu.fromHost(new float[rows * di], rows, di);
        Tensor sc = cpu.fromHost(initial.clone(), k.batch(), k.heads(), k.headDim(), k.state());
        Tensor sg = gpu.fromHost(initial.clone(), k.batch(), k.heads(), k.headDim(), k.state());
        Operands.scan(cpu, o.c(), yc, sc, null, k);
        Operands.scan(gpu, o.g(), yg, sg, null, k);
        close(what + " y from a state " + k, gpu.toHost(yg), cpu.toHost(yc), fwd);
        close(what + " final state " + k, gpu.toHost(sg), cpu.toHost(sc), fwd);
        Tensor kc = cpu.allocate(k.batch(), k.chunks(), k.heads(), k.headDim(), k.state());
        Tensor kg = gpu.fromHost(SsdCases.gauss(new SplittableRandom(4), (int) kc.size(), 1), kc.shape());  // every slot written
        Operands.scan(cpu, o.c(), yc, null, kc, k);
        Operands.scan(gpu, o.g(), yg, null, kg, k);
        close(what + " y from zero, training " + k, gpu.toHost(yg), cpu.toHost(yc), fwd);
        close(what + " chunk states " + k, gpu.toHost(kg), cpu.toHost(kc), fwd);
        gpu.fill(yg, Float.NaN);
        Operands.scan(gpu, o.g(), yg, null, null, k);
        close(what + " y from zero, nothing kept " + k, gpu.toHost(yg), cpu.toHost(yc), fwd);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.ssmtk.core.backend.cuda.SsdCases#cases")
    void oneTokenAtATimeThroughTheStepKernelEqualsTheCpu(Case k) {
        CudaBackend gpu = Gpu.backend();
        Map<String, float[]> in = SsdCases.inputs(k, 11);
        Operands o = Operands.of(gpu, k, in);
        int rows = k.rows(), di = k.heads() * k.headDim(), gn = k.groups() * k.state();
        Tensor yc = cpu.allocate(rows, di), sc = cpu.allocate(k.batch(), k.heads(), k.headDim(), k.state());
        Operands.scan(cpu, o.c(), yc, sc, null, k);
        float[] whole = cpu.toHost(yc), stepped = new float[whole.length];
        Tensor sg = gpu.allocate(k.batch(), k.heads(), k.headDim(), k.state()), yg = gpu.allocate(k.batch(), di);
        for (int pos = 0; pos < k.len(); pos++) {
            int at = pos;
            java.util.function.BiFunction<String, Integer, Tensor> row = (name, width) ->
                    gpu.fromHost(SsdCases.position(in.get(name), k.batch(), k.len(), at), k.batch(), width);
            gpu.ssdScan(yg, row.apply("x", di), row.apply("dt", k.heads()), o.g().get("dtBias"), o.g().get("A"), row.apply("B", gn),
                    row.apply("C", gn), o.g().get("D"), sg, null, k.batch(), 1, k.shape());
            float[] y = gpu.toHost(yg);
            for (int s = 0; s < k.batch(); s++) System.arraycopy(y, s * di, stepped, (s * k.len() + pos) * di, di);
        }
        close("ssd steps vs full forward " + k, stepped, whole, FWD);
        close("ssd state after the steps " + k, gpu.toHost(sg), cpu.toHost(sc), FWD);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.ssmtk.core.backend.cuda.SsdCases#cases")
    void backwardEqualsTheCpuAndAccumulates(Case k) {
        backwardChecks(Gpu.backend(), k, "ssd", GRAD);
    }

    /** The bf16 backend's backward: TF32 products, within the bf16 precision's tolerance. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("org.ssmtk.core.backend.cuda.SsdCases#cases")
    void tf32ProductsBackwardWithinTheBf16Tolerance(Case k) {
        backwardChecks(Gpu.bf16(), k, "ssd tf32", TF32_GRAD);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("org.ssmtk.core.backend.cuda.SsdCases#cases")
    void exactFp32ProductsBackwardEqualsTheCpu(Case k) {
        backwardChecks(Gpu.exactFp32(), k, "ssd exact fp32", GRAD);
    }

    static void backwardChecks(CudaBackend gpu, Case k, String what, double grad) {
        Map<String, float[]> in = SsdCases.inputs(k, 5);
        Operands o = Operands.of(gpu, k, in);
        int rows = k.rows(), di = k.heads() * k.headDim(), gn = k.groups() * k.state();
        float[] dy = SsdCases.gauss(new SplittableRandom(9), rows * di, 1);
        Tensor kc = cpu.allocate(k.batch(), k.chunks(), k.heads(), k.headDim(), k.state());
        Tensor kg = gpu.allocate(k.batch(), k.chunks(), k.heads(), k.headDim(), k.state());
        Operands.scan(cpu, o.c(), cpu.allocate(rows, di), null, kc, k);
        Operands.scan(gpu, o.g(), gpu.allocate(rows, di), null, kg, k);
        SplittableRandom r = new SplittableRandom(13);
        Map<String, Tensor> gc = new LinkedHashMap<>(), gg = new LinkedHashMap<>();
        Map<String, float[]> starts = new LinkedHashMap<>();
        for (var e : o.c().entrySet()) {
            float[] start = SsdCases.gauss(r, (int) e.getValue().size(), 1);
            starts.put(e.getKey(), start);
            gc.put(e.getKey(), cpu.fromHost(start.clone(), e.getValue().shape()));
            gg.put(e.getKey(), gpu.fromHost(start.clone(), e.getValue().shape()));
        }
        for (Backend be : new Backend[]{cpu, gpu}) {
            Map<String, Tensor> g = be == cpu ? gc : gg, x = be == cpu ? o.c() : o.g();
            Tensor kept = be == cpu ? kc : kg;
            be.ssdScanBackward(g.get("x"), g.get("dt"), g.get("dtBias"), g.get("A"), g.get("B"), g.get("C"), g.get("D"),
                    be.fromHost(dy.clone(), rows, di), x.get("x"), x.get("dt"), x.get("dtBias"), x.get("A"), x.get("B"), x.get("C"),
                    x.get("D"), kept, k.batch(), k.len(), k.shape());
        }
        // the gradients added, compared without the random values they were added to
        for (String name : gc.keySet())
            close(what + " backward d" + name + " " + k, added(gpu.toHost(gg.get(name)), starts.get(name)),
                    added(cpu.toHost(gc.get(name)), starts.get(name)), grad);
    }

    @ParameterizedTest(name = "rows={0} width={1} group={2}")
    @CsvSource({"1,4,4", "37,64,64", "5,48,16", "3,1024,256", "130,1536,1536"})
    void gatedNormAndItsBackward(int rows, int width, int gs) {
        CudaBackend gpu = Gpu.backend();
        SplittableRandom r = new SplittableRandom(rows * 31L + width);
        float[] x = SsdCases.gauss(r, rows * width, 1), z = SsdCases.gauss(r, rows * width, 2), w = SsdCases.gauss(r, width, 1);
        float[] dOut = SsdCases.gauss(r, rows * width, 1), dx0 = SsdCases.gauss(r, rows * width, 1);
        float[] dz0 = SsdCases.gauss(r, rows * width, 1), dw0 = SsdCases.gauss(r, width, 1);
        String s = rows + "x" + width + " groups of " + gs;
        Tensor oc = cpu.allocate(rows, width), og = gpu.allocate(rows, width);
        cpu.gatedRmsNorm(oc, cpu.fromHost(x, rows, width), cpu.fromHost(z, rows, width), cpu.fromHost(w, width), gs, 1e-5f);
        gpu.gatedRmsNorm(og, gpu.fromHost(x, rows, width), gpu.fromHost(z, rows, width), gpu.fromHost(w, width), gs, 1e-5f);
        close("gated norm " + s, gpu.toHost(og), cpu.toHost(oc), FWD);
        Tensor[] c = {cpu.fromHost(dx0.clone(), rows, width), cpu.fromHost(dz0.clone(), rows, width), cpu.fromHost(dw0.clone(), width)};
        Tensor[] g = {gpu.fromHost(dx0.clone(), rows, width), gpu.fromHost(dz0.clone(), rows, width), gpu.fromHost(dw0.clone(), width)};
        cpu.gatedRmsNormBackward(c[0], c[1], c[2], cpu.fromHost(dOut, rows, width), cpu.fromHost(x, rows, width),
                cpu.fromHost(z, rows, width), cpu.fromHost(w, width), gs, 1e-5f);
        gpu.gatedRmsNormBackward(g[0], g[1], g[2], gpu.fromHost(dOut, rows, width), gpu.fromHost(x, rows, width),
                gpu.fromHost(z, rows, width), gpu.fromHost(w, width), gs, 1e-5f);
        String[] names = {"dx", "dz", "dweight"};
        float[][] starts = {dx0, dz0, dw0};
        for (int i = 0; i < 3; i++)
            close("gated norm " + names[i] + " " + s, added(gpu.toHost(g[i]), starts[i]), added(cpu.toHost(c[i]), starts[i]), GRAD);
    }

    /** total - start: what an accumulating gradient added. */
    static float[] added(float[] total, float[] start) {
        assertEquals(start.length, total.length);
        float[] d = new float[total.length];
        for (int i = 0; i < d.length; i++) d[i] = total[i] - start[i];
        return d;
    }

    @Test
    void aChunkTooLongForSharedMemoryIsRefusedInOneLine() {
        CudaBackend gpu = Gpu.backend();
        Case k = new Case(1, 8, 1, 4, 1, 16, 8192, 0f, Float.POSITIVE_INFINITY);
        Operands o = Operands.of(gpu, k, SsdCases.inputs(k, 1));
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Operands.scan(gpu, o.g(), gpu.allocate(8, 4), null, null, k));
        assertTrue(e.getMessage().startsWith("cuda SSD scan: chunk_size 8192 needs"), e.getMessage());
        assertEquals(1, e.getMessage().lines().count());
    }
}
