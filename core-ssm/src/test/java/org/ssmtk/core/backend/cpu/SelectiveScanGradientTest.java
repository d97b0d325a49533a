package org.ssmtk.core.backend.cpu;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.tensor.Tensor;

import static org.ssmtk.core.Fixtures.assertClose;
import static org.ssmtk.core.backend.cpu.SelectiveScanReferenceTest.toTokenMajor;

/** The scan's backward against the reference input gradients of fixtures/scan-small. */
class SelectiveScanGradientTest {
    @Test
    void inputGradientsMatchTheReference() throws Exception {
        try (SafeTensorsReader r = SafeTensorsReader.open(Fixtures.dir("scan-small").resolve("scan.safetensors"));
             CpuBackend cpu = new CpuBackend(2)) {
            int[] us = r.info("u").intShape();
            int batch = us[0], ch = us[1], len = us[2];
            int n = r.info("A").intShape()[1];
            int rows = batch * len;
            Tensor u = cpu.fromHost(toTokenMajor(r.floats("u"), batch, ch, len), rows, ch);
            Tensor delta = cpu.fromHost(toTokenMajor(r.floats("delta"), batch, ch, len), rows, ch);
            Tensor z = cpu.fromHost(toTokenMajor(r.floats("z"), batch, ch, len), rows, ch);
            Tensor B = cpu.fromHost(toTokenMajor(r.floats("B"), batch, n, len), rows, n);
            Tensor C = cpu.fromHost(toTokenMajor(r.floats("C"), batch, n, len), rows, n);
            Tensor A = cpu.fromHost(r.floats("A"), ch, n);
            Tensor D = cpu.fromHost(r.floats("D"), ch);
            Tensor bias = cpu.fromHost(r.floats("delta_bias"), ch);
            Tensor g = cpu.fromHost(toTokenMajor(r.floats("grad_out"), batch, ch, len), rows, ch);
            Tensor y = cpu.allocate(rows, ch);
            Tensor chunks = cpu.allocate(batch, CpuSelectiveScan.chunks(len), ch, n);
            cpu.selectiveScanTraining(y, u, delta, bias, A, B, C, D, z, chunks, batch, len);
            assertClose("training forward", cpu.toHost(y), toTokenMajor(r.doubles("out"), batch, ch, len), 1e-5);
            Tensor du = cpu.allocate(rows, ch), dDelta = cpu.allocate(rows, ch), dz = cpu.allocate(rows, ch);
            Tensor dB = cpu.allocate(rows, n), dC = cpu.allocate(rows, n), dA = cpu.allocate(ch, n);
            Tensor dD = cpu.allocate(ch), dBias = cpu.allocate(ch);
            cpu.selectiveScanBackward(du, dDelta, dBias, dA, dB, dC, dD, dz, g, u, delta, bias, A, B, C, D, z, chunks, batch, len);
            assertClose("grad.u", cpu.toHost(du), toTokenMajor(r.doubles("grad.u"), batch, ch, len), 1e-4);
            assertClose("grad.delta", cpu.toHost(dDelta), toTokenMajor(r.doubles("grad.delta"), batch, ch, len), 1e-4);
            assertClose("grad.z", cpu.toHost(dz), toTokenMajor(r.doubles("grad.z"), batch, ch, len), 1e-4);
            assertClose("grad.B", cpu.toHost(dB), toTokenMajor(r.doubles("grad.B"), batch, n, len), 1e-4);
            assertClose("grad.C", cpu.toHost(dC), toTokenMajor(r.doubles("grad.C"), batch, n, len), 1e-4);
            assertClose("grad.A", cpu.toHost(dA), r.doubles("grad.A"), 1e-4);
            assertClose("grad.D", cpu.toHost(dD), r.doubles("grad.D"), 1e-4);
            assertClose("grad.delta_bias", cpu.toHost(dBias), r.doubles("grad.delta_bias"), 1e-4);
        }
    }
}
