package org.ssmtk.core.backend.cuda;

import static org.ssmtk.core.backend.cuda.Kernel.Param.I32;
import static org.ssmtk.core.backend.cuda.Kernel.Param.PTR;

/**
 * Typed launches of scan_forward.cu (beside this file). Each scan kernel exists per {@link Inputs}
 * and per padded state width (4, 8, 16: the template instances); the variants are declared here,
 * once, and picked by value at the launch. Every long is a device address (0: absent).
 */
final class ScanForwardKernels {
    static final String MODULE = "scan_forward.ptx";

    /** What the per-step operands (u, delta, B, C, z, y or dOut) are stored as; the rest is fp32. */
    enum Inputs {
        FP32(""), BF16("bf16_");

        final String infix;

        Inputs(String infix) {
            this.infix = infix;
        }
    }

    /** The padded state widths the kernels are instantiated for, smallest first. */
    static final int[] WIDTHS = {4, 8, 16};

    /** The smallest instance that holds n states. */
    static int padded(int n) {
        for (int w : WIDTHS) if (n <= w) return w;
        throw new IllegalArgumentException("cuda selective scan: d_state " + n + " is over " + WIDTHS[WIDTHS.length - 1]
                + ", the most the kernels keep in registers; use --device cpu");
    }

    /** One declaration per (inputs, width) of a templated entry named base + inputs infix + width. */
    static Kernel[][] variants(String module, String base, Kernel.Param... params) {
        Kernel[][] k = new Kernel[Inputs.values().length][WIDTHS.length];
        for (Inputs in : Inputs.values())
            for (int w = 0; w < WIDTHS.length; w++) k[in.ordinal()][w] = Kernel.of(module, base + in.infix + WIDTHS[w], params);
        return k;
    }

    static Kernel pick(Kernel[][] variants, Inputs inputs, int paddedWidth) {
        for (int w = 0; w < WIDTHS.length; w++) if (WIDTHS[w] == paddedWidth) return variants[inputs.ordinal()][w];
        throw new IllegalArgumentException("no scan kernel for padded d_state " + paddedWidth);
    }

    static final Kernel[][] CHUNK_LOCAL = variants(MODULE, "scan_chunk_local_", PTR, PTR, PTR, PTR, PTR, PTR, PTR,
            I32, I32, I32, I32);
    static final Kernel[][] CHUNK_OUTPUT = variants(MODULE, "scan_chunk_output_", PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR,
            PTR, PTR, PTR, I32, I32, I32, I32);
    static final Kernel[][] ONE_PASS = variants(MODULE, "scan_seq_", PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR,
            PTR, PTR, I32, I32, I32, I32);
    static final Kernel COMBINE = Kernel.of(MODULE, "scan_combine", PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32);
    /** Block of scan_combine, one thread per (channel, state): any size works. */
    private static final int COMBINE_THREADS = 128;

    private final Launcher gpu;
    /** Steps per kept state, threads of the chunked kernels, channels and threads of a one-pass block. */
    final int chunk, chunkThreads, onePassChannels, onePassThreads;

    ScanForwardKernels(Launcher gpu) {
        this.gpu = gpu;
        PtxModule m = gpu.module(MODULE);
        chunk = m.constant("SCAN_CHUNK");
        chunkThreads = m.constant("SCAN_THREADS");
        onePassChannels = m.constant("SEQ_CH");
        onePassThreads = m.constant("SEQ_THREADS");
    }

    int chunks(int len) {
        return (len + chunk - 1) / chunk;
    }

    private long chunkedGrid(int ch, int len) {
        return (long) ((ch + chunkThreads - 1) / chunkThreads) * chunks(len);
    }

    /** Each chunk from a zero state: its end state into local (batch, chunks, ch, n), its sum of dt into sumDt. */
    void chunkLocal(Inputs in, int nm, long u, long delta, long deltaBias, long a, long b, long local, long sumDt,
                    int batch, int len, int ch, int n) {
        gpu.launch(chunkedGrid(ch, len), batch, chunkThreads, 1, 0, pick(CHUNK_LOCAL, in, nm).args().ptr(u).ptr(delta)
                .ptr(deltaBias).ptr(a).ptr(b).ptr(local).ptr(sumDt).i32(len).i32(ch).i32(n).i32(chunks(len)));
    }

    /** The state entering every chunk into enter, from h0 (or zero) and the chunks' local results. */
    void combine(long local, long sumDt, long a, long h0, long enter, int batch, int ch, int n, int chunks) {
        gpu.launch(((long) ch * n + COMBINE_THREADS - 1) / COMBINE_THREADS, batch, COMBINE_THREADS, 1, 0,
                COMBINE.args().ptr(local).ptr(sumDt).ptr(a).ptr(h0).ptr(enter).i32(ch).i32(n).i32(chunks).i32(0));
    }

    /** Each chunk from its entering state (enter, or zero): y, and the last state into finalState. */
    void chunkOutput(Inputs in, int nm, long y, long u, long delta, long deltaBias, long a, long b, long c, long d, long z,
                     long enter, long finalState, int batch, int len, int ch, int n) {
        gpu.launch(chunkedGrid(ch, len), batch, chunkThreads, 1, 0, pick(CHUNK_OUTPUT, in, nm).args().ptr(y).ptr(u)
                .ptr(delta).ptr(deltaBias).ptr(a).ptr(b).ptr(c).ptr(d).ptr(z).ptr(enter).ptr(finalState)
                .i32(len).i32(ch).i32(n).i32(chunks(len)));
    }

    /** The one-pass forward: y, the states entering every chunk (if chunkStates) and the last one. */
    void onePass(Inputs in, int nm, long y, long y16, long u, long delta, long deltaBias, long a, long b, long c, long d,
                 long z, long h0, long finalState, long chunkStates, int batch, int len, int ch, int n) {
        gpu.launch((ch + onePassChannels - 1) / onePassChannels, batch, onePassThreads, 1, 0, pick(ONE_PASS, in, nm).args()
                .ptr(y).ptr(y16).ptr(u).ptr(delta).ptr(deltaBias).ptr(a).ptr(b).ptr(c).ptr(d).ptr(z).ptr(h0).ptr(finalState)
                .ptr(chunkStates).i32(len).i32(ch).i32(n).i32(chunks(len)));
    }
}
