package org.ssmtk.core.backend.cpu;

import org.ssmtk.core.backend.Shapes;
import org.ssmtk.core.backend.SsdShape;
import org.ssmtk.core.tensor.Tensor;

import static org.ssmtk.core.backend.cpu.CpuBackend.data;
import static org.ssmtk.core.backend.cpu.CpuBackend.off;

/**
 * CpuBackend's Mamba-2 operations: shape checks, then the kernels CpuSsd, CpuSsdBackward and CpuGatedRmsNorm over the
 * backend's thread pool (kept apart so that CpuBackend stays one screenful per concern).
 */
final class CpuSsdOps {
    private CpuSsdOps() {}

    private static final int NORM_ROWS = 64;

    private static CpuSsd.Operands operands(Tensor y, Tensor x, Tensor dt, Tensor dtBias, Tensor A, Tensor B, Tensor C, Tensor D,
                                            Tensor ssmState, Tensor chunkStates, int batch, int len, SsdShape s) {
        Shapes.ssd(y, x, dt, dtBias, A, B, C, D, ssmState, chunkStates, batch, len, s);
        return new CpuSsd.Operands(data(y), off(y), data(x), off(x), data(dt), off(dt), data(dtBias), off(dtBias),
                data(A), off(A), data(B), off(B), data(C), off(C), data(D), off(D),
                ssmState == null ? null : data(ssmState), ssmState == null ? 0 : off(ssmState),
                chunkStates == null ? null : data(chunkStates), chunkStates == null ? 0 : off(chunkStates), batch, len, s);
    }

    static void scan(Parallel par, Tensor y, Tensor x, Tensor dt, Tensor dtBias, Tensor A, Tensor B, Tensor C, Tensor D,
                     Tensor ssmState, Tensor chunkStates, int batch, int len, SsdShape s) {
        var o = operands(y, x, dt, dtBias, A, B, C, D, ssmState, chunkStates, batch, len, s);
        CpuSsd.run(par, o);
    }

    static void scanBackward(Parallel par, Tensor dx, Tensor dDt, Tensor dDtBias, Tensor dA, Tensor dB, Tensor dC, Tensor dD,
                             Tensor dOut, Tensor x, Tensor dt, Tensor dtBias, Tensor A, Tensor B, Tensor C, Tensor D,
                             Tensor chunkStates, int batch, int len, SsdShape s) {
        if (chunkStates == null) throw new IllegalArgumentException("SSD scan backward: the forward's chunk states are required");
        // dOut stands in for y: only its shape is checked, the backward never reads the forward's output
        var f = operands(dOut, x, dt, dtBias, A, B, C, D, null, chunkStates, batch, len, s);
        Shapes.ssdGradients(dx, x, dDt, dt, dB, B, dC, C, dA, dD, dDtBias, dOut, s.heads());
        var o = new CpuSsdBackward.Operands(f, data(dOut), off(dOut), data(dx), off(dx), data(dDt), off(dDt),
                data(dB), off(dB), data(dC), off(dC), CpuSsdBackward.newCarries(f), CpuSsdBackward.newPartials(f));
        par.forEach(CpuSsdBackward.carryTasks(f), task -> CpuSsdBackward.carry(o, task));
        par.forEach(CpuSsdBackward.tasks(f), task -> CpuSsdBackward.run(o, task));
        CpuSsdBackward.reduce(o, data(dA), off(dA), data(dD), off(dD), data(dDtBias), off(dDtBias));
    }

    private static CpuGatedRmsNorm.Operands normOperands(Tensor x, Tensor z, Tensor weight, int groupSize, float eps) {
        return new CpuGatedRmsNorm.Operands(data(x), off(x), data(z), off(z), data(weight), off(weight), x.cols(), groupSize, eps);
    }

    static void gatedRmsNorm(Parallel par, Tensor out, Tensor x, Tensor z, Tensor weight, int groupSize, float eps) {
        Shapes.gatedRmsNorm(out, x, z, weight, groupSize);
        var o = normOperands(x, z, weight, groupSize, eps);
        int m = x.rows2d();
        par.forEach((m + NORM_ROWS - 1) / NORM_ROWS, t ->
                CpuGatedRmsNorm.forward(o, data(out), off(out), t * NORM_ROWS, Math.min(m, (t + 1) * NORM_ROWS)));
    }

    static void gatedRmsNormBackward(Parallel par, Tensor dx, Tensor dz, Tensor dWeight, Tensor dOut, Tensor x, Tensor z,
                                     Tensor weight, int groupSize, float eps) {
        Shapes.gatedRmsNorm(dOut, x, z, weight, groupSize);
        Shapes.gatedRmsNorm(dx, dz, x, dWeight, groupSize);
        var o = normOperands(x, z, weight, groupSize, eps);
        int m = x.rows2d(), width = x.cols(), tasks = (m + NORM_ROWS - 1) / NORM_ROWS;
        float[] partial = new float[tasks * width];
        par.forEach(tasks, t -> {
            float[] row = new float[width];
            CpuGatedRmsNorm.backward(o, data(dOut), off(dOut), data(dx), off(dx), data(dz), off(dz), row,
                    t * NORM_ROWS, Math.min(m, (t + 1) * NORM_ROWS));
            System.arraycopy(row, 0, partial, t * width, width);
        });
        float[] dw = data(dWeight);
        int dwo = off(dWeight);
        for (int t = 0; t < tasks; t++)
            for (int i = 0; i < width; i++) dw[dwo + i] += partial[t * width + i];
    }
}
