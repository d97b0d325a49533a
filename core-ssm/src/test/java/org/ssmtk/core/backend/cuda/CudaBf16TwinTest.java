package org.ssmtk.core.backend.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.tensor.Tensor;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.BiConsumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The bf16 twins (DeviceMemory.bf16Twin): under --precision bf16 a product reads its operands'
 * values rounded once per write of their storage, not once per call. A twin converted before a
 * write must never be read after it, whichever way the write came: each case below makes a twin,
 * writes the operand without reading it back (a read back would itself refresh the twin), and
 * checks the next product against the same product on fresh tensors of the operand's new values.
 */
@ExtendWith(Seeds.class)
class CudaBf16TwinTest {
    static final int M = 37, N = 24, K = 64;

    static float[] random(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    /** out of linear on fresh copies of x's and w's present values (fresh storages: fresh twins). */
    private static float[] fresh(CudaBackend gpu, Tensor x, Tensor w) {
        Tensor xf = gpu.fromHost(gpu.toHost(x), x.shape()), wf = gpu.fromHost(gpu.toHost(w), w.shape());
        Tensor out = gpu.allocate(x.rows2d(), w.dim(0));
        gpu.linear(out, xf, wf, null);
        return gpu.toHost(out);
    }

    /**
     * A product (the twins are made), write(x or w storage) by one path, the product again: it must
     * equal the product on fresh copies and differ from the first (the write changed the operand).
     */
    private static void check(String how, boolean weight, BiConsumer<CudaBackend, Tensor> write) {
        CudaBackend gpu = Gpu.bf16();
        long seed = Seeds.next();
        // w is a row view of a larger storage, as in_proj's halves are
        Tensor big = gpu.fromHost(random((N + 5) * K, seed), N + 5, K), w = big.rows(2, 2 + N);
        Tensor x = gpu.fromHost(random(M * K, seed + 1), M, K);
        Tensor out = gpu.allocate(M, N);
        gpu.linear(out, x, w, null);
        gpu.linear(out, x, w, null); // twins now exist and are current
        float[] before = gpu.toHost(out);
        write.accept(gpu, weight ? w : x);
        gpu.linear(out, x, w, null);
        float[] after = gpu.toHost(out);
        assertArrayEquals(fresh(gpu, x, w), after, 0f, how + ": the product after the write must read the new values");
        assertFalse(java.util.Arrays.equals(before, after), how + ": the write should have changed the product");
    }

    @Test
    void copyFillAndKernelWritesReachTheNextProduct() {
        for (boolean weight : new boolean[]{true, false}) {
            String what = weight ? "weight " : "input ";
            check(what + "copy", weight, (g, t) -> g.copy(t, g.fromHost(random((int) t.size(), 99), t.shape())));
            check(what + "fill", weight, (g, t) -> g.fill(t, 0.25f));
            check(what + "scale", weight, (g, t) -> g.scale(t, -3f));
            check(what + "add", weight, (g, t) -> g.add(t, t, g.fromHost(random((int) t.size(), 98), t.shape())));
            // through another view of the same storage: the twin is the storage's
            check(what + "copy through a view", weight, (g, t) -> g.copy(new Tensor(t.storage(), t.offset(), t.shape()),
                    g.fromHost(random((int) t.size(), 97), t.shape())));
            // a product that writes the operand's storage
            check(what + "product into it", weight, (g, t) -> {
                Tensor wk = g.fromHost(random(t.cols() * t.cols(), 96), t.cols(), t.cols());
                Tensor tmp = g.allocate(t.shape());
                g.copy(tmp, t);
                g.linear(t, tmp, wk, null);
            });
        }
    }

    @Test
    void anOptimizerStepReachesTheNextProduct() {
        check("adamW", true, (g, t) -> {
            Tensor grad = g.fromHost(random((int) t.size(), 95), t.shape());
            g.adamW(t, grad, g.allocate(t.shape()), g.allocate(t.shape()), 0.5f, 0.9f, 0.999f, 1e-8f, 0f, 0.1f, 0.001f);
        });
        // the multi-tensor step, twice with the same table (the second uploads nothing)
        CudaBackend gpu = Gpu.bf16();
        Tensor grad = gpu.fromHost(random(N * K, 94), N, K), m = gpu.allocate(N, K), v = gpu.allocate(N, K);
        for (int step = 0; step < 2; step++)
            check("adamW multi " + step, true, (g, t) -> g.adamW(List.of(t), List.of(grad), List.of(m), List.of(v),
                    new float[]{0.01f}, 1f, 0.5f, 0.9f, 0.999f, 1e-8f, 0.1f, 0.001f));
    }

    @Test
    void aReplayedGraphReachesTheNextProduct() {
        CudaBackend gpu = Gpu.bf16();
        for (boolean weight : new boolean[]{true, false}) {
            Tensor big = gpu.fromHost(random((N + 5) * K, Seeds.next()), N + 5, K), w = big.rows(2, 2 + N);
            Tensor x = gpu.fromHost(random(M * K, Seeds.next()), M, K), out = gpu.allocate(M, N);
            Tensor written = weight ? w : x;
            // recorded before the twins exist: its runs write without taking the address again
            Backend.Replay replay = gpu.record(() -> gpu.scale(written, 1.5f));
            if (replay == null) return; // graphs off (-Dssmtk.cuda.graphs=false): nothing is replayed
            try (replay) {
                gpu.linear(out, x, w, null); // twins made, current
                float[] before = gpu.toHost(out);
                replay.run();
                gpu.linear(out, x, w, null);
                float[] after = gpu.toHost(out);
                String how = (weight ? "weight" : "input") + " written by a replay";
                assertArrayEquals(fresh(gpu, x, w), after, 0f, how + ": the product after it must read the new values");
                assertFalse(java.util.Arrays.equals(before, after), how + ": the replay should have changed the product");
            }
        }
    }

    /** f32_to_bf16 launches that work makes. */
    private static int roundings(CudaBackend gpu, Runnable work) {
        gpu.kernelTimes(1);
        gpu.timeKernels(true);
        work.run();
        gpu.timeKernels(false);
        for (String line : gpu.kernelTimes(1))
            if (line.startsWith("f32_to_bf16 ")) return (int) Double.parseDouble(line.substring(60).trim().split("\\s+")[1]);
        return 0;
    }

    @Test
    void eachOperandIsRoundedOncePerWrite() {
        CudaBackend gpu = Gpu.bf16();
        Tensor in = gpu.fromHost(random((2 * N) * K, 93), 2 * N, K), x = gpu.fromHost(random(M * K, 92), M, K);
        Tensor a = gpu.allocate(M, N), b = gpu.allocate(M, N);
        // in_proj's two halves read x and one weight storage: two roundings, not four
        assertEquals(2, roundings(gpu, () -> {
            gpu.linear(a, x, in.rows(0, N), null);
            gpu.linear(b, x, in.rows(N, 2 * N), null);
        }), "x and the weight storage, once each");
    }

    /**
     * The kernels that write a tensor whose storage products read also write its bf16 values: the
     * next product rounds nothing and reads what a rounding pass would have made, for every such
     * producer (both of the conv's thread layouts: channels a multiple of 4 and not); the chunked
     * scan writes no twin, and its y is rounded by the product.
     */
    @Test
    void producersWriteTheValuesTheNextProductReads() {
        CudaBackend gpu = Gpu.bf16();
        for (int ch : new int[]{64, 30}) {
            int batch = 2, len = 19, rows = batch * len;
            Tensor w = gpu.fromHost(random(N * ch, 91), N, ch), o = gpu.allocate(rows, N);
            Tensor x = gpu.fromHost(random(rows * ch, 90), rows, ch), dy = gpu.fromHost(random(rows * ch, 89), rows, ch);
            Tensor convW = gpu.fromHost(random(ch * 4, 88), ch, 4), convB = gpu.fromHost(random(ch, 87), ch);
            Tensor normW = gpu.fromHost(random(ch, 86), ch);
            Tensor out = gpu.allocate(rows, ch);
            record Producer(String name, int roundings, Runnable write) {}
            Producer[] producers = {
                    new Producer("rmsNorm", 0, () -> gpu.rmsNorm(out, x, normW, 1e-5f)),
                    new Producer("rmsNormBackward", 0, () -> gpu.rmsNormBackward(out, gpu.allocate(ch), dy, x, normW, 1e-5f)),
                    new Producer("causalConv1dSilu", 0, () -> gpu.causalConv1dSilu(out, x, convW, convB, null, batch, len)),
                    new Producer("causalConv1dSiluBackward", 0, () -> gpu.causalConv1dSiluBackward(out, gpu.allocate(ch, 4),
                            gpu.allocate(ch), dy, x, convW, convB, batch, len)),
                    new Producer("selectiveScanTraining (one pass)", 0, () -> scan(gpu, CudaScan.Forward.ONE_PASS, out, x, dy, batch, len)),
                    new Producer("selectiveScanTraining (chunked)", 1, () -> scan(gpu, CudaScan.Forward.CHUNKED, out, x, dy, batch, len)),
                    new Producer("crossEntropy", 0, () -> {
                        int[] targets = new int[rows];
                        for (int r = 0; r < rows; r++) targets[r] = r % 3 == 0 ? -100 : (r * 7) % ch;
                        gpu.crossEntropy(gpu.fromHost(random(rows * ch, 85), rows, ch), targets, -100, out, 0.5f);
                    })};
            for (Producer p : producers) {
                gpu.fill(out, 0.5f);
                gpu.linear(o, out, w, null); // out's storage and w have twins from here on
                int made = roundings(gpu, () -> {
                    p.write().run();
                    gpu.linear(o, out, w, null);
                });
                String how = p.name() + " with " + ch + " channels";
                assertEquals(p.roundings(), made, how + ": the product should round only what its producer did not write");
                assertArrayEquals(fresh(gpu, out, w), gpu.toHost(o), 0f, how + ": the product must read the new values");
            }
        }
    }

    /** Launches of the named kernel that work makes. */
    private static int launches(CudaBackend gpu, String name, Runnable work) {
        gpu.kernelTimes(1);
        gpu.timeKernels(true);
        work.run();
        gpu.timeKernels(false);
        for (String line : gpu.kernelTimes(1))
            if (line.startsWith(name + " ")) return (int) Double.parseDouble(line.substring(60).trim().split("\\s+")[1]);
        return 0;
    }

    /** The training scan into y on inputs made from u and z, by the given forward path (the one pass writes y's twin). */
    private static void scan(CudaBackend gpu, CudaScan.Forward path, Tensor y, Tensor u, Tensor z, int batch, int len) {
        int ch = u.cols(), n = 16;
        float[] av = random(ch * n, 61);
        for (int i = 0; i < av.length; i++) av[i] = -Math.abs(av[i]) - 0.1f;
        Tensor states = gpu.allocate(batch, gpu.scan().chunks(len), ch, n);
        gpu.scan().forward(path);
        try {
            gpu.selectiveScanTraining(y, u, z, gpu.fromHost(random(ch, 60), ch), gpu.fromHost(av, ch, n),
                    gpu.fromHost(random(u.rows2d() * n, 59), u.rows2d(), n), gpu.fromHost(random(u.rows2d() * n, 58), u.rows2d(), n),
                    gpu.fromHost(random(ch, 57), ch), z, states, batch, len);
        } finally {
            gpu.scan().forward(CudaScan.Forward.AUTO);
        }
    }

    /**
     * fill(t, 0) of a whole storage is deferred under bf16: whatever comes next must see zeros (a
     * read back, an accumulating kernel, a view, a copy, a recording), and the first writers that
     * overwrite (a product's dx and dW, the conv's backward dx) must give what adding to zeros
     * gives, without the memset.
     */
    @Test
    void aDeferredZeroFillIsZeroToEveryReader() {
        CudaBackend gpu = Gpu.bf16();
        int batch = 2, len = 21, rows = batch * len, ch = 32;
        Tensor t = gpu.fromHost(random(rows * ch, 80), rows, ch);
        gpu.fill(t, 0f);
        assertArrayEquals(new float[rows * ch], gpu.toHost(t), 0f, "read back");
        Tensor other = gpu.fromHost(random(rows * ch, 79), rows, ch);
        for (String how : new String[]{"add", "view", "copy", "scale", "record"}) {
            gpu.fill(t, 7f);
            gpu.fill(t, 0f);
            float[] want = new float[rows * ch];
            switch (how) {
                case "add" -> {
                    gpu.add(t, t, other);
                    want = gpu.toHost(other);
                }
                case "view" -> {
                    gpu.add(t.rows(1, 2), t.rows(1, 2), other.rows(1, 2));
                    System.arraycopy(gpu.toHost(other), ch, want, ch, ch);
                }
                case "copy" -> {
                    Tensor sink = gpu.fromHost(random(rows * ch, 78), rows, ch);
                    gpu.copy(sink, t);
                    assertArrayEquals(new float[rows * ch], gpu.toHost(sink), 0f, "copied from a deferred zero");
                }
                case "scale" -> gpu.scale(t, 2f);
                case "record" -> {
                    try (Backend.Replay r = gpu.record(() -> gpu.add(other, other, t))) {
                        float[] o = gpu.toHost(other);
                        if (r != null) r.run();
                        assertArrayEquals(o, gpu.toHost(other), 0f, "a recording adds zeros");
                    }
                    gpu.fill(other, 1f); // for the cases after it: not 0
                }
            }
            assertArrayEquals(want, gpu.toHost(t), 0f, how + " after a deferred zero fill");
        }

        // the overwriting first writers: the same values as on zeros written by a memset (an eager
        // fill of a view of the whole storage is never deferred)
        Tensor dy = gpu.fromHost(random(rows * N, 77), rows, N), x = gpu.fromHost(random(rows * ch, 76), rows, ch);
        Tensor w = gpu.fromHost(random(N * ch, 75), N, ch);
        Tensor dx = gpu.allocate(rows, ch), dw = gpu.allocate(N, ch), dxRef = gpu.allocate(rows + 1, ch), dwRef = gpu.allocate(N + 1, ch);
        gpu.fill(dxRef.rows(0, rows), 0f);
        gpu.fill(dwRef.rows(0, N), 0f);
        gpu.linearBackward(dxRef.rows(0, rows), dwRef.rows(0, N), null, dy, x, w);
        gpu.fill(dx, 3f);
        gpu.fill(dw, 3f);
        int memsets = launches(gpu, "memset (fill)", () -> {
            gpu.fill(dx, 0f);
            gpu.fill(dw, 0f);
            gpu.linearBackward(dx, dw, null, dy, x, w);
        });
        assertEquals(0, memsets, "the product writes dx and dW itself");
        // beta 0 against beta 1 on zeros: cuBLAS may pick another kernel, so not asked bit for bit
        Gpu.close("bf16 product dx over a deferred zero", gpu.toHost(dx), gpu.toHost(dxRef.rows(0, rows)), 1e-5);
        Gpu.close("bf16 product dW over a deferred zero", gpu.toHost(dw), gpu.toHost(dwRef.rows(0, N)), 1e-5);
        // a second product adds to the first (beta 1 again)
        gpu.linearBackward(dx, dw, null, dy, x, w);
        gpu.linearBackward(dxRef.rows(0, rows), dwRef.rows(0, N), null, dy, x, w);
        Gpu.close("bf16 second product adds", gpu.toHost(dx), gpu.toHost(dxRef.rows(0, rows)), 1e-5);

        Tensor convW = gpu.fromHost(random(ch * 4, 74), ch, 4), convB = gpu.fromHost(random(ch, 73), ch);
        Tensor dOut = gpu.fromHost(random(rows * ch, 72), rows, ch);
        Tensor cx = gpu.allocate(rows, ch), cxRef = gpu.allocate(rows + 1, ch);
        gpu.fill(cxRef.rows(0, rows), 0f);
        gpu.causalConv1dSiluBackward(cxRef.rows(0, rows), gpu.allocate(ch, 4), gpu.allocate(ch), dOut, x, convW, convB, batch, len);
        gpu.fill(cx, 3f);
        memsets = launches(gpu, "memset (fill)", () -> {
            gpu.fill(cx, 0f);
            gpu.causalConv1dSiluBackward(cx, gpu.allocate(ch, 4), gpu.allocate(ch), dOut, x, convW, convB, batch, len);
        });
        assertEquals(0, memsets, "the conv's backward writes dx itself");
        assertArrayEquals(gpu.toHost(cxRef.rows(0, rows)), gpu.toHost(cx), 0f, "conv backward dx over a deferred zero");

        // the scan's backward stores du, dDelta and dz over deferred zeros (each element gets one
        // add either way: the same values), and writes dDelta's and dz's bf16 twins
        int n = 16;
        Tensor u = x, delta = gpu.fromHost(random(rows * ch, 71), rows, ch), z = gpu.fromHost(random(rows * ch, 70), rows, ch);
        Tensor bias = gpu.fromHost(random(ch, 69), ch), bm = gpu.fromHost(random(rows * n, 68), rows, n);
        Tensor cm = gpu.fromHost(random(rows * n, 67), rows, n), dskip = gpu.fromHost(random(ch, 66), ch);
        float[] av = random(ch * n, 65);
        for (int i = 0; i < av.length; i++) av[i] = -Math.abs(av[i]) - 0.1f;
        Tensor a = gpu.fromHost(av, ch, n), y = gpu.allocate(rows, ch);
        Tensor states = gpu.allocate(batch, (len + gpu.scanChunk() - 1) / gpu.scanChunk(), ch, n);
        gpu.selectiveScanTraining(y, u, delta, bias, a, bm, cm, dskip, z, states, batch, len);
        Tensor dyScan = gpu.fromHost(random(rows * ch, 64), rows, ch);
        Tensor[] ref = new Tensor[3], got = new Tensor[3];
        for (int i = 0; i < 3; i++) {
            ref[i] = gpu.allocate(rows + 1, ch);
            gpu.fill(ref[i].rows(0, rows), 0f); // a view: zeroed now
            got[i] = gpu.fromHost(random(rows * ch, 63 - i), rows, ch);
        }
        gpu.selectiveScanBackward(ref[0].rows(0, rows), ref[1].rows(0, rows), gpu.allocate(ch), gpu.allocate(ch, n),
                gpu.allocate(rows, n), gpu.allocate(rows, n), gpu.allocate(ch), ref[2].rows(0, rows), dyScan, u, delta, bias, a,
                bm, cm, dskip, z, states, batch, len);
        gpu.feedsProducts(got[1]);
        gpu.feedsProducts(got[2]);
        for (Tensor g : got) gpu.fill(g, 0f);
        Tensor[] rest = {gpu.allocate(ch), gpu.allocate(ch, n), gpu.allocate(rows, n), gpu.allocate(rows, n), gpu.allocate(ch)};
        memsets = launches(gpu, "memset (fill)", () -> gpu.selectiveScanBackward(got[0], got[1], rest[0], rest[1], rest[2],
                rest[3], rest[4], got[2], dyScan, u, delta, bias, a, bm, cm, dskip, z, states, batch, len));
        // its one memset is its look-back flags' (scratch, zeroed at every call)
        assertEquals(1, memsets, "the scan's backward writes du, dDelta and dz itself (its other outputs here are not filled)");
        String[] names = {"du", "dDelta", "dz"};
        for (int i = 0; i < 3; i++)
            assertArrayEquals(gpu.toHost(ref[i].rows(0, rows)), gpu.toHost(got[i]), 0f, "scan backward " + names[i] + " over a deferred zero");
        Tensor wch = gpu.fromHost(random(N * ch, 62), N, ch), o = gpu.allocate(rows, N);
        for (int i = 1; i < 3; i++) {
            gpu.linear(o, x, wch, null); // wch's twin, current
            Tensor g = got[i];
            gpu.fill(g, 0f);
            gpu.selectiveScanBackward(got[0], got[1], gpu.allocate(ch), gpu.allocate(ch, n), gpu.allocate(rows, n),
                    gpu.allocate(rows, n), gpu.allocate(ch), got[2], dyScan, u, delta, bias, a, bm, cm, dskip, z, states, batch, len);
            assertEquals(0, roundings(gpu, () -> gpu.linear(o, g, wch, null)), names[i] + ": its twin was written by the scan");
            assertArrayEquals(fresh(gpu, g, wch), gpu.toHost(o), 0f, names[i] + ": the product reads the scan's values");
        }
    }
}
