package org.ssmtk.core.backend.cuda;

import static org.ssmtk.core.backend.cuda.Kernel.Param.F32;
import static org.ssmtk.core.backend.cuda.Kernel.Param.I32;
import static org.ssmtk.core.backend.cuda.Kernel.Param.PTR;

/**
 * Typed launches of ssd.cu (beside this file): Mamba-2's SSD scan, forward, backward and the
 * decoding step, and the gated RMSNorm. Every long is a device address (0: absent); {@link CudaSsd}
 * orders the launches and owns the scratch. Dimensions: batch sequences of len steps, heads of p
 * channels, groups of n states, chunks of q steps.
 */
final class SsdKernels {
    static final String MODULE = "ssd.ptx";
    static final Kernel TIME_STEPS = Kernel.of(MODULE, "ssd_time_steps", PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32,
            F32, F32);
    static final Kernel CHUNK_STATE = Kernel.of(MODULE, "ssd_chunk_state", PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32, I32, I32);
    static final Kernel CARRY_LOCAL = Kernel.of(MODULE, "ssd_carry_local", PTR, PTR, PTR, PTR, I32, I32, I32, I32, I32, I32);
    static final Kernel STATE_PASS = Kernel.of(MODULE, "ssd_state_pass", PTR, PTR, PTR, I32, I32, I32, I32, I32);
    static final Kernel CARRY_PASS = Kernel.of(MODULE, "ssd_carry_pass", PTR, PTR, I32, I32, I32, I32, I32);
    static final Kernel CHUNK_OUTPUT = Kernel.of(MODULE, "ssd_chunk_output", PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR,
            I32, I32, I32, I32, I32, I32);
    static final Kernel STEP = Kernel.of(MODULE, "ssd_step", PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32,
            F32, F32);
    static final Kernel BWD_ROWS = Kernel.of(MODULE, "ssd_bwd_rows", PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR,
            I32, I32, I32, I32, I32, I32);
    static final Kernel BWD_COLS = Kernel.of(MODULE, "ssd_bwd_cols", PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR,
            PTR, PTR, I32, I32, I32, I32, I32, I32);
    static final Kernel BWD_FINISH = Kernel.of(MODULE, "ssd_bwd_finish", PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR,
            PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32, I32);
    static final Kernel NORM = Kernel.of(MODULE, "gated_rms_norm", PTR, PTR, PTR, PTR, I32, I32, F32);
    static final Kernel NORM_BACKWARD = Kernel.of(MODULE, "gated_rms_norm_backward", PTR, PTR, PTR, PTR, PTR, PTR, PTR,
            I32, I32, F32);

    private final Launcher gpu;
    /** Threads of the block-per-chunk kernels; rows of an output tile; rows / columns of a backward tile; norm threads. */
    final int threads, tile, bwdTile, normThreads;

    SsdKernels(Launcher gpu) {
        this.gpu = gpu;
        PtxModule m = gpu.module(MODULE);
        threads = m.constant("SSD_THREADS");
        tile = m.constant("SSD_TILE");
        bwdTile = m.constant("SSD_BWD_TILE");
        normThreads = m.constant("SSD_NORM_THREADS");
    }

    static int chunks(int len, int q) {
        return (len + q - 1) / q;
    }

    /** Dynamic shared memory of each block-per-chunk kernel for chunks of q steps and n states, in bytes. */
    int outputShared(int q) {
        return 2 * tile * q * Float.BYTES;
    }

    int rowsShared(int q, int n) {
        return bwdTile * Double.BYTES + (2 * bwdTile * q + bwdTile * n) * Float.BYTES;
    }

    int colsShared(int q, int n) {
        return 3 * bwdTile * Double.BYTES + (3 * bwdTile * q + bwdTile * n) * Float.BYTES;
    }

    /** w, l (doubles) and, when gw is not 0, d w / d(dt + bias), per (row, head). */
    void timeSteps(long w, long l, long gw, long dt, long dtBias, long a, int batch, int len, int heads, int q,
                   float dtMin, float dtMax) {
        gpu.launch1d((long) batch * chunks(len, q) * heads, TIME_STEPS.args().ptr(w).ptr(l).ptr(gw).ptr(dt).ptr(dtBias).ptr(a)
                .i32(batch).i32(len).i32(heads).i32(q).f32(dtMin).f32(dtMax));
    }

    /** Each chunk's own part of the state leaving it, into states (batch, chunks, heads, p, n). */
    void chunkState(long states, long x, long b, long w, long l, int batch, int len, int heads, int p, int groups, int n, int q) {
        gpu.launch((long) batch * chunks(len, q) * heads, 1, threads, 1, q * Float.BYTES, CHUNK_STATE.args().ptr(states).ptr(x)
                .ptr(b).ptr(w).ptr(l).i32(len).i32(heads).i32(p).i32(groups).i32(n).i32(q));
    }

    /** Each chunk's own part of the adjoint entering it, into carries (batch, chunks, heads, p, n). */
    void carryLocal(long carries, long dy, long c, long l, int batch, int len, int heads, int p, int groups, int n, int q) {
        gpu.launch((long) batch * chunks(len, q) * heads, 1, threads, 1, q * Float.BYTES, CARRY_LOCAL.args().ptr(carries).ptr(dy)
                .ptr(c).ptr(l).i32(len).i32(heads).i32(p).i32(groups).i32(n).i32(q));
    }

    /** states: chunk parts in, entering states out; running (0: zero) the state before and after. */
    void statePass(long states, long running, long l, int batch, int len, int heads, int pn, int q) {
        gpu.launch1d((long) batch * heads * pn, STATE_PASS.args().ptr(states).ptr(running).ptr(l).i32(batch).i32(len)
                .i32(heads).i32(pn).i32(q));
    }

    /** carries: chunk parts in, adjoints of the states leaving each chunk out. */
    void carryPass(long carries, long l, int batch, int len, int heads, int pn, int q) {
        gpu.launch1d((long) batch * heads * pn, CARRY_PASS.args().ptr(carries).ptr(l).i32(batch).i32(len).i32(heads)
                .i32(pn).i32(q));
    }

    /** y from the chunks' own inputs, D and the entering states (0: zero). */
    void chunkOutput(long y, long x, long b, long c, long d, long states, long w, long l, int batch, int len, int heads,
                     int p, int groups, int n, int q) {
        gpu.launch((long) batch * chunks(len, q) * groups, (q + tile - 1) / tile, threads, 1, outputShared(q),
                CHUNK_OUTPUT.args().ptr(y).ptr(x).ptr(b).ptr(c).ptr(d).ptr(states).ptr(w).ptr(l).i32(len).i32(heads).i32(p)
                        .i32(groups).i32(n).i32(q));
    }

    /** One step of every sequence (len 1): y, and the state (0: a zero state, not kept) moved on. */
    void step(long y, long state, long x, long dt, long dtBias, long a, long b, long c, long d, int batch, int heads, int p,
              int groups, int n, float dtMin, float dtMax) {
        gpu.launch((long) batch * heads, 1, Math.min(threads, (p + 31) / 32 * 32), 1, 0, STEP.args().ptr(y).ptr(state).ptr(x)
                .ptr(dt).ptr(dtBias).ptr(a).ptr(b).ptr(c).ptr(d).i32(heads).i32(p).i32(groups).i32(n).f32(dtMin).f32(dtMax));
    }

    /** dC (+=) and dl (=) by tiles of rows. */
    void backwardRows(long dC, long dl, long dy, long x, long b, long c, long states, long w, long l, int batch, int len,
                      int heads, int p, int groups, int n, int q) {
        gpu.launch((long) batch * chunks(len, q) * groups, (q + bwdTile - 1) / bwdTile, threads, 1, rowsShared(q, n),
                BWD_ROWS.args().ptr(dC).ptr(dl).ptr(dy).ptr(x).ptr(b).ptr(c).ptr(states).ptr(w).ptr(l).i32(len).i32(heads)
                        .i32(p).i32(groups).i32(n).i32(q));
    }

    /** dx, dB (+=), dl (+=), dw and dqq (=) by tiles of columns. */
    void backwardCols(long dx, long dB, long dl, long dw, long dqq, long dy, long x, long b, long c, long d, long carries,
                      long w, long l, int batch, int len, int heads, int p, int groups, int n, int q) {
        gpu.launch((long) batch * chunks(len, q) * groups, (q + bwdTile - 1) / bwdTile, threads, 1, colsShared(q, n),
                BWD_COLS.args().ptr(dx).ptr(dB).ptr(dl).ptr(dw).ptr(dqq).ptr(dy).ptr(x).ptr(b).ptr(c).ptr(d).ptr(carries)
                        .ptr(w).ptr(l).i32(len).i32(heads).i32(p).i32(groups).i32(n).i32(q));
    }

    /** d dt (+=) and per-(sequence, chunk) partial sums of dA, dD, d dt_bias, (batch * chunks, heads) each. */
    void backwardFinish(long dDt, long partA, long partD, long partBias, long dl, long dw, long dqq, long dy, long x,
                        long states, long carries, long w, long gw, long l, long a, int batch, int len, int heads, int p,
                        int n, int q) {
        gpu.launch((long) batch * chunks(len, q) * heads, 1, threads, 1, 0, BWD_FINISH.args().ptr(dDt).ptr(partA).ptr(partD)
                .ptr(partBias).ptr(dl).ptr(dw).ptr(dqq).ptr(dy).ptr(x).ptr(states).ptr(carries).ptr(w).ptr(gw).ptr(l).ptr(a)
                .i32(len).i32(heads).i32(p).i32(n).i32(q));
    }

    /** out = gated RMSNorm of x by z per group of gs features, rows of width. */
    void gatedRmsNorm(long out, long x, long z, long w, int rows, int width, int gs, float eps) {
        gpu.launch(rows, width / gs, normThreads, 1, 0, NORM.args().ptr(out).ptr(x).ptr(z).ptr(w).i32(width).i32(gs).f32(eps));
    }

    /** dx, dz (+=) and gn = the normalized gate (=), for the weight gradient's column sums. */
    void gatedRmsNormBackward(long dx, long dz, long gn, long dOut, long x, long z, long w, int rows, int width, int gs,
                              float eps) {
        gpu.launch(rows, width / gs, normThreads, 1, 0, NORM_BACKWARD.args().ptr(dx).ptr(dz).ptr(gn).ptr(dOut).ptr(x).ptr(z)
                .ptr(w).i32(width).i32(gs).f32(eps));
    }
}
