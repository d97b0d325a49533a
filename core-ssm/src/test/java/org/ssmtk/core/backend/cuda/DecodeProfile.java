package org.ssmtk.core.backend.cuda;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.Presets;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.nn.MambaState;
import org.ssmtk.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.Locale;

import static org.ssmtk.core.backend.cuda.DeviceMemory.addr;

/**
 * Not a test: where a decoding step's time goes on a GPU (dev tool, run by hand on the device). Each
 * of decode.cu's launches of the 130M shape, 48 in a row recorded as one CUDA graph, timed by events;
 * then the whole fused step (graph replay and the wait for it) beside it.
 */
public final class DecodeProfile {
    public static void main(String[] args) {
        CudaBackend gpu = CudaBackend.open();
        CudaContext ctx = gpu.context();
        DecodeKernels k = new DecodeKernels(ctx);
        Cublas cublas = Cublas.open(ctx.stream.address(), ctx.kernelTimes, new ArrayList<>());
        int H = 768, DI = 1536, N = 16, R = 48, V = 50280, W = 4, XR = R + 2 * N;
        Tensor inW = rnd(gpu, 2 * DI, H), xW = rnd(gpu, XR, DI), dtW = rnd(gpu, DI, R), outW = rnd(gpu, H, DI), lm = rnd(gpu, V, H),
                norm = rnd(gpu, H), conv = rnd(gpu, DI, W), convB = rnd(gpu, DI), dtB = rnd(gpu, DI), A = rnd(gpu, DI, N), D = rnd(gpu, DI);
        for (int B : new int[]{1, 4, 64}) {
            Tensor res = rnd(gpu, B, H), xz = rnd(gpu, B, 2 * DI), xc = rnd(gpu, B, DI), dbc = rnd(gpu, B, XR), y = rnd(gpu, B, DI),
                    st = rnd(gpu, B, W - 1, DI), h = rnd(gpu, B, DI, N), logits = gpu.allocate(B, V), normed = rnd(gpu, B, H);
            boolean small = B <= k.maxBatch();
            if (small) {
                time(gpu, "in_proj norm+gemv+conv+x_proj", B, () -> k.normGemv(addr(xz), addr(xc), addr(res), addr(norm), 1e-5f,
                        addr(inW), addr(inW) + 4L * DI * H, 0, 0, 2 * DI, DI, H, B, addr(conv), addr(convB), addr(st), W, addr(xW),
                        addr(xW) + 4L * R * DI, addr(xW) + 4L * (R + N) * DI, R, R + N, XR, addr(dbc)));
                time(gpu, "scan + out_proj", B, () -> k.scanOut(addr(res), H, addr(outW), 0, addr(xc), addr(xz) + 4L * DI, 2L * DI,
                        addr(dbc), XR, addr(dbc) + 4L * R, XR, addr(dbc) + 4L * (R + N), XR, addr(dtW), addr(dtB), addr(A), addr(D),
                        addr(h), B, DI, N, R));
                time(gpu, "norm_f + LM head", B, () -> k.normGemv(addr(logits), 0, addr(res), addr(norm), 1e-5f, addr(lm), addr(lm),
                        0, 0, V, V, H, B, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
            } else {
                time(gpu, "rmsnorm", B, () -> gpu.rmsNorm(normed, res, norm, 1e-5f));
                time(gpu, "in_proj sgemm", B, () -> cublas.sgemm(Cublas.OP_T, Cublas.OP_N, 2 * DI, B, H, 1f, addr(inW), H, addr(normed),
                        H, 0f, addr(xz), 2 * DI));
                time(gpu, "conv", B, () -> k.conv(addr(xc), addr(xz), 2L * DI, addr(conv), addr(convB), addr(st), B, DI, W));
                time(gpu, "x_proj gemv", B, () -> k.gemv(addr(dbc), XR, addr(xc), addr(xW), addr(xW) + 4L * R * DI,
                        addr(xW) + 4L * (R + N) * DI, R, R + N, 0, XR, DI, B, false));
                time(gpu, "scan", B, () -> k.scan(addr(y), addr(xc), addr(xz) + 4L * DI, 2L * DI, addr(dbc), XR, addr(dbc) + 4L * R,
                        XR, addr(dbc) + 4L * (R + N), XR, addr(dtW), addr(dtB), addr(A), addr(D), addr(h), B, DI, N, R));
                time(gpu, "out_proj sgemm + residual", B, () -> cublas.sgemm(Cublas.OP_T, Cublas.OP_N, H, B, DI, 1f, addr(outW), DI,
                        addr(y), DI, 1f, addr(res), H));
                time(gpu, "LM head sgemm", B, () -> cublas.sgemm(Cublas.OP_T, Cublas.OP_N, V, B, H, 1f, addr(lm), H, addr(normed), H,
                        0f, addr(logits), V));
            }
        }
        // the whole fused step of the 130M preset
        MambaModel model = MambaModel.load(gpu, Initializer.reference(Presets.get("130m"), 2));
        for (int B : new int[]{1, 64}) {
            MambaState state = model.newState(B);
            Tensor logits = gpu.allocate(B, model.config().paddedVocabSize());
            int[] tokens = new int[B];
            try (Backend.DecodeStep step = model.decodeStep(state, logits)) {
                for (int i = 0; i < 5; i++) step.step(tokens);
                gpu.synchronize();
                float ms = gpu.time(() -> {
                    for (int i = 0; i < 50; i++) step.step(tokens);
                });
                long t0 = System.nanoTime();
                for (int i = 0; i < 50; i++) {
                    step.step(tokens);
                    gpu.sample(logits, model.config().vocabSize(), 0, 0, null);
                }
                double wall = (System.nanoTime() - t0) / 1e6 / 50;
                for (int i = 0; i < 5; i++) step.stepGreedy(tokens, model.config().vocabSize());
                t0 = System.nanoTime();
                for (int i = 0; i < 50; i++) step.stepGreedy(tokens, model.config().vocabSize());
                double greedy = (System.nanoTime() - t0) / 1e6 / 50;
                System.out.printf(Locale.ROOT, "whole step batch %d: %.1f us per step (events, replays back to back), %.1f us with greedy"
                        + " sampling and the ids' read-back (wall), %.1f us picking inside the graph (wall)%n", B, ms * 1000 / 50,
                        wall * 1000, greedy * 1000);
            }
        }
        gpu.close();
    }

    private static Tensor rnd(CudaBackend gpu, int... shape) {
        Tensor t = gpu.allocateUninitialized(shape);
        gpu.fillUniform(t, shape.length * 31L + t.size(), -0.05f, 0.05f);
        return t;
    }

    private static void time(CudaBackend gpu, String what, int batch, Runnable launch) {
        int reps = 48;
        try (Backend.Replay r = gpu.record(() -> {
            for (int i = 0; i < reps; i++) launch.run();
        })) {
            r.run();
            gpu.synchronize();
            float best = Float.MAX_VALUE;
            for (int t = 0; t < 5; t++) best = Math.min(best, gpu.time(r::run));
            System.out.printf(Locale.ROOT, "batch %2d %-28s %7.2f us per launch (in a graph of %d)%n", batch, what, best * 1000 / reps, reps);
        }
    }
}
