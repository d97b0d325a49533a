package org.ssmtk.core.backend.cuda;

import org.ssmtk.core.backend.Shapes;
import org.ssmtk.core.backend.SsdShape;
import org.ssmtk.core.tensor.Tensor;

import static org.ssmtk.core.backend.cuda.DeviceMemory.addr;

/**
 * Mamba-2 on the GPU: the Backend's SSD scan, its backward and the gated RMSNorm, as launches of
 * {@link SsdKernels} (ssd.cu) with their scratch. The algorithm is CpuSsd's chunked SSD; the order
 * of launches here is what dev/cuda/host/ssd_host_check.cpp repeats (scripts/ssd-host-check.sh).
 *
 * <p>Forward: time steps (w, l per row and head), then, unless the call is one chunk from a zero
 * state that keeps nothing, each chunk's own state and the pass over chunks that turns them into
 * entering states (in place, in chunkStates when training keeps them); then each chunk's Gram
 * matrix C B^T and the outputs. A call of one step that keeps no chunk states (decoding) is one
 * kernel. Backward: time steps with d w / d pre, the adjoint carried into each chunk (its own part,
 * then a pass from the last chunk back), the Gram matrices, their gradient dG (summed over a group's
 * heads), then dC, dB, dx and per chunk d dt and the per-head sums (added by column sums). The
 * backward's partial sums of dl, dw, dq, dD and of the carries against the kept states go through
 * one slot each (no atomics), so a run repeats its bits.
 */
final class CudaSsd {
    /** Dynamic shared memory a block may take beside the tiled kernels' static 38 KB at most (those that take it), on every GPU of compute capability 8.0 and later (dB's head table: 320 heads a group). */
    private static final int MAX_SHARED = 80 * 1024;

    private final CudaContext context;
    private final DeviceMemory memory;
    private final SsdKernels k;
    private final ReductionKernels reduce;

    CudaSsd(CudaContext context, DeviceMemory memory, ReductionKernels reduce, SsdKernels.Products products) {
        this.context = context;
        this.memory = memory;
        this.k = new SsdKernels(context, products);
        this.reduce = reduce;
    }

    private void checkShared(SsdShape s) {
        int need = SsdKernels.stagedShared(s.chunk());
        if (need > MAX_SHARED)
            throw new IllegalArgumentException("cuda SSD scan: chunk_size " + s.chunk() + " needs " + need
                    + " bytes of shared memory per block, over " + MAX_SHARED + "; use --device cpu");
    }

    void scan(Tensor y, Tensor x, Tensor dt, Tensor dtBias, Tensor A, Tensor B, Tensor C, Tensor D, Tensor ssmState,
              Tensor chunkStates, int batch, int len, SsdShape s) {
        Shapes.ssd(y, x, dt, dtBias, A, B, C, D, ssmState, chunkStates, batch, len, s);
        checkShared(s);
        context.current();
        int heads = s.heads(), p = s.headDim(), groups = s.nGroups(), n = s.stateSize(), q = s.chunk(), nc = s.chunks(len);
        if (len == 1 && chunkStates == null) {
            k.step(addr(y), addr(ssmState), addr(x), addr(dt), addr(dtBias), addr(A), addr(B), addr(C), addr(D), batch, heads,
                    p, groups, n, s.dtMin(), s.dtMax());
            return;
        }
        long rows = (long) batch * len;
        try (DeviceMemory.Scratch sc = memory.scratch()) {
            long w = sc.floats(rows * heads), l = sc.bytes(rows * heads * Double.BYTES);
            k.timeSteps(w, l, 0, addr(dt), addr(dtBias), addr(A), batch, len, heads, q, s.dtMin(), s.dtMax());
            long states = 0;
            if (nc > 1 || ssmState != null || chunkStates != null) {
                states = chunkStates != null ? addr(chunkStates) : sc.floats((long) batch * nc * heads * p * n);
                k.chunkState(states, addr(x), addr(B), w, l, batch, len, heads, p, groups, n, q);
                k.statePass(states, addr(ssmState), l, batch, len, heads, p * n, q);
            }
            long g = sc.floats(SsdKernels.gramFloats(batch, len, groups, q));
            k.gram(g, addr(B), addr(C), batch, len, groups, n, q);
            k.chunkOutput(addr(y), addr(x), addr(C), addr(D), g, states, w, l, batch, len, heads, p, groups, n, q);
        }
    }

    void backward(Tensor dx, Tensor dDt, Tensor dDtBias, Tensor dA, Tensor dB, Tensor dC, Tensor dD, Tensor dOut, Tensor x,
                  Tensor dt, Tensor dtBias, Tensor A, Tensor B, Tensor C, Tensor D, Tensor chunkStates, int batch, int len,
                  SsdShape s) {
        if (chunkStates == null) throw new IllegalArgumentException("SSD scan backward: the forward's chunk states are required");
        // dOut stands in for y: only its shape is checked, the backward never reads the forward's output
        Shapes.ssd(dOut, x, dt, dtBias, A, B, C, D, null, chunkStates, batch, len, s);
        Shapes.ssdGradients(dx, x, dDt, dt, dB, B, dC, C, dA, dD, dDtBias, dOut, s.heads());
        checkShared(s);
        int table = k.headTableShared(s.heads(), s.nGroups());
        if (table > MAX_SHARED)
            throw new IllegalArgumentException("cuda SSD scan backward: " + s.heads() / s.nGroups() + " heads per group need " + table
                    + " bytes of shared memory per block, over " + MAX_SHARED + "; use --device cpu");
        context.current();
        int heads = s.heads(), p = s.headDim(), groups = s.nGroups(), n = s.stateSize(), q = s.chunk(), nc = s.chunks(len);
        long rows = (long) batch * len, perHead = rows * heads, chunkHeads = (long) batch * nc * heads;
        boolean overwriteDx = memory.takeZero(dx); // a deferred zero fill (DeviceMemory.deferZero): bwd_dx writes it
        try (DeviceMemory.Scratch sc = memory.scratch()) {
            long w = sc.floats(perHead), gw = sc.floats(perHead), l = sc.bytes(perHead * Double.BYTES);
            long parts = sc.bytes(perHead * k.slots(q, n, p) * Double.BYTES);
            long carries = sc.floats(chunkHeads * p * n), held = sc.bytes(chunkHeads * SsdKernels.heldSlots(p * n) * Double.BYTES);
            long g = sc.floats(SsdKernels.gramFloats(batch, len, groups, q)), dG = sc.floats(SsdKernels.gramFloats(batch, len, groups, q));
            long partA = sc.floats(chunkHeads), partD = sc.floats(chunkHeads), partBias = sc.floats(chunkHeads);
            long states = addr(chunkStates), y = addr(dOut);
            k.timeSteps(w, l, gw, addr(dt), addr(dtBias), addr(A), batch, len, heads, q, s.dtMin(), s.dtMax());
            k.carryLocal(carries, y, addr(C), l, batch, len, heads, p, groups, n, q);
            k.carryPass(carries, held, states, l, batch, len, heads, p * n, q);
            k.gram(g, addr(B), addr(C), batch, len, groups, n, q);
            k.backwardGram(dG, parts, y, addr(x), g, w, l, batch, len, heads, p, groups, n, q);
            k.backwardC(addr(dC), parts, y, addr(B), addr(C), dG, states, l, batch, len, heads, p, groups, n, q);
            k.backwardB(addr(dB), addr(x), addr(C), dG, carries, w, l, batch, len, heads, p, groups, n, q);
            k.backwardX(addr(dx), parts, y, addr(x), addr(B), addr(D), g, carries, w, l, batch, len, heads, p, groups, n, q,
                    overwriteDx);
            k.backwardFinish(addr(dDt), partA, partD, partBias, parts, held, w, gw, l, addr(A), batch, len, heads, p, n, q);
            reduce.columnSums(addr(dA), partA, 0, 0, (long) batch * nc, heads);
            reduce.columnSums(addr(dD), partD, 0, 0, (long) batch * nc, heads);
            reduce.columnSums(addr(dDtBias), partBias, 0, 0, (long) batch * nc, heads);
        }
    }

    /** out16: 0, or where out's bf16 twin is written beside it (CudaBackend.twinOut). */
    void gatedRmsNorm(Tensor out, long out16, Tensor x, Tensor z, Tensor weight, int groupSize, float eps) {
        Shapes.gatedRmsNorm(out, x, z, weight, groupSize);
        context.current();
        int rows = x.rows2d(), width = x.cols();
        if (rows == 0 || width == 0) return;
        k.gatedRmsNorm(addr(out), out16, addr(x), addr(z), addr(weight), rows, width, groupSize, eps);
    }

    void gatedRmsNormBackward(Tensor dx, Tensor dz, Tensor dWeight, Tensor dOut, Tensor x, Tensor z, Tensor weight,
                              int groupSize, float eps) {
        Shapes.gatedRmsNorm(dOut, x, z, weight, groupSize);
        Shapes.gatedRmsNorm(dx, dz, x, dWeight, groupSize);
        context.current();
        int rows = x.rows2d(), width = x.cols();
        if (rows == 0 || width == 0) return;
        // a deferred zero fill of dx or dz (DeviceMemory.deferZero) is taken before any address is
        boolean overwriteDx = memory.takeZero(dx), overwriteDz = memory.takeZero(dz);
        try (DeviceMemory.Scratch sc = memory.scratch()) {
            int slabs = k.normSlabs(rows);
            long part = sc.floats((long) slabs * width);
            if (k.normBackwardNarrow(groupSize))
                k.gatedRmsNormBackward(addr(dx), addr(dz), part, addr(dOut), addr(x), addr(z), addr(weight), rows, width, groupSize,
                        eps, overwriteDx, overwriteDz);
            else
                k.gatedRmsNormBackwardWide(addr(dx), addr(dz), part, addr(dOut), addr(x), addr(z), addr(weight), rows, width,
                        groupSize, eps, overwriteDx, overwriteDz);
            reduce.columnSums(addr(dWeight), part, 0, 0, slabs, width);
        }
    }
}
