package org.ssmtk.core.bench;

import org.ssmtk.core.backend.Precision;
import org.ssmtk.core.backend.SsdShape;
import org.ssmtk.core.backend.cuda.CudaBackend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.config.Presets;
import org.ssmtk.core.config.SsdConfig;
import org.ssmtk.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Times the cuda SSD scan (Mamba-2, ssd.cu) of one layer at a preset's shape: the training forward
 * (keeping the chunk states), the inference forward (keeping nothing), the backward, and one decoding
 * step of the whole batch; fp32 inputs drawn on the device, the median of five after two warm-ups,
 * by events on the stream; once per way of multiplying the products inside a chunk (fp32, 3xTF32,
 * TF32: CudaBackend.open's ssdProducts), each followed by the kernels' own times for one
 * training forward and backward. Prints one table.
 * Run: java -cp ... org.ssmtk.core.bench.SsdBench [products=fp32,tf32x3,tf32] [PRESET:BATCHxLEN ...] (default
 * 130m-mamba2:8x2048 dna-mamba2:8x16384 dna-mamba2:1x1048576).
 */
public final class SsdBench {
    private SsdBench() {}

    public static void main(String[] args) {
        List<String> specs = new ArrayList<>();
        String products = "fp32,tf32x3,tf32";
        for (String a : args) {
            if (a.startsWith("products=")) products = a.substring("products=".length());
            else specs.add(a);
        }
        if (specs.isEmpty()) specs = List.of("130m-mamba2:8x2048", "dna-mamba2:8x16384", "dna-mamba2:1x1048576");
        List<String> table = new ArrayList<>();
        table.add("| preset      | batch x L      | heads x P, N, chunk | products | fwd train ms | fwd ms   | bwd ms   | step ms  |");
        table.add("|-------------|----------------|---------------------|----------|--------------|----------|----------|----------|");
        for (String mode : products.split(",")) {
            try (CudaBackend gpu = CudaBackend.open(Precision.FP32, mode)) {
                System.out.println(gpu.describe());
                for (String spec : specs) {
                    table.add(row(gpu, spec, mode));
                    System.out.println(table.getLast());
                    gpu.trimMemory();
                }
            }
        }
        System.out.println();
        System.out.println("one layer's SSD scan (dt softplus + bias, D skip, grouped B/C), fp32 inputs; median of 5 runs");
        table.forEach(System.out::println);
    }

    static String row(CudaBackend gpu, String spec, String mode) {
        String[] p = spec.split(":");
        String[] bl = p[1].split("x");
        int batch = Integer.parseInt(bl[0]), len = Integer.parseInt(bl[1]);
        MambaConfig c = Presets.get(p[0]);
        SsdConfig s = c.ssd();
        if (s == null) throw new IllegalArgumentException(p[0] + " is not a Mamba-2 preset");
        SsdShape shape = new SsdShape(s.numHeads(), s.headDim(), s.nGroups(), c.stateSize(), s.chunkSize(),
                (float) s.timeStepLimitLow(), (float) s.timeStepLimitHigh());
        int rows = batch * len, di = shape.channels(), gn = shape.groupStates(), heads = shape.heads();
        Tensor x = uniform(gpu, 1, -1, 1, rows, di), dt = uniform(gpu, 2, -4, 0, rows, heads);
        Tensor bias = uniform(gpu, 3, -1, 0, heads), a = uniform(gpu, 4, -8, -1, heads), d = uniform(gpu, 5, 0, 1, heads);
        Tensor b = uniform(gpu, 6, -1, 1, rows, gn), cc = uniform(gpu, 7, -1, 1, rows, gn), dy = uniform(gpu, 8, -1, 1, rows, di);
        Tensor y = gpu.allocateUninitialized(rows, di);
        Tensor kept = gpu.allocateUninitialized(batch, shape.chunks(len), heads, shape.headDim(), shape.stateSize());
        Tensor dx = gpu.allocate(rows, di), dDt = gpu.allocate(rows, heads), dBias = gpu.allocate(heads), dA = gpu.allocate(heads);
        Tensor dB = gpu.allocate(rows, gn), dC = gpu.allocate(rows, gn), dD = gpu.allocate(heads);
        Tensor state = gpu.allocate(batch, heads, shape.headDim(), shape.stateSize()), yStep = gpu.allocate(batch, di);
        Tensor xs = x.rows(0, batch), dts = dt.rows(0, batch), bs = b.rows(0, batch), cs = cc.rows(0, batch);
        double train = median(gpu, () -> gpu.ssdScan(y, x, dt, bias, a, b, cc, d, null, kept, batch, len, shape));
        double infer = median(gpu, () -> gpu.ssdScan(y, x, dt, bias, a, b, cc, d, null, null, batch, len, shape));
        double back = median(gpu, () -> gpu.ssdScanBackward(dx, dDt, dBias, dA, dB, dC, dD, dy, x, dt, bias, a, b, cc, d, kept,
                batch, len, shape));
        double step = median(gpu, () -> gpu.ssdScan(yStep, xs, dts, bias, a, bs, cs, d, state, null, batch, 1, shape));
        // where the time goes: every kernel of one training forward and its backward
        gpu.timeKernels(true);
        gpu.ssdScan(y, x, dt, bias, a, b, cc, d, null, kept, batch, len, shape);
        gpu.ssdScanBackward(dx, dDt, dBias, dA, dB, dC, dD, dy, x, dt, bias, a, b, cc, d, kept, batch, len, shape);
        gpu.timeKernels(false);
        gpu.kernelTimes(1).forEach(l -> System.out.println(spec + " " + mode + " " + l));
        float[] check = gpu.toHost(y.rows(0, 1));
        for (float v : check) if (!Float.isFinite(v)) throw new IllegalStateException(spec + ": non-finite output");
        for (Tensor t : new Tensor[]{x, dt, bias, a, d, b, cc, dy, y, kept, dx, dDt, dBias, dA, dB, dC, dD, state, yStep}) gpu.release(t);
        return String.format(Locale.ROOT, "| %-11s | %-14s | %-19s | %-8s | %12.3f | %8.3f | %8.3f | %8.4f |", p[0],
                batch + "x" + len, heads + "x" + shape.headDim() + ", " + shape.stateSize() + ", " + shape.chunk(), mode, train,
                infer, back, step);
    }

    static Tensor uniform(CudaBackend gpu, long seed, float lo, float hi, int... shape) {
        Tensor t = gpu.allocateUninitialized(shape);
        gpu.fillUniform(t, seed, lo, hi);
        return t;
    }

    static double median(CudaBackend gpu, Runnable r) {
        for (int i = 0; i < 2; i++) gpu.time(r);
        double[] ms = new double[5];
        for (int i = 0; i < ms.length; i++) ms[i] = gpu.time(r);
        Arrays.sort(ms);
        return ms[ms.length / 2];
    }
}
