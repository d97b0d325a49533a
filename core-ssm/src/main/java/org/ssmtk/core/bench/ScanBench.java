package org.ssmtk.core.bench;

import org.ssmtk.core.backend.cuda.CudaBackend;
import org.ssmtk.core.backend.cuda.CudaScan;
import org.ssmtk.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Times the cuda selective scan, forward (training, keeping chunk states) and backward, at Mamba's
 * d_inner 1536 and d_state 16 with softplus bias, D and z, fp32; prints one table. Inputs are drawn
 * on the device; then the same with bf16 inputs (u, delta, B, C, z, dout) and y, fp32 A, D, bias, state,
 * arithmetic and gradients (the scan_*_bf16_* kernels, which only this and CudaScanBf16Test reach).
 * Rows whose forward took the one-pass kernel are marked 1p; the log also times the other forward kernel.
 * Run: java -cp ... org.ssmtk.core.bench.ScanBench [rows as BATCHxLEN or bf16:BATCHxLEN ...]
 */
public final class ScanBench {
    private ScanBench() {}

    /** state-spaces/mamba's selective_scan_cuda on an H100, fp32, milliseconds: the numbers to beat. */
    record Reference(int batch, int len, double fwdMs, double bwdMs) {}

    static final List<Reference> REFERENCE = List.of(
            new Reference(8, 2048, 0.911, 2.189),
            new Reference(1, 65536, 3.986, 8.894),
            new Reference(1, 1048576, 64.72, 141.9));

    /** The same with bf16 u/delta/B/C/z (fp32 A, D, bias, state and accumulation), milliseconds. */
    static final List<Reference> REFERENCE_BF16 = List.of(
            new Reference(8, 2048, 0.458, 1.951),
            new Reference(64, 1024, 1.684, 7.128));

    public static void main(String[] args) {
        int ch = 1536, n = 16;
        List<Reference> rows = new ArrayList<>(), rowsBf16 = new ArrayList<>();
        if (args.length == 0) {
            rows.addAll(REFERENCE);
            rowsBf16.addAll(REFERENCE_BF16);
        }
        for (String a : args) {
            boolean half = a.startsWith("bf16:");
            String[] p = a.substring(half ? 5 : 0).split("x");
            int b = Integer.parseInt(p[0]), l = Integer.parseInt(p[1]);
            List<Reference> refs = half ? REFERENCE_BF16 : REFERENCE;
            (half ? rowsBf16 : rows).add(refs.stream().filter(r -> r.batch() == b && r.len() == l).findFirst()
                    .orElse(new Reference(b, l, Double.NaN, Double.NaN)));
        }
        List<String> table = new ArrayList<>();
        try (CudaBackend gpu = CudaBackend.open()) {
            System.out.println(gpu.describe());
            double copyGbs = copyBandwidth(gpu);
            table.add(String.format(Locale.ROOT, "device-to-device copy: %.0f GB/s (read + write), the bandwidth ceiling", copyGbs));
            table.add("| batch | L            | fwd ms  | fwd GB/s | ref fwd | fwd x   | bwd ms  | bwd GB/s | ref bwd | bwd x   |");
            table.add("|-------|--------------|---------|----------|---------|---------|---------|----------|---------|---------|");
            for (Reference r : rows) {
                table.add(row(gpu, r, ch, n, false));
                System.gc();
            }
            for (Reference r : rowsBf16) {
                table.add(row(gpu, r, ch, n, true));
                System.gc();
            }
        }
        System.out.println();
        System.out.println("selective scan, d_inner " + ch + ", d_state " + n + ", softplus bias + D + z, fp32; GB/s against"
                + " the bytes that must move (fwd: u, delta, z, B, C in, y out; bwd: u, delta, z, dout, B, C in,"
                + " du, ddelta, dz, dB, dC out); x = reference time / ours (above 1 is faster). Rows marked bf16: u, delta,"
                + " z, dout, B, C read as bf16 (2 bytes) and y written as bf16; du, ddelta, dz, dB, dC written fp32 (4 bytes;"
                + " counted once, though they accumulate); A, D, bias, state and arithmetic fp32; reference: mamba's"
                + " selective_scan_cuda with the same bf16 inputs");
        table.forEach(System.out::println);
    }

    static double copyBandwidth(CudaBackend gpu) {
        int n = 1 << 28; // 1 GiB
        Tensor a = gpu.allocateUninitialized(n), b = gpu.allocateUninitialized(n);
        gpu.fillUniform(a, 1, -1f, 1f);
        gpu.copy(b, a);
        float[] t = new float[5];
        for (int i = 0; i < t.length; i++) t[i] = gpu.time(() -> gpu.copy(b, a));
        return 2.0 * 4 * n / (median(t) * 1e-3) / 1e9;
    }

    static float median(float[] t) {
        float[] s = t.clone();
        Arrays.sort(s);
        return s[s.length / 2];
    }

    static String row(CudaBackend gpu, Reference r, int ch, int n, boolean half) {
        if (half) return rowBf16(gpu, r, ch, n);
        int batch = r.batch(), len = r.len();
        int rows = Math.multiplyExact(batch, len);
        long seed = 17;
        Tensor u = rand(gpu, seed++, -1f, 1f, rows, ch), delta = rand(gpu, seed++, -3f, 0.5f, rows, ch);
        Tensor z = rand(gpu, seed++, -2f, 2f, rows, ch), y = gpu.allocateUninitialized(rows, ch);
        Tensor bias = rand(gpu, seed++, -1f, 0f, ch), a = rand(gpu, seed++, -2f, -0.05f, ch, n), d = rand(gpu, seed++, -1f, 1f, ch);
        Tensor b = rand(gpu, seed++, -1f, 1f, rows, n), c = rand(gpu, seed++, -1f, 1f, rows, n);
        Tensor kept = gpu.allocateUninitialized(batch, gpu.scan().chunks(len), ch, n);
        Runnable fwd = () -> gpu.selectiveScanTraining(y, u, delta, bias, a, b, c, d, z, kept, batch, len);
        int reps = rows >= 1 << 20 ? 5 : 20;
        float fwdMs = timeMedian(gpu, fwd, reps);
        otherForward(gpu, fwd, reps, batch, len, ch, fwdMs, "fp32");
        // the forward's y serves as dout: any values do, and it saves a tensor of this size
        Tensor du = gpu.allocate(rows, ch), dDelta = gpu.allocate(rows, ch), dz = gpu.allocate(rows, ch);
        Tensor dA = gpu.allocate(ch, n), dB = gpu.allocate(rows, n), dC = gpu.allocate(rows, n);
        Tensor dD = gpu.allocate(ch), dBias = gpu.allocate(ch);
        Runnable bwd = () -> gpu.selectiveScanBackward(du, dDelta, dBias, dA, dB, dC, dD, dz, y, u, delta, bias, a, b, c, d, z,
                kept, batch, len);
        float bwdMs = timeMedian(gpu, bwd, reps);
        double bld = (double) rows * ch, bln = (double) rows * n;
        double fwdBytes = 4 * (4 * bld + 2 * bln), bwdBytes = 4 * (7 * bld + 4 * bln);
        return format(r, gpu.scan().onePass(batch, ch) ? " 1p" : "", fwdMs, fwdBytes, bwdMs, bwdBytes);
    }

    static String format(Reference r, String tag, float fwdMs, double fwdBytes, float bwdMs, double bwdBytes) {
        int batch = r.batch(), len = r.len();
        return String.format(Locale.ROOT, "| %5d | %12s | %7.3f | %8.0f | %7.3f | %6.2fx | %7.3f | %8.0f | %7.3f | %6.2fx |",
                batch, len + tag, fwdMs, fwdBytes / (fwdMs * 1e-3) / 1e9, r.fwdMs(), r.fwdMs() / fwdMs,
                bwdMs, bwdBytes / (bwdMs * 1e-3) / 1e9, r.bwdMs(), r.bwdMs() / bwdMs);
    }

    /** The same row with bf16 inputs and y: the fp32 draws rounded to bf16, then dropped. */
    static String rowBf16(CudaBackend gpu, Reference r, int ch, int n) {
        int batch = r.batch(), len = r.len();
        int rows = Math.multiplyExact(batch, len);
        long seed = 17;
        Tensor u = rand16(gpu, seed++, -1f, 1f, rows, ch), delta = rand16(gpu, seed++, -3f, 0.5f, rows, ch);
        Tensor z = rand16(gpu, seed++, -2f, 2f, rows, ch), y = gpu.allocateUninitialized((int) (((long) rows * ch + 1) / 2));
        Tensor bias = rand(gpu, seed++, -1f, 0f, ch), a = rand(gpu, seed++, -2f, -0.05f, ch, n), d = rand(gpu, seed++, -1f, 1f, ch);
        Tensor b = rand16(gpu, seed++, -1f, 1f, rows, n), c = rand16(gpu, seed++, -1f, 1f, rows, n);
        Tensor kept = gpu.allocateUninitialized(batch, gpu.scan().chunks(len), ch, n);
        Runnable fwd = () -> gpu.scan().trainingBf16(y, u, delta, bias, a, b, c, d, z, kept, batch, len);
        int reps = rows >= 1 << 20 ? 5 : 20;
        float fwdMs = timeMedian(gpu, fwd, reps);
        otherForward(gpu, fwd, reps, batch, len, ch, fwdMs, "bf16");
        Tensor du = gpu.allocate(rows, ch), dDelta = gpu.allocate(rows, ch), dz = gpu.allocate(rows, ch);
        Tensor dA = gpu.allocate(ch, n), dB = gpu.allocate(rows, n), dC = gpu.allocate(rows, n);
        Tensor dD = gpu.allocate(ch), dBias = gpu.allocate(ch);
        Runnable bwd = () -> gpu.scan().backwardBf16(du, dDelta, dBias, dA, dB, dC, dD, dz, y, u, delta, bias, a, b, c,
                d, z, kept, batch, len);
        float bwdMs = timeMedian(gpu, bwd, reps);
        double bld = (double) rows * ch, bln = (double) rows * n;
        double fwdBytes = 2 * (4 * bld + 2 * bln), bwdBytes = 2 * (4 * bld + 2 * bln) + 4 * (3 * bld + 2 * bln);
        return format(r, (gpu.scan().onePass(batch, ch) ? " 1p" : "") + " bf16", fwdMs, fwdBytes, bwdMs, bwdBytes);
    }

    /** Times the forward path AUTO did not pick, so the log shows what the choice gained. */
    static void otherForward(CudaBackend gpu, Runnable fwd, int reps, int batch, int len, int ch, float autoMs, String kind) {
        boolean onePass = gpu.scan().onePass(batch, ch);
        gpu.scan().forward(onePass ? CudaScan.Forward.CHUNKED : CudaScan.Forward.ONE_PASS);
        try {
            float other = timeMedian(gpu, fwd, reps);
            System.out.printf(Locale.ROOT, "forward %s %dx%d: one-pass %.3f ms, chunked %.3f ms (auto took %s)%n", kind, batch,
                    len, onePass ? autoMs : other, onePass ? other : autoMs, onePass ? "one-pass" : "chunked");
        } finally {
            gpu.scan().forward(CudaScan.Forward.AUTO);
        }
    }

    static Tensor rand16(CudaBackend gpu, long seed, float lo, float hi, int... shape) {
        Tensor f = rand(gpu, seed, lo, hi, shape);
        return gpu.toBf16(f);
    }

    static Tensor rand(CudaBackend gpu, long seed, float lo, float hi, int... shape) {
        Tensor t = gpu.allocateUninitialized(shape);
        gpu.fillUniform(t, seed, lo, hi);
        return t;
    }

    static float timeMedian(CudaBackend gpu, Runnable r, int reps) {
        for (int i = 0; i < 2; i++) r.run();
        gpu.synchronize();
        float[] t = new float[reps];
        for (int i = 0; i < reps; i++) t[i] = gpu.time(r);
        return median(t);
    }
}
