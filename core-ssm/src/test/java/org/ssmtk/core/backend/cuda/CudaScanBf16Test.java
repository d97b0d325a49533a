package org.ssmtk.core.backend.cuda;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.tensor.Tensor;

import java.util.SplittableRandom;

import static org.ssmtk.core.backend.cuda.Gpu.close;

/**
 * The bf16-input scan kernels (scan_*_bf16_*, reached by ScanBench and here only) against the fp32
 * CPU scan on the same inputs rounded to bf16: y (written as bf16) and every gradient (fp32,
 * accumulated into random values) within 1e-2 relative error. Skips where no GPU works.
 */
@ExtendWith(Seeds.class)
class CudaScanBf16Test {
    static final double TOL = 1e-2;
    static CpuBackend cpu;

    @BeforeAll
    static void open() {
        cpu = new CpuBackend(2);
    }

    @AfterAll
    static void closeCpu() {
        cpu.close();
    }

    static float[] random(int n, float scale, float shift) {
        SplittableRandom r = new SplittableRandom(Seeds.next());
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian() * scale + shift;
        return v;
    }

    /** Round to nearest even bf16, kept as fp32 (what the GPU's f32_to_bf16 gives, exactly). */
    static float[] bf16(float[] v) {
        float[] o = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            int b = Float.floatToRawIntBits(v[i]);
            b += 0x7fff + ((b >>> 16) & 1);
            o[i] = Float.intBitsToFloat(b & 0xffff0000);
        }
        return o;
    }

    @ParameterizedTest(name = "batch={0} len={1} ch={2} state={3} bias/D/z={4}")
    @CsvSource({"1,1,3,4,true", "2,70,16,16,true", "3,9,13,7,false", "2,200,130,16,true", "1,129,301,8,false",
            "2,64,129,16,true", "1,1000,40,12,true",
            "2,200,96,16,true"})
    void bf16InputsMatchTheFp32CpuScan(int batch, int len, int ch, int n, boolean opt) {
        CudaBackend gpu = Gpu.backend();
        int rows = batch * len;
        String name = "b" + batch + " L" + len + " d" + ch + " n" + n + (opt ? " +bias,D,z" : "");
        float[] u = bf16(random(rows * ch, 1f, 0f)), delta = bf16(random(rows * ch, 0.5f, -1f));
        float[] b = bf16(random(rows * n, 1f, 0f)), c = bf16(random(rows * n, 1f, 0f));
        float[] z = opt ? bf16(random(rows * ch, 1f, 0f)) : null, dOut = bf16(random(rows * ch, 1f, 0f));
        float[] a = random(ch * n, 0.5f, 0f);
        for (int i = 0; i < a.length; i++) a[i] = -(float) Math.exp(a[i]);
        float[] bias = opt ? random(ch, 1f, 0f) : null, d = opt ? random(ch, 1f, 0f) : null;

        // CPU: fp32 tensors of the rounded values
        Tensor cu = cpu.fromHost(u, rows, ch), cdelta = cpu.fromHost(delta, rows, ch), cb = cpu.fromHost(b, rows, n);
        Tensor cc = cpu.fromHost(c, rows, n), cz = z == null ? null : cpu.fromHost(z, rows, ch), ca = cpu.fromHost(a, ch, n);
        Tensor cbias = bias == null ? null : cpu.fromHost(bias, ch), cd = d == null ? null : cpu.fromHost(d, ch);
        Tensor cdOut = cpu.fromHost(dOut, rows, ch);
        // GPU: the same values as bf16 buffers (exact: they are bf16 already)
        Tensor gu = gpu.toBf16(gpu.fromHost(u, rows, ch)), gdelta = gpu.toBf16(gpu.fromHost(delta, rows, ch));
        Tensor gb = gpu.toBf16(gpu.fromHost(b, rows, n)), gc = gpu.toBf16(gpu.fromHost(c, rows, n));
        Tensor gz = z == null ? null : gpu.toBf16(gpu.fromHost(z, rows, ch)), gdOut = gpu.toBf16(gpu.fromHost(dOut, rows, ch));
        Tensor ga = gpu.fromHost(a, ch, n), gbias = bias == null ? null : gpu.fromHost(bias, ch);
        Tensor gd = d == null ? null : gpu.fromHost(d, ch);

        int chunks = (len + gpu.scanChunk() - 1) / gpu.scanChunk();
        Tensor cy = cpu.allocate(rows, ch), ckept = cpu.allocate(batch, chunks, ch, n);
        Tensor gy = gpu.allocate((rows * ch + 1) / 2), gkept = gpu.allocate(batch, chunks, ch, n);
        cpu.selectiveScanTraining(cy, cu, cdelta, cbias, ca, cb, cc, cd, cz, ckept, batch, len);
        gpu.scan().trainingBf16(gy, gu, gdelta, gbias, ga, gb, gc, gd, gz, gkept, batch, len);
        close("bf16 scan y " + name, gpu.toHost(gpu.fromBf16(gy, rows, ch)), cpu.toHost(cy), TOL);
        close("bf16 scan chunk states " + name, gpu.toHost(gkept), cpu.toHost(ckept), TOL);
        // and the one-pass forward (AUTO would pick the chunked one at these shapes)
        gpu.scan().forward(CudaScan.Forward.ONE_PASS);
        try {
            Tensor gy1 = gpu.allocate((rows * ch + 1) / 2), gkept1 = gpu.allocate(batch, chunks, ch, n);
            gpu.scan().trainingBf16(gy1, gu, gdelta, gbias, ga, gb, gc, gd, gz, gkept1, batch, len);
            close("bf16 scan y, one pass " + name, gpu.toHost(gpu.fromBf16(gy1, rows, ch)), cpu.toHost(cy), TOL);
            close("bf16 scan chunk states, one pass " + name, gpu.toHost(gkept1), cpu.toHost(ckept), TOL);
        } finally {
            gpu.scan().forward(CudaScan.Forward.AUTO);
        }

        // gradients start from the same random values on both sides (accumulation is checked too)
        float[] du0 = random(rows * ch, 1f, 0f), dDelta0 = random(rows * ch, 1f, 0f), dA0 = random(ch * n, 1f, 0f);
        float[] dB0 = random(rows * n, 1f, 0f), dC0 = random(rows * n, 1f, 0f);
        float[] dBias0 = random(ch, 1f, 0f), dD0 = random(ch, 1f, 0f), dz0 = random(rows * ch, 1f, 0f);
        Tensor cdu = cpu.fromHost(du0, rows, ch), cdDelta = cpu.fromHost(dDelta0, rows, ch), cdA = cpu.fromHost(dA0, ch, n);
        Tensor cdB = cpu.fromHost(dB0, rows, n), cdC = cpu.fromHost(dC0, rows, n);
        Tensor cdBias = opt ? cpu.fromHost(dBias0, ch) : null, cdD = opt ? cpu.fromHost(dD0, ch) : null;
        Tensor cdz = opt ? cpu.fromHost(dz0, rows, ch) : null;
        Tensor gdu = gpu.fromHost(du0, rows, ch), gdDelta = gpu.fromHost(dDelta0, rows, ch), gdA = gpu.fromHost(dA0, ch, n);
        Tensor gdB = gpu.fromHost(dB0, rows, n), gdC = gpu.fromHost(dC0, rows, n);
        Tensor gdBias = opt ? gpu.fromHost(dBias0, ch) : null, gdD = opt ? gpu.fromHost(dD0, ch) : null;
        Tensor gdz = opt ? gpu.fromHost(dz0, rows, ch) : null;
        cpu.selectiveScanBackward(cdu, cdDelta, cdBias, cdA, cdB, cdC, cdD, cdz, cdOut, cu, cdelta, cbias, ca, cb, cc, cd, cz,
                ckept, batch, len);
        // the GPU replays from its own kept states (what training would do)
        gpu.scan().backwardBf16(gdu, gdDelta, gdBias, gdA, gdB, gdC, gdD, gdz, gdOut, gu, gdelta, gbias, ga, gb, gc, gd,
                gz, gkept, batch, len);
        close("bf16 scan backward du " + name, gpu.toHost(gdu), cpu.toHost(cdu), TOL);
        close("bf16 scan backward ddelta " + name, gpu.toHost(gdDelta), cpu.toHost(cdDelta), TOL);
        close("bf16 scan backward dA " + name, gpu.toHost(gdA), cpu.toHost(cdA), TOL);
        close("bf16 scan backward dB " + name, gpu.toHost(gdB), cpu.toHost(cdB), TOL);
        close("bf16 scan backward dC " + name, gpu.toHost(gdC), cpu.toHost(cdC), TOL);
        if (opt) {
            close("bf16 scan backward ddelta_bias " + name, gpu.toHost(gdBias), cpu.toHost(cdBias), TOL);
            close("bf16 scan backward dD " + name, gpu.toHost(gdD), cpu.toHost(cdD), TOL);
            close("bf16 scan backward dz " + name, gpu.toHost(gdz), cpu.toHost(cdz), TOL);
        }
    }
}
