package org.ssmtk.core.backend.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.tensor.Tensor;

import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssmtk.core.backend.cuda.Gpu.close;

/**
 * Every cuda kernel against the CPU backend on fresh random inputs: forward within 1e-5 relative
 * error, gradients within 1e-4. Gradient outputs start from random values, not zeros, so that
 * accumulation (+=) and every written element are checked. Skips where no GPU works.
 */
@ExtendWith(Seeds.class)
class CudaKernelsTest {
    static final double FWD = 1e-5, GRAD = 1e-4;
    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = new CpuBackend(2);
    }

    @AfterAll
    static void closeCpu() {
        cpu.close();
    }

    static float[] random(int n) {
        SplittableRandom r = new SplittableRandom(Seeds.next());
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** The same values on both backends. */
    record Pair(Tensor c, Tensor g) {
        static Pair of(CudaBackend gpu, float[] v, int... shape) {
            return new Pair(cpu.fromHost(v, shape), gpu.fromHost(v, shape));
        }

        static Pair random(CudaBackend gpu, int... shape) {
            return of(gpu, CudaKernelsTest.random(Math.toIntExact(Arrays.stream(shape).asLongStream().reduce(1, (a, b) -> a * b))), shape);
        }

        void check(CudaBackend gpu, String what, double tol) {
            close(what, gpu.toHost(g), cpu.toHost(c), tol);
        }
    }

    static Pair maybe(boolean present, Pair p) {
        return present ? p : null;
    }

    static Tensor c(Pair p) {
        return p == null ? null : p.c();
    }

    static Tensor g(Pair p) {
        return p == null ? null : p.g();
    }

    /**
     * The reverse.cu kernel against the CPU's reverseSequences, exactly (it moves values): sequences
     * of one row, odd lengths and widths, and row views at an offset into larger tensors (the two
     * strands' halves of one buffer, as Caduceus-PS passes them); every output element is written
     * (the output starts random) and an output overlapping its input is refused.
     */
    @ParameterizedTest(name = "batch={0} len={1} n={2} reverseColumns={3}")
    @CsvSource({"1,1,1,false", "1,1,7,true", "3,37,24,true", "3,37,24,false", "2,1000,48,true", "5,129,1,false", "1,4099,96,true"})
    void reverseSequencesMovesWhatTheCpuMoves(int batch, int len, int n, boolean reverseColumns) {
        CudaBackend gpu = Gpu.backend();
        int rows = batch * len;
        Pair in = Pair.random(gpu, 2 * rows + 3, n), out = Pair.random(gpu, 2 * rows + 1, n);
        cpu.reverseSequences(out.c().rows(1, rows + 1), in.c().rows(rows + 3, 2 * rows + 3), batch, len, reverseColumns);
        gpu.reverseSequences(out.g().rows(1, rows + 1), in.g().rows(rows + 3, 2 * rows + 3), batch, len, reverseColumns);
        out.check(gpu, "reverseSequences " + batch + "x" + len + "x" + n + (reverseColumns ? " columns too" : ""), 1e-12);
        float[] cpuOut = cpu.toHost(out.c()), gpuOut = gpu.toHost(out.g());
        org.junit.jupiter.api.Assertions.assertArrayEquals(cpuOut, gpuOut, "the same values, bit for bit");
        assertThrows(IllegalArgumentException.class, () -> gpu.reverseSequences(in.g().rows(0, rows), in.g().rows(0, rows), batch, len, true));
    }

    @ParameterizedTest(name = "M={0} N={1} K={2} bias={3}")
    @CsvSource({"1,1,1,true", "2,5,9,false", "97,67,33,true", "200,130,64,true", "4,300,768,false", "257,1536,48,true"})
    void linearAndItsBackward(int m, int n, int k, boolean withBias) {
        CudaBackend gpu = Gpu.backend();
        Pair x = Pair.random(gpu, m, k), big = Pair.random(gpu, n + 3, k), bias = maybe(withBias, Pair.random(gpu, n));
        // a row view of a larger weight, as the model uses for in_proj and x_proj
        Pair w = new Pair(big.c().rows(2, 2 + n), big.g().rows(2, 2 + n));
        Pair out = Pair.random(gpu, m, n);
        cpu.linear(out.c(), x.c(), w.c(), c(bias));
        gpu.linear(out.g(), x.g(), w.g(), g(bias));
        out.check(gpu, "linear " + m + "x" + n + "x" + k, FWD);
        Pair dy = Pair.random(gpu, m, n), dx = Pair.random(gpu, m, k), dw = Pair.random(gpu, n, k);
        Pair db = maybe(withBias, Pair.random(gpu, n));
        cpu.linearBackward(dx.c(), dw.c(), c(db), dy.c(), x.c(), w.c());
        gpu.linearBackward(dx.g(), dw.g(), g(db), dy.g(), x.g(), w.g());
        dx.check(gpu, "linear backward dx " + m + "x" + n + "x" + k, GRAD);
        dw.check(gpu, "linear backward dw " + m + "x" + n + "x" + k, GRAD);
        if (db != null) db.check(gpu, "linear backward dbias " + m + "x" + n + "x" + k, GRAD);
    }

    @ParameterizedTest(name = "rows={0} h={1}")
    @CsvSource({"1,1", "3,7", "64,768", "129,1000", "1000,24"})
    void elementWiseNormsAndEmbedding(int rows, int h) {
        CudaBackend gpu = Gpu.backend();
        String s = rows + "x" + h;
        Pair x = Pair.random(gpu, rows, h), y = Pair.random(gpu, rows, h), w = Pair.random(gpu, h);
        Pair out = Pair.random(gpu, rows, h);
        cpu.rmsNorm(out.c(), x.c(), w.c(), 1e-5f);
        gpu.rmsNorm(out.g(), x.g(), w.g(), 1e-5f);
        out.check(gpu, "rmsNorm " + s, FWD);
        Pair dx = Pair.random(gpu, rows, h), dw = Pair.random(gpu, h), dy = Pair.random(gpu, rows, h);
        cpu.rmsNormBackward(dx.c(), dw.c(), dy.c(), x.c(), w.c(), 1e-5f);
        gpu.rmsNormBackward(dx.g(), dw.g(), dy.g(), x.g(), w.g(), 1e-5f);
        dx.check(gpu, "rmsNorm backward dx " + s, GRAD);
        dw.check(gpu, "rmsNorm backward dweight " + s, GRAD);

        cpu.add(out.c(), x.c(), y.c());
        gpu.add(out.g(), x.g(), y.g());
        out.check(gpu, "add " + s, FWD);
        cpu.addProduct(out.c(), x.c(), y.c());
        gpu.addProduct(out.g(), x.g(), y.g());
        out.check(gpu, "addProduct " + s, FWD);
        cpu.scale(out.c(), 0.37f);
        gpu.scale(out.g(), 0.37f);
        out.check(gpu, "scale " + s, FWD);
        cpu.negExp(out.c(), x.c());
        gpu.negExp(out.g(), x.g());
        out.check(gpu, "negExp " + s, FWD);
        cpu.broadcastRows(out.c(), w.c());
        gpu.broadcastRows(out.g(), w.g());
        out.check(gpu, "broadcastRows " + s, FWD);
        cpu.addColumnSums(dw.c(), y.c());
        gpu.addColumnSums(dw.g(), y.g());
        dw.check(gpu, "addColumnSums " + s, FWD);
        cpu.copy(out.c(), x.c());
        gpu.copy(out.g(), x.g());
        out.check(gpu, "copy " + s, 1e-12);
        gpu.fill(out.g(), 2.5f);
        float[] filled = gpu.toHost(out.g());
        float[] want = new float[filled.length];
        Arrays.fill(want, 2.5f);
        close("fill " + s, filled, want, 1e-12);
        assertEquals(cpu.sumOfSquares(x.c()), gpu.sumOfSquares(x.g()), 1e-9 * cpu.sumOfSquares(x.c()), "sumOfSquares " + s);

        int[] ids = new SplittableRandom(Seeds.next()).ints(rows, 0, 17).toArray();
        Pair table = Pair.random(gpu, 17, h);
        cpu.embedding(out.c(), ids, table.c());
        gpu.embedding(out.g(), ids, table.g());
        out.check(gpu, "embedding " + s, 1e-12);
        cpu.embeddingBackward(table.c(), ids, dy.c());
        gpu.embeddingBackward(table.g(), ids, dy.g());
        table.check(gpu, "embedding backward " + s, GRAD);
        assertThrows(IllegalArgumentException.class, () -> gpu.embedding(out.g(), fill(rows, 17), table.g()));

        Pair m = Pair.random(gpu, rows, h), v = Pair.of(gpu, abs(random(rows * h)), rows, h), p = Pair.random(gpu, rows, h);
        cpu.adamW(p.c(), x.c(), m.c(), v.c(), 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.19f, 0.0975f);
        gpu.adamW(p.g(), x.g(), m.g(), v.g(), 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.19f, 0.0975f);
        p.check(gpu, "adamW param " + s, FWD);
        m.check(gpu, "adamW m " + s, FWD);
        v.check(gpu, "adamW v " + s, FWD);
    }

    /**
     * The optimizer's one-launch kernels over a list of tensors of odd sizes (one element, a few, over
     * one 8192-element chunk and over several, a row view at an offset): the norm against the CPU's
     * per-tensor sums, AdamW with a clipping factor against the CPU, bit for bit against the GPU's
     * scale-then-step-each-tensor path, the gradients left unscaled, and a second step with the same
     * tensors (the device table reused) and then with another list (the table rebuilt). AdamW's
     * arithmetic is written out without fused multiply-adds, so it matches the CPU bit for bit.
     */
    @Test
    void multiTensorNormAndAdamW() {
        CudaBackend gpu = Gpu.backend();
        int[] sizes = {1, 7, 8192, 8193, 30001, 1536 * 4, 50};
        int count = sizes.length;
        List<Pair> p = new java.util.ArrayList<>(), g = new java.util.ArrayList<>(), m = new java.util.ArrayList<>(),
                v = new java.util.ArrayList<>(), p2 = new java.util.ArrayList<>(), m2 = new java.util.ArrayList<>(),
                v2 = new java.util.ArrayList<>();
        float[] wd = new float[count];
        for (int i = 0; i < count; i++) {
            int n = sizes[i];
            float[] pv = random(n), mv = random(n), vv = abs(random(n));
            p.add(Pair.of(gpu, pv, n));
            m.add(Pair.of(gpu, mv, n));
            v.add(Pair.of(gpu, vv, n));
            p2.add(Pair.of(gpu, pv, n));
            m2.add(Pair.of(gpu, mv, n));
            v2.add(Pair.of(gpu, vv, n));
            // the last gradient is a view one row into a larger tensor
            if (i == count - 1) {
                Pair whole = Pair.random(gpu, n + 1, 1);
                g.add(new Pair(whole.c().rows(1, n + 1), whole.g().rows(1, n + 1)));
            } else {
                g.add(Pair.random(gpu, n));
            }
            wd[i] = i % 2 == 0 ? 0.1f : 0f;
        }
        List<Tensor> gc = g.stream().map(Pair::c).toList(), gg = g.stream().map(Pair::g).toList();
        double want = 0;
        for (Tensor t : gc) want += cpu.sumOfSquares(t);
        assertEquals(want, gpu.sumOfSquares(gg), 1e-12 * want, "sum of squares over " + count + " tensors");
        assertEquals(want, cpu.sumOfSquares(gc), 1e-12 * want, "the CPU's list sum");
        float[][] gradsBefore = gg.stream().map(gpu::toHost).toArray(float[][]::new);
        float clip = 0.37f;
        for (int step = 1; step <= 2; step++) {
            float bc1 = (float) (1 - Math.pow(0.9, step)), bc2 = (float) (1 - Math.pow(0.95, step));
            cpu.adamW(p.stream().map(Pair::c).toList(), gc, m.stream().map(Pair::c).toList(), v.stream().map(Pair::c).toList(),
                    wd, clip, 1e-3f, 0.9f, 0.95f, 1e-8f, bc1, bc2);
            gpu.adamW(p.stream().map(Pair::g).toList(), gg, m.stream().map(Pair::g).toList(), v.stream().map(Pair::g).toList(),
                    wd, clip, 1e-3f, 0.9f, 0.95f, 1e-8f, bc1, bc2);
            for (int i = 0; i < count; i++) {
                p.get(i).check(gpu, "multi-tensor adamW param " + sizes[i] + " step " + step, FWD);
                m.get(i).check(gpu, "multi-tensor adamW m " + sizes[i] + " step " + step, FWD);
                v.get(i).check(gpu, "multi-tensor adamW v " + sizes[i] + " step " + step, FWD);
                // every operation rounded in the CPU's order (no contraction): the same bits
                for (Pair t : List.of(p.get(i), m.get(i), v.get(i)))
                    org.junit.jupiter.api.Assertions.assertArrayEquals(cpu.toHost(t.c()), gpu.toHost(t.g()),
                            "multi-tensor adamW and the CPU's, bit for bit, tensor " + i + " step " + step);
                org.junit.jupiter.api.Assertions.assertArrayEquals(gradsBefore[i], gpu.toHost(gg.get(i)), "gradients left unscaled");
            }
            // the GPU's per-tensor path: scale a copy of the gradients, then one launch per tensor
            for (int i = 0; i < count; i++) {
                Tensor scaled = gpu.fromHost(gradsBefore[i], sizes[i]);
                gpu.scale(scaled, clip);
                gpu.adamW(p2.get(i).g(), scaled, m2.get(i).g(), v2.get(i).g(), 1e-3f, 0.9f, 0.95f, 1e-8f, wd[i], bc1, bc2);
                org.junit.jupiter.api.Assertions.assertArrayEquals(gpu.toHost(p2.get(i).g()), gpu.toHost(p.get(i).g()),
                        "multi-tensor and per-tensor AdamW, bit for bit, tensor " + i + " step " + step);
                org.junit.jupiter.api.Assertions.assertArrayEquals(gpu.toHost(v2.get(i).g()), gpu.toHost(v.get(i).g()),
                        "second moments, bit for bit, tensor " + i + " step " + step);
            }
        }
        // another list: the first three tensors only
        List<Tensor> few = gg.subList(0, 3);
        double wantFew = cpu.sumOfSquares(gc.subList(0, 3));
        assertEquals(wantFew, gpu.sumOfSquares(few), 1e-12 * wantFew, "sum of squares over a shorter list");
        assertEquals(0.0, gpu.sumOfSquares(List.of()), "no tensors");
        assertThrows(IllegalArgumentException.class, () -> gpu.adamW(List.of(p.get(0).g()), List.of(), List.of(), List.of(),
                new float[1], 1f, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, 0.05f));
    }

    /** zero(List): every element of every tensor (sizes across chunk edges, a row view) and nothing beside them. */
    @Test
    void multiTensorZero() {
        CudaBackend gpu = Gpu.backend();
        int[] sizes = {1, 8192, 8193, 30001, 7};
        Tensor whole = gpu.fromHost(random(sizes[4] + 2), sizes[4] + 2);
        float[] wholeBefore = gpu.toHost(whole);
        List<Tensor> ts = new java.util.ArrayList<>();
        for (int i = 0; i < sizes.length - 1; i++) ts.add(gpu.fromHost(random(sizes[i]), sizes[i]));
        ts.add(whole.rows(1, 1 + sizes[4]));
        for (int round = 0; round < 2; round++) { // the second reuses the device table
            gpu.zero(ts);
            for (int i = 0; i < ts.size(); i++)
                org.junit.jupiter.api.Assertions.assertArrayEquals(new float[sizes[i]], gpu.toHost(ts.get(i)), "tensor " + i + " zeroed");
            float[] w = gpu.toHost(whole);
            assertEquals(wholeBefore[0], w[0], "the element before the view is kept");
            assertEquals(wholeBefore[sizes[4] + 1], w[sizes[4] + 1], "the element after the view is kept");
            for (Tensor t : ts) gpu.fill(t, 3f);
        }
        gpu.zero(List.of());
    }

    static int[] fill(int n, int v) {
        int[] a = new int[n];
        Arrays.fill(a, v);
        return a;
    }

    static float[] abs(float[] v) {
        for (int i = 0; i < v.length; i++) v[i] = Math.abs(v[i]);
        return v;
    }

    @ParameterizedTest(name = "rows={0} vocab={1}")
    @CsvSource({"1,2", "7,50", "33,1000", "5,50280"})
    void crossEntropy(int rows, int vocab) {
        CudaBackend gpu = Gpu.backend();
        Pair logits = Pair.random(gpu, rows, vocab), dc = Pair.random(gpu, rows, vocab);
        int[] targets = new SplittableRandom(Seeds.next()).ints(rows, 0, vocab).toArray();
        if (rows > 2) targets[1] = -100;
        double lc = cpu.crossEntropy(logits.c(), targets, -100, dc.c(), 0.25f);
        double lg = gpu.crossEntropy(logits.g(), targets, -100, dc.g(), 0.25f);
        close("crossEntropy loss " + rows + "x" + vocab, new float[]{(float) lg}, new double[]{lc}, FWD);
        dc.check(gpu, "crossEntropy dlogits " + rows + "x" + vocab, GRAD);
    }

    /**
     * Per-row losses without a gradient: whole rows on the device (the cross_entropy kernel, float4
     * rows and odd ones, one unscored row), a width short of the row through the host default; the
     * CPU's rows as the reference, within float rounding of logZ.
     */
    @ParameterizedTest(name = "rows={0} vocab={1} width={2}")
    @CsvSource({"1,2,2", "7,50,50", "33,256,256", "9,256,250", "4,257,257", "5,50280,50280"})
    void crossEntropyRows(int rows, int vocab, int width) {
        CudaBackend gpu = Gpu.backend();
        Pair logits = Pair.random(gpu, rows, vocab);
        int[] targets = new SplittableRandom(Seeds.next()).ints(rows, 0, width).toArray();
        if (rows > 2) targets[1] = -1;
        double[] want = cpu.crossEntropyRows(logits.c(), width, targets), got = gpu.crossEntropyRows(logits.g(), width, targets);
        for (int r = 0; r < rows; r++) {
            String what = "crossEntropyRows " + rows + "x" + vocab + " width " + width + " row " + r;
            if (targets[r] < 0) assertTrue(Double.isNaN(got[r]), what + " is not scored");
            else assertEquals(want[r], got[r], FWD * Math.max(1, Math.abs(want[r])), what);
        }
    }

    /**
     * Shapes that reach each variant of conv1d.cu: four channels a thread (channels a multiple of 4)
     * and one (odd channels), window 4 (widths 1-4) and the widest (5-8), sequences shorter than one
     * thread's run, and sequences over several blocks' runs, whose halos cross run and block edges.
     */
    @ParameterizedTest(name = "batch={0} len={1} ch={2} width={3}")
    @CsvSource({"1,1,1,4", "2,5,3,4", "1,70,16,2", "3,9,13,4", "2,300,96,4", "1,3,8,5", "2,601,12,3", "3,2050,20,4",
            "1,1000,4,1", "2,333,7,8", "2,517,136,6", "2,129,1536,4"})
    void causalConvolution(int batch, int len, int ch, int width) {
        CudaBackend gpu = Gpu.backend();
        String s = batch + "x" + len + "x" + ch + " w" + width;
        Pair x = Pair.random(gpu, batch * len, ch), w = Pair.random(gpu, ch, width), bias = Pair.random(gpu, ch);
        Pair state = Pair.random(gpu, batch, width - 1, ch), out = Pair.random(gpu, batch * len, ch);
        cpu.causalConv1dSilu(out.c(), x.c(), w.c(), bias.c(), state.c(), batch, len);
        gpu.causalConv1dSilu(out.g(), x.g(), w.g(), bias.g(), state.g(), batch, len);
        out.check(gpu, "conv1d+silu with state " + s, FWD);
        state.check(gpu, "conv1d state update " + s, 1e-12);
        cpu.causalConv1dSilu(out.c(), x.c(), w.c(), null, null, batch, len);
        gpu.causalConv1dSilu(out.g(), x.g(), w.g(), null, null, batch, len);
        out.check(gpu, "conv1d+silu " + s, FWD);
        Pair dx = Pair.random(gpu, batch * len, ch), dw = Pair.random(gpu, ch, width), db = Pair.random(gpu, ch);
        Pair dOut = Pair.random(gpu, batch * len, ch);
        cpu.causalConv1dSiluBackward(dx.c(), dw.c(), db.c(), dOut.c(), x.c(), w.c(), bias.c(), batch, len);
        gpu.causalConv1dSiluBackward(dx.g(), dw.g(), db.g(), dOut.g(), x.g(), w.g(), bias.g(), batch, len);
        dx.check(gpu, "conv1d backward dx " + s, GRAD);
        dw.check(gpu, "conv1d backward dweight " + s, GRAD);
        db.check(gpu, "conv1d backward dbias " + s, GRAD);
    }

    /**
     * Row views at an offset of one float (not 16-byte aligned, so the one-channel variant runs
     * although the channels are a multiple of 4) against the CPU, and the weight gradient twice from
     * the same inputs: bit for bit the same (its per-block sums are added in a fixed order, no atomics).
     */
    @ParameterizedTest(name = "batch={0} len={1} ch={2} width={3}")
    @CsvSource({"2,700,64,4", "1,3001,8,4", "3,100,24,7"})
    void convolutionOnUnalignedViewsIsDeterministic(int batch, int len, int ch, int width) {
        CudaBackend gpu = Gpu.backend();
        String s = batch + "x" + len + "x" + ch + " w" + width + " unaligned";
        int n = batch * len * ch;
        Pair x = shifted(gpu, n, batch * len, ch), dOut = shifted(gpu, n, batch * len, ch), out = shifted(gpu, n, batch * len, ch);
        Pair w = Pair.random(gpu, ch, width), bias = Pair.random(gpu, ch);
        cpu.causalConv1dSilu(out.c(), x.c(), w.c(), bias.c(), null, batch, len);
        gpu.causalConv1dSilu(out.g(), x.g(), w.g(), bias.g(), null, batch, len);
        out.check(gpu, "conv1d+silu " + s, FWD);
        float[] dx0 = random(n), dw0 = random(ch * width), db0 = random(ch);
        float[][] runs = new float[2][];
        for (int run = 0; run < 2; run++) {
            Pair dx = shifted(gpu, dx0, batch * len, ch), dw = Pair.of(gpu, dw0, ch, width), db = Pair.of(gpu, db0, ch);
            if (run == 0) cpu.causalConv1dSiluBackward(dx.c(), dw.c(), db.c(), dOut.c(), x.c(), w.c(), bias.c(), batch, len);
            gpu.causalConv1dSiluBackward(dx.g(), dw.g(), db.g(), dOut.g(), x.g(), w.g(), bias.g(), batch, len);
            if (run == 0) {
                dx.check(gpu, "conv1d backward dx " + s, GRAD);
                dw.check(gpu, "conv1d backward dweight " + s, GRAD);
                db.check(gpu, "conv1d backward dbias " + s, GRAD);
            }
            float[] dwg = gpu.toHost(dw.g()), dbg = gpu.toHost(db.g());
            runs[run] = Arrays.copyOf(dwg, dwg.length + dbg.length);
            System.arraycopy(dbg, 0, runs[run], dwg.length, dbg.length);
        }
        org.junit.jupiter.api.Assertions.assertArrayEquals(runs[0], runs[1], "conv1d weight gradient, two runs, bit for bit " + s);
    }

    /** rows x cols values starting one float into a larger buffer, on both backends. */
    static Pair shifted(CudaBackend gpu, int n, int rows, int cols) {
        return shifted(gpu, random(n), rows, cols);
    }

    static Pair shifted(CudaBackend gpu, float[] v, int rows, int cols) {
        float[] padded = new float[v.length + 1];
        System.arraycopy(v, 0, padded, 1, v.length);
        Pair p = Pair.of(gpu, padded, padded.length);
        return new Pair(p.c().rows(1, padded.length).reshape(rows, cols), p.g().rows(1, padded.length).reshape(rows, cols));
    }

    /** Scan operands; A negative like -exp(A_log), delta around the model's range. */
    record Scan(int batch, int len, int ch, int n, boolean opt, Pair u, Pair delta, Pair bias, Pair a, Pair b, Pair c,
                Pair d, Pair z) {
        static Scan random(CudaBackend gpu, int batch, int len, int ch, int n, boolean opt) {
            int rows = batch * len;
            float[] a = CudaKernelsTest.random(ch * n);
            for (int i = 0; i < a.length; i++) a[i] = -(float) Math.exp(0.5 * a[i]);
            float[] delta = CudaKernelsTest.random(rows * ch);
            for (int i = 0; i < delta.length; i++) delta[i] = delta[i] * 0.5f - 1f;
            return new Scan(batch, len, ch, n, opt, Pair.random(gpu, rows, ch), Pair.of(gpu, delta, rows, ch),
                    maybe(opt, Pair.random(gpu, ch)), Pair.of(gpu, a, ch, n), Pair.random(gpu, rows, n),
                    Pair.random(gpu, rows, n), maybe(opt, Pair.random(gpu, ch)), maybe(opt, Pair.random(gpu, rows, ch)));
        }

        void run(Backend be, boolean onCpu, Tensor y, Tensor state) {
            java.util.function.Function<Pair, Tensor> s = onCpu ? CudaKernelsTest::c : CudaKernelsTest::g;
            be.selectiveScan(y, s.apply(u), s.apply(delta), s.apply(bias), s.apply(a), s.apply(b), s.apply(c),
                    s.apply(d), s.apply(z), state, batch, len);
        }

        String name() {
            return "b" + batch + " L" + len + " d" + ch + " n" + n + (opt ? " +bias,D,z" : "");
        }
    }

    @ParameterizedTest(name = "batch={0} len={1} ch={2} state={3} bias/D/z={4}")
    @CsvSource({"1,1,1,1,true", "2,5,3,4,true", "1,70,16,16,true", "3,9,13,7,false", "2,33,24,5,true",
            "2,200,130,16,true", "1,129,300,8,false", "3,1,64,16,true", "1,1000,40,12,true", "2,64,129,16,true",
            "2,200,96,16,true", "1,130,32,8,false"})
    void selectiveScanForwardBackward(int batch, int len, int ch, int n, boolean opt) {
        CudaBackend gpu = Gpu.backend();
        Scan s = Scan.random(gpu, batch, len, ch, n, opt);
        int rows = batch * len;
        assertEquals(cpu.scanChunk(), gpu.scanChunk());
        int chunks = (len + gpu.scanChunk() - 1) / gpu.scanChunk();
        Pair y = Pair.random(gpu, rows, ch), kept = Pair.random(gpu, batch, chunks, ch, n);
        // both forward kernels (AUTO picks by shape: these small shapes would always take the chunked one)
        for (CudaScan.Forward path : List.of(CudaScan.Forward.ONE_PASS, CudaScan.Forward.CHUNKED)) {
            String name = s.name() + " " + path;
            gpu.scan().forward(path);
            try {
                // inference, carrying a state in and out
                Pair state = Pair.random(gpu, batch, ch, n);
                s.run(cpu, true, y.c(), state.c());
                s.run(gpu, false, y.g(), state.g());
                y.check(gpu, "scan y " + name, FWD);
                state.check(gpu, "scan final state " + name, FWD);
                // and without a state
                s.run(cpu, true, y.c(), null);
                s.run(gpu, false, y.g(), null);
                y.check(gpu, "scan y, zero state " + name, FWD);
                // training: outputs and the kept chunk states (both backends keep one per 64 steps)
                cpu.selectiveScanTraining(y.c(), s.u().c(), s.delta().c(), c(s.bias()), s.a().c(), s.b().c(), s.c().c(),
                        c(s.d()), c(s.z()), kept.c(), batch, len);
                gpu.selectiveScanTraining(y.g(), s.u().g(), s.delta().g(), g(s.bias()), s.a().g(), s.b().g(), s.c().g(),
                        g(s.d()), g(s.z()), kept.g(), batch, len);
                y.check(gpu, "scan training y " + name, FWD);
                kept.check(gpu, "scan training chunk states " + name, FWD);
            } finally {
                gpu.scan().forward(CudaScan.Forward.AUTO);
            }
        }

        Pair dOut = Pair.random(gpu, rows, ch);
        Pair du = Pair.random(gpu, rows, ch), dDelta = Pair.random(gpu, rows, ch), dA = Pair.random(gpu, ch, n);
        Pair dB = Pair.random(gpu, rows, n), dC = Pair.random(gpu, rows, n);
        Pair dBias = maybe(opt, Pair.random(gpu, ch)), dD = maybe(opt, Pair.random(gpu, ch)), dz = maybe(opt, Pair.random(gpu, rows, ch));
        cpu.selectiveScanBackward(du.c(), dDelta.c(), c(dBias), dA.c(), dB.c(), dC.c(), c(dD), c(dz), dOut.c(),
                s.u().c(), s.delta().c(), c(s.bias()), s.a().c(), s.b().c(), s.c().c(), c(s.d()), c(s.z()), kept.c(), batch, len);
        gpu.selectiveScanBackward(du.g(), dDelta.g(), g(dBias), dA.g(), dB.g(), dC.g(), g(dD), g(dz), dOut.g(),
                s.u().g(), s.delta().g(), g(s.bias()), s.a().g(), s.b().g(), s.c().g(), g(s.d()), g(s.z()), kept.g(), batch, len);
        du.check(gpu, "scan backward du " + s.name(), GRAD);
        dDelta.check(gpu, "scan backward ddelta " + s.name(), GRAD);
        dA.check(gpu, "scan backward dA " + s.name(), GRAD);
        dB.check(gpu, "scan backward dB " + s.name(), GRAD);
        dC.check(gpu, "scan backward dC " + s.name(), GRAD);
        if (opt) {
            dBias.check(gpu, "scan backward ddelta_bias " + s.name(), GRAD);
            dD.check(gpu, "scan backward dD " + s.name(), GRAD);
            dz.check(gpu, "scan backward dz " + s.name(), GRAD);
        }
    }

    @Test
    void aScanSplitInTwoCallsContinuesTheState() {
        CudaBackend gpu = Gpu.backend();
        int batch = 2, len = 150, ch = 70, n = 16, first = 83;
        Scan s = Scan.random(gpu, batch, len, ch, n, true);
        Tensor whole = gpu.allocate(batch * len, ch), state = gpu.allocate(batch, ch, n);
        s.run(gpu, false, whole, state);
        float[] want = gpu.toHost(whole);
        // the same sequences fed as [0, first) then [first, len): rows regrouped per call
        float[] got = new float[want.length];
        Tensor st = gpu.allocate(batch, ch, n);
        int[][] parts = {{0, first}, {first, len}};
        for (int[] p : parts) {
            int l = p[1] - p[0];
            Scan part = new Scan(batch, l, ch, n, true, slice(gpu, s.u(), batch, len, p), slice(gpu, s.delta(), batch, len, p),
                    s.bias(), s.a(), slice(gpu, s.b(), batch, len, p), slice(gpu, s.c(), batch, len, p), s.d(),
                    slice(gpu, s.z(), batch, len, p));
            Tensor y = gpu.allocate(batch * l, ch);
            part.run(gpu, false, y, st);
            float[] yh = gpu.toHost(y);
            for (int b = 0; b < batch; b++)
                System.arraycopy(yh, b * l * ch, got, (b * len + p[0]) * ch, l * ch);
        }
        close("scan in two calls vs one", got, want, FWD);
        close("scan state after two calls", gpu.toHost(st), gpu.toHost(state), FWD);
    }

    static Pair slice(CudaBackend gpu, Pair full, int batch, int len, int[] range) {
        float[] all = cpu.toHost(full.c());
        int w = full.c().cols(), l = range[1] - range[0];
        float[] out = new float[batch * l * w];
        for (int b = 0; b < batch; b++) System.arraycopy(all, (b * len + range[0]) * w, out, b * l * w, l * w);
        return Pair.of(gpu, out, batch * l, w);
    }

    @Test
    void aStateOverSixteenIsRefusedWithAReason() {
        CudaBackend gpu = Gpu.backend();
        Tensor x = gpu.allocate(4, 3), a = gpu.allocate(3, 17), bc = gpu.allocate(4, 17);
        var e = assertThrows(IllegalArgumentException.class,
                () -> gpu.selectiveScan(x, x, x, null, a, bc, bc, null, null, null, 1, 4));
        System.out.println("refused: " + e.getMessage());
    }

    /**
     * Device sampling against the CPU's (the host rule): greedy with planted ties and top-k with
     * temperature, over a padded vocabulary as wide as the 130M model's, the same draws on both.
     */
    @Test
    void sampleOnTheDevicePicksTheHostsTokens() {
        CudaBackend gpu = Gpu.backend();
        int rows = 64, cols = 50288, vocab = 50280;
        float[] l = random(rows * cols);
        SplittableRandom r = new SplittableRandom(Seeds.next());
        for (int row = 0; row < rows; row += 3) { // ties: the first index of the largest must win
            int a = r.nextInt(vocab / 2), b = a + 1 + r.nextInt(vocab / 2 - 1);
            l[row * cols + a] = l[row * cols + b] = 9f;
        }
        for (int row = 1; row < rows; row += 5) l[row * cols + vocab + 2] = 99f; // padding is never a candidate
        Tensor c = cpu.fromHost(l, rows, cols), g = gpu.fromHost(l, rows, cols);
        assertEquals(Arrays.toString(cpu.sample(c, vocab, 0, 0, null)), Arrays.toString(gpu.sample(g, vocab, 0, 0, null)), "greedy");
        for (double temperature : new double[]{0.6, 1.0})
            for (int topK : new int[]{0, 1, 40, 1000}) {
                double[] u = new double[rows];
                for (int i = 0; i < rows; i++) u[i] = r.nextDouble();
                assertEquals(Arrays.toString(cpu.sample(c, vocab, temperature, topK, u)),
                        Arrays.toString(gpu.sample(g, vocab, temperature, topK, u)), "T " + temperature + " top-k " + topK);
            }
    }
}
