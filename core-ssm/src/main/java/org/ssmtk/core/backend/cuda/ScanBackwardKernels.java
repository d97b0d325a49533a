package org.ssmtk.core.backend.cuda;

import org.ssmtk.core.backend.cuda.ScanForwardKernels.Inputs;

import static org.ssmtk.core.backend.cuda.Kernel.Param.I32;
import static org.ssmtk.core.backend.cuda.Kernel.Param.PTR;

/**
 * Typed launch of scan_backward.cu (beside this file): scan_bwd, one block per (sequence, chunk,
 * channel group), with the dynamic shared memory its layout (ScanBwdSmem in the .cu) needs, as
 * exported into the PTX. Every long is a device address (0: absent).
 */
final class ScanBackwardKernels {
    static final String MODULE = "scan_backward.ptx";
    static final Kernel[][] BACKWARD = ScanForwardKernels.variants(MODULE, "scan_bwd_", PTR, PTR, PTR, PTR, PTR, I32, PTR,
            PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32);

    private final Launcher gpu;
    /** Threads and channels of a block. */
    final int threads, channels;
    /** Dynamic shared memory of a block per padded width (ScanForwardKernels.WIDTHS). */
    private final int[] sharedBytes = new int[ScanForwardKernels.WIDTHS.length];

    ScanBackwardKernels(Launcher gpu) {
        this.gpu = gpu;
        PtxModule module = gpu.module(MODULE);
        threads = module.constant("SCAN_BWD_THREADS");
        channels = module.constant("SCAN_BWD_CH");
        for (int w = 0; w < sharedBytes.length; w++)
            sharedBytes[w] = module.constant("SCAN_BWD_SMEM_BYTES_" + ScanForwardKernels.WIDTHS[w]);
        if (module.constant("SCAN_CHUNK") != gpu.module(ScanForwardKernels.MODULE).constant("SCAN_CHUNK"))
            throw new IllegalStateException("scan_forward.ptx and scan_backward.ptx disagree on SCAN_CHUNK: rebuild both");
    }

    /** Channel groups of one block each. */
    int groups(int ch) {
        return (ch + channels - 1) / channels;
    }

    /** Floats of look-back publication per block: one state quarter per lane. */
    int publicationFloats(int nm) {
        return threads * (nm / 4);
    }

    /** Dynamic shared memory of one block for padded width nm. */
    int sharedBytes(int nm) {
        for (int w = 0; w < sharedBytes.length; w++) if (ScanForwardKernels.WIDTHS[w] == nm) return sharedBytes[w];
        throw new IllegalArgumentException("no scan kernel for padded d_state " + nm);
    }

    /**
     * du, dDelta, dz, dB, dC += the gradients; partA (batch, chunks, ch, n), partD and partBias
     * (batch, chunks, ch) receive per-chunk partial sums. lbAgg, lbIncl (blocks x publicationFloats),
     * lbSdt (blocks x channels) and lbFlag (blocks + 1 ints, zeroed) are the look-back's scratch.
     * overwrite's bits (du 1, dDelta 2, dz 4) name the gradients that are all zeros: those are
     * written, not added to; dDelta16 and dz16 (0: none; only with their overwrite bit) receive
     * dDelta and dz rounded to bf16.
     */
    void backward(Inputs in, int nm, long du, long dDelta, long dz, long dDelta16, long dz16, int overwrite, long dB,
                  long dC, long partA, long partD, long partBias, long dOut, long u, long delta, long deltaBias, long a,
                  long b, long c, long d, long z, long chunkStates, long lbAgg, long lbIncl, long lbSdt, long lbFlag,
                  int batch, int len, int ch, int n, int chunks) {
        gpu.launch((long) groups(ch) * chunks, batch, threads, 1, sharedBytes(nm), ScanForwardKernels.pick(BACKWARD, in, nm)
                .args().ptr(du).ptr(dDelta).ptr(dz).ptr(dDelta16).ptr(dz16).i32(overwrite).ptr(dB).ptr(dC).ptr(partA).ptr(partD).ptr(partBias).ptr(dOut).ptr(u)
                .ptr(delta).ptr(deltaBias).ptr(a).ptr(b).ptr(c).ptr(d).ptr(z).ptr(chunkStates).ptr(lbAgg).ptr(lbIncl)
                .ptr(lbSdt).ptr(lbFlag).i32(len).i32(ch).i32(n).i32(chunks));
    }
}
