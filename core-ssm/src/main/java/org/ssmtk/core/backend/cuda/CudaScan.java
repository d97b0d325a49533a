package org.ssmtk.core.backend.cuda;

import org.ssmtk.core.backend.Shapes;
import org.ssmtk.core.backend.cuda.ScanForwardKernels.Inputs;
import org.ssmtk.core.tensor.Tensor;

import java.util.Locale;
import java.util.Objects;

import static org.ssmtk.core.backend.cuda.DeviceMemory.addr;

/**
 * The selective scan on the GPU: which forward kernels run, their scratch, and the backward. The
 * Backend's scan operations come here; so do the bf16-input entry points that only ScanBench and
 * CudaScanBf16Test reach (a bf16 buffer is a Tensor whose fp32 storage holds two bf16 values per
 * element; {@link CudaBackend#toBf16} makes one).
 */
public final class CudaScan {
    /**
     * Which forward scan runs. CHUNKED splits time into chunks run in parallel (three kernels, every
     * decay taken twice); ONE_PASS walks each sequence once per block of channels, which is faster
     * when batch x channel blocks alone fill the GPU and far slower when they do not. AUTO (the
     * default; system property ssmtk.cuda.scanForward) picks by that count.
     */
    public enum Forward { AUTO, CHUNKED, ONE_PASS }

    private final CudaBackend backend;
    private final CudaContext context;
    private final DeviceMemory memory;
    private final ScanForwardKernels fwd;
    private final ScanBackwardKernels bwd;
    private final ReductionKernels reduce;
    private volatile Forward forward = Forward.valueOf(
            System.getProperty("ssmtk.cuda.scanForward", "auto").toUpperCase(Locale.ROOT).replace('-', '_'));

    CudaScan(CudaBackend backend, CudaContext context, DeviceMemory memory, ReductionKernels reduce) {
        this.backend = backend;
        this.context = context;
        this.memory = memory;
        this.fwd = new ScanForwardKernels(context);
        this.bwd = new ScanBackwardKernels(context);
        this.reduce = reduce;
    }

    /** Steps per kept state (the kernels' SCAN_CHUNK). */
    public int chunk() {
        return fwd.chunk;
    }

    /** Kept states for len steps. */
    public int chunks(int len) {
        return fwd.chunks(len);
    }

    /** Sets which forward scan runs (tests and the benchmark run both; AUTO is the default). */
    public void forward(Forward path) {
        forward = Objects.requireNonNull(path);
    }

    /** Whether the forward takes one pass: batch x channel blocks give every SM at least two blocks. */
    public boolean onePass(int batch, int ch) {
        return switch (forward) {
            case ONE_PASS -> true;
            case CHUNKED -> false;
            case AUTO -> (long) batch * ((ch + fwd.onePassChannels - 1) / fwd.onePassChannels) >= 2L * context.multiprocessors();
        };
    }

    void forward(Tensor y, Tensor u, Tensor delta, Tensor deltaBias, Tensor A, Tensor B, Tensor C, Tensor D, Tensor z,
                 Tensor ssmState, Tensor chunkStates, int batch, int len) {
        Shapes.scan(y, u, delta, A, B, C, z, ssmState, chunkStates, batch, len, chunk());
        forwardKernels(Inputs.FP32, y, u, delta, deltaBias, A, B, C, D, z, ssmState, chunkStates, batch, len, u.cols(), A.cols());
    }

    private void forwardKernels(Inputs in, Tensor y, Tensor u, Tensor delta, Tensor deltaBias, Tensor A, Tensor B, Tensor C,
                                Tensor D, Tensor z, Tensor ssmState, Tensor chunkStates, int batch, int len, int ch, int n) {
        int nm = ScanForwardKernels.padded(n), nc = chunks(len);
        context.current();
        if (batch == 0 || len == 0 || ch == 0) return;
        long state = addr(ssmState);
        if (onePass(batch, ch)) {
            // SCAN_CHUNK is a whole number of the kernel's tiles, so it writes every kept state itself;
            // fp32 y also in bf16 where a product reads it next (CudaBackend.twinOut)
            long y16 = in == Inputs.FP32 ? backend.twinOut(y) : 0;
            fwd.onePass(in, nm, addr(y), y16, addr(u), addr(delta), addr(deltaBias), addr(A), addr(B), addr(C), addr(D), addr(z),
                    state, state, addr(chunkStates), batch, len, ch, n);
            if (y16 != 0) memory.twinWritten(y);
            return;
        }
        if (nc == 1) {
            if (chunkStates != null) backend.fill(chunkStates, 0f);
            fwd.chunkOutput(in, nm, addr(y), addr(u), addr(delta), addr(deltaBias), addr(A), addr(B), addr(C), addr(D),
                    addr(z), state, state, batch, len, ch, n);
            return;
        }
        try (DeviceMemory.Scratch s = memory.scratch()) {
            long states = (long) batch * nc * ch * n;
            long local = s.floats(states), sumDt = s.floats((long) batch * nc * ch);
            long enter = chunkStates != null ? addr(chunkStates) : s.floats(states);
            fwd.chunkLocal(in, nm, addr(u), addr(delta), addr(deltaBias), addr(A), addr(B), local, sumDt, batch, len, ch, n);
            fwd.combine(local, sumDt, addr(A), state, enter, batch, ch, n, nc);
            fwd.chunkOutput(in, nm, addr(y), addr(u), addr(delta), addr(deltaBias), addr(A), addr(B), addr(C), addr(D),
                    addr(z), enter, state, batch, len, ch, n);
        }
    }

    void backward(Tensor du, Tensor dDelta, Tensor dDeltaBias, Tensor dA, Tensor dB, Tensor dC, Tensor dD, Tensor dz,
                  Tensor dOut, Tensor u, Tensor delta, Tensor deltaBias, Tensor A, Tensor B, Tensor C, Tensor D, Tensor z,
                  Tensor chunkStates, int batch, int len) {
        Shapes.scan(dOut, u, delta, A, B, C, z, null, chunkStates, batch, len, chunk());
        Shapes.scanGradients(deltaBias, dDeltaBias, D, dD, z, dz);
        Shapes.sameSize("scan backward du", du, u);
        Shapes.sameSize("scan backward dDelta", dDelta, u);
        Shapes.sameSize("scan backward dA", dA, A);
        Shapes.sameSize("scan backward dB", dB, B);
        Shapes.sameSize("scan backward dC", dC, C);
        backwardKernels(Inputs.FP32, du, dDelta, dDeltaBias, dA, dB, dC, dD, dz, dOut, u, delta, deltaBias, A, B, C, D, z,
                chunkStates, batch, len, u.cols(), A.cols());
    }

    private void backwardKernels(Inputs in, Tensor du, Tensor dDelta, Tensor dDeltaBias, Tensor dA, Tensor dB, Tensor dC,
                                 Tensor dD, Tensor dz, Tensor dOut, Tensor u, Tensor delta, Tensor deltaBias, Tensor A,
                                 Tensor B, Tensor C, Tensor D, Tensor z, Tensor chunkStates, int batch, int len, int ch, int n) {
        int nm = ScanForwardKernels.padded(n), nc = chunks(len);
        context.current();
        if (batch == 0 || len == 0 || ch == 0) return;
        long blocks = (long) bwd.groups(ch) * nc * batch;
        try (DeviceMemory.Scratch s = memory.scratch()) {
            // look-back publications per block (its lanes' states) and the ticket counter + flags, zeroed
            long lbAgg = s.floats(blocks * bwd.publicationFloats(nm)), lbIncl = s.floats(blocks * bwd.publicationFloats(nm));
            long lbSdt = s.floats(blocks * bwd.channels);
            Tensor lbFlag = s.tensor(blocks + 1);
            backend.fill(lbFlag, 0f);
            long partA = s.floats((long) batch * nc * ch * n);
            long partD = D == null ? 0 : s.floats((long) batch * nc * ch);
            long partBias = deltaBias == null ? 0 : s.floats((long) batch * nc * ch);
            // gradients whose zeroing was deferred (bf16) are written, not added to; dDelta and dz
            // then also in bf16 for the products that read them next (CudaBackend.twinOut)
            int overwrite = (memory.takeZero(du) ? 1 : 0) | (memory.takeZero(dDelta) ? 2 : 0)
                    | (dz != null && memory.takeZero(dz) ? 4 : 0);
            long dDelta16 = (overwrite & 2) != 0 ? backend.twinOut(dDelta) : 0, dz16 = (overwrite & 4) != 0 ? backend.twinOut(dz) : 0;
            bwd.backward(in, nm, addr(du), addr(dDelta), addr(dz), dDelta16, dz16, overwrite, addr(dB), addr(dC), partA,
                    partD, partBias, addr(dOut),
                    addr(u), addr(delta), addr(deltaBias), addr(A), addr(B), addr(C), addr(D), addr(z), addr(chunkStates),
                    lbAgg, lbIncl, lbSdt, addr(lbFlag), batch, len, ch, n, nc);
            if (dDelta16 != 0) memory.twinWritten(dDelta);
            if (dz16 != 0) memory.twinWritten(dz);
            reduce.columnSums(addr(dA), partA, 0, 0, (long) batch * nc, ch * n);
            if (partD != 0) reduce.columnSums(addr(dD), partD, 0, 0, (long) batch * nc, ch);
            if (partBias != 0) reduce.columnSums(addr(dDeltaBias), partBias, 0, 0, (long) batch * nc, ch);
        }
    }

    /** The bf16 operands both directions share: y or dOut, u, delta, z (rows, ch); B, C (rows, n). */
    private static void checkBf16Inputs(String yName, Tensor yOrDOut, Tensor u, Tensor delta, Tensor z, Tensor B, Tensor C,
                                        long rows, int ch, int n) {
        checkBf16(yName, yOrDOut, rows * ch);
        checkBf16("u", u, rows * ch);
        checkBf16("delta", delta, rows * ch);
        checkBf16("z", z, rows * ch);
        checkBf16("B", B, rows * n);
        checkBf16("C", C, rows * n);
    }

    private static void checkBf16(String what, Tensor t, long elements) {
        if (t != null && t.size() != Math.max(1, (elements + 1) / 2))
            throw new IllegalArgumentException("bf16 scan: " + what + " holds " + t.size() + " pairs, not " + elements + " bf16 values");
    }

    /**
     * Backend.selectiveScanTraining with u, delta, B, C, z (and y out) in bf16; A, D, the bias, the
     * state and the arithmetic fp32. ch and n come from A (ch, n).
     */
    public void trainingBf16(Tensor y, Tensor u, Tensor delta, Tensor deltaBias, Tensor A, Tensor B, Tensor C, Tensor D,
                             Tensor z, Tensor chunkStates, int batch, int len) {
        int ch = A.rows2d(), n = A.cols();
        long rows = (long) batch * len;
        checkBf16Inputs("y", y, u, delta, z, B, C, rows, ch, n);
        if (chunkStates == null || chunkStates.size() != (long) batch * chunks(len) * ch * n)
            throw new IllegalArgumentException("bf16 scan: chunk states " + chunkStates);
        forwardKernels(Inputs.BF16, y, u, delta, deltaBias, A, B, C, D, z, null, chunkStates, batch, len, ch, n);
    }

    /** Backend.selectiveScanBackward with dOut, u, delta, B, C, z in bf16; every gradient fp32 and accumulated (+=). */
    public void backwardBf16(Tensor du, Tensor dDelta, Tensor dDeltaBias, Tensor dA, Tensor dB, Tensor dC, Tensor dD,
                             Tensor dz, Tensor dOut, Tensor u, Tensor delta, Tensor deltaBias, Tensor A, Tensor B, Tensor C,
                             Tensor D, Tensor z, Tensor chunkStates, int batch, int len) {
        int ch = A.rows2d(), n = A.cols();
        long rows = (long) batch * len;
        checkBf16Inputs("dOut", dOut, u, delta, z, B, C, rows, ch, n);
        Shapes.scanGradients(deltaBias, dDeltaBias, D, dD, z, dz);
        if (du.size() != rows * ch || dDelta.size() != rows * ch || (dz != null && dz.size() != rows * ch)
                || dA.size() != (long) ch * n || dB.size() != rows * n || dC.size() != rows * n
                || chunkStates.size() != (long) batch * chunks(len) * ch * n)
            throw new IllegalArgumentException("bf16 scan backward: inconsistent gradient or state sizes");
        backwardKernels(Inputs.BF16, du, dDelta, dDeltaBias, dA, dB, dC, dD, dz, dOut, u, delta, deltaBias, A, B, C, D, z,
                chunkStates, batch, len, ch, n);
    }
}
