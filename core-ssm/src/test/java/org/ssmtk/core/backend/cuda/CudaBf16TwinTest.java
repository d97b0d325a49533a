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

    @Test
    void eachOperandIsRoundedOncePerWrite() {
        CudaBackend gpu = Gpu.bf16();
        Tensor in = gpu.fromHost(random((2 * N) * K, 93), 2 * N, K), x = gpu.fromHost(random(M * K, 92), M, K);
        Tensor a = gpu.allocate(M, N), b = gpu.allocate(M, N);
        gpu.kernelTimes(1);
        gpu.timeKernels(true);
        // in_proj's two halves read x and one weight storage: two roundings, not four
        gpu.linear(a, x, in.rows(0, N), null);
        gpu.linear(b, x, in.rows(N, 2 * N), null);
        gpu.timeKernels(false);
        double[] conversions = null;
        for (String line : gpu.kernelTimes(1))
            if (line.startsWith("f32_to_bf16 ")) {
                String[] f = line.substring(60).trim().split("\\s+");
                conversions = new double[]{Double.parseDouble(f[0]), Double.parseDouble(f[1])};
            }
        assertNotNull(conversions, "the roundings are in the table");
        assertEquals(2, conversions[1], 1e-9, "x and the weight storage, once each");
    }
}
