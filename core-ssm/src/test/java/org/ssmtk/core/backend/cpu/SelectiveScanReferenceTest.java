package org.ssmtk.core.backend.cpu;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.tensor.Tensor;

import static org.ssmtk.core.Fixtures.assertClose;

/**
 * The fused CPU scan against the reference selective scan of fixtures/scan-small. The fixture is
 * channel-major (batch, d_inner, L) as in mamba_ssm; the backend takes token-major rows, so the
 * test transposes on the way in and out.
 */
class SelectiveScanReferenceTest {

    static float[] toTokenMajor(float[] v, int batch, int ch, int len) {
        float[] out = new float[v.length];
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < ch; c++)
                for (int t = 0; t < len; t++) out[(b * len + t) * ch + c] = v[(b * ch + c) * len + t];
        return out;
    }

    static double[] toTokenMajor(double[] v, int batch, int ch, int len) {
        double[] out = new double[v.length];
        for (int b = 0; b < batch; b++)
            for (int c = 0; c < ch; c++)
                for (int t = 0; t < len; t++) out[(b * len + t) * ch + c] = v[(b * ch + c) * len + t];
        return out;
    }

    @Test
    void outputAndLastStateMatchTheReference() throws Exception {
        try (SafeTensorsReader r = SafeTensorsReader.open(Fixtures.dir("scan-small").resolve("scan.safetensors"));
             CpuBackend cpu = new CpuBackend(2)) {
            int[] us = r.info("u").intShape();
            int batch = us[0], ch = us[1], len = us[2];
            int n = r.info("A").intShape()[1];
            Tensor u = cpu.fromHost(toTokenMajor(r.floats("u"), batch, ch, len), batch * len, ch);
            Tensor delta = cpu.fromHost(toTokenMajor(r.floats("delta"), batch, ch, len), batch * len, ch);
            Tensor z = cpu.fromHost(toTokenMajor(r.floats("z"), batch, ch, len), batch * len, ch);
            Tensor B = cpu.fromHost(toTokenMajor(r.floats("B"), batch, n, len), batch * len, n);
            Tensor C = cpu.fromHost(toTokenMajor(r.floats("C"), batch, n, len), batch * len, n);
            Tensor A = cpu.fromHost(r.floats("A"), ch, n);
            Tensor D = cpu.fromHost(r.floats("D"), ch);
            Tensor bias = cpu.fromHost(r.floats("delta_bias"), ch);
            Tensor y = cpu.allocate(batch * len, ch);
            Tensor state = cpu.allocate(batch, ch, n);
            cpu.selectiveScan(y, u, delta, bias, A, B, C, D, z, state, batch, len);
            assertClose("scan output", cpu.toHost(y), toTokenMajor(r.doubles("out"), batch, ch, len), 1e-5);
            assertClose("last state", cpu.toHost(state), r.doubles("last_state"), 1e-5);
        }
    }
}
