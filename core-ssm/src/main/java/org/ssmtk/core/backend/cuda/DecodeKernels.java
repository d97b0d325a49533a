package org.ssmtk.core.backend.cuda;

import static org.ssmtk.core.backend.cuda.Kernel.Param.F32;
import static org.ssmtk.core.backend.cuda.Kernel.Param.I32;
import static org.ssmtk.core.backend.cuda.Kernel.Param.I64;
import static org.ssmtk.core.backend.cuda.Kernel.Param.PTR;

/**
 * Typed launches of decode.cu (beside this file): Mamba-1's decoding step in few kernels, which
 * {@link CudaDecoder} orders. Longs named like tensors are device addresses (0: none).
 */
final class DecodeKernels {
    static final String MODULE = "decode.ptx";
    static final Kernel NORM_GEMV = Kernel.of(MODULE, "decode_norm_gemv", PTR, PTR, PTR, PTR, F32, PTR, PTR, PTR, PTR,
            I32, I32, I32, I32, I32, PTR, PTR, PTR, I32, PTR, PTR, PTR, I32, I32, I32, PTR);
    static final Kernel GEMV = Kernel.of(MODULE, "decode_gemv", PTR, I32, PTR, PTR, PTR, PTR, I32, I32, PTR, I32, I32, I32, I32, I32);
    static final Kernel CONV = Kernel.of(MODULE, "decode_conv", PTR, PTR, I64, PTR, PTR, PTR, I32, I32, I32);
    static final Kernel SCAN = Kernel.of(MODULE, "decode_scan", PTR, PTR, PTR, I64, PTR, I64, PTR, I64, PTR, I64, PTR, PTR,
            PTR, PTR, PTR, I32, I32, I32, I32, I32);
    static final Kernel SCAN_OUT = Kernel.of(MODULE, "decode_scan_out", PTR, I32, PTR, PTR, PTR, PTR, I64, PTR, I64, PTR, I64,
            PTR, I64, PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32);

    private final Launcher gpu;
    private final int threads, maxBatch, scanLanes;

    DecodeKernels(Launcher gpu) {
        this.gpu = gpu;
        PtxModule m = gpu.module(MODULE);
        threads = m.constant("DECODE_THREADS");
        maxBatch = m.constant("DECODE_MAX_BATCH");
        scanLanes = m.constant("SCAN_LANES");
    }

    /** The most sequences the product kernels take in one launch. */
    int maxBatch() {
        return maxBatch;
    }

    /**
     * Threads per weight row: a warp, or more where there are too few rows to keep every
     * multiprocessor reading (x_proj's 80 rows of 1536 for the 130M shape), while a thread still
     * gets two float4 of the row.
     */
    private int threadsPerRow(int rows, int k) {
        int tpr = 32;
        long want = (long) gpu.multiprocessors() * 16 * 32; // about 16 warps of a row each per multiprocessor
        while (tpr < threads && (long) rows * tpr < want && tpr * 8L <= k) tpr *= 2;
        return tpr;
    }

    private int chunks(int batch) {
        return (batch + maxBatch - 1) / maxBatch;
    }

    private long blocks(int rows, int tpr) {
        int perBlock = threads / tpr;
        return (rows + perBlock - 1) / perBlock;
    }

    /**
     * out (batch, rows) = rmsnorm(x (batch, k); normW, eps) W^T + bias, W's rows [0, split) at w0 and
     * the rest at w1; where convW is given, rows [0, split) also step the conv window convState
     * (batch, width - 1, split) and leave silu(conv) in xc (batch, split); where xw0 is given too,
     * xc (xrows rows of x_proj: [0, xs1) at xw0, [xs1, xs2) at xw1, the rest at xw2) is added
     * into dbc (batch, xrows), which must hold zeros before.
     */
    void normGemv(long out, long xc, long x, long normW, float eps, long w0, long w1, long bias0, long bias1,
                  int rows, int split, int k, int batch, long convW, long convB, long convState, int width,
                  long xw0, long xw1, long xw2, int xs1, int xs2, int xrows, long dbc) {
        int tpr = threadsPerRow(rows, k);
        gpu.launch(blocks(rows, tpr), chunks(batch), threads, 1, 0, NORM_GEMV.args().ptr(out).ptr(xc).ptr(x).ptr(normW).f32(eps)
                .ptr(w0).ptr(w1).ptr(bias0).ptr(bias1).i32(rows).i32(split).i32(k).i32(batch).i32(tpr)
                .ptr(convW).ptr(convB).ptr(convState).i32(width).ptr(xw0).ptr(xw1).ptr(xw2).i32(xs1).i32(xs2).i32(xrows).ptr(dbc));
    }

    /**
     * out (batch, outStride) columns [0, rows) = in (batch, k) W^T + bias (+ out where accumulate),
     * W's rows [0, s1) at w0, [s1, s2) at w1, [s2, rows) at w2.
     */
    void gemv(long out, int outStride, long in, long w0, long w1, long w2, int s1, int s2, long bias, int rows, int k,
              int batch, boolean accumulate) {
        int tpr = threadsPerRow(rows, k);
        gpu.launch(blocks(rows, tpr), chunks(batch), threads, 1, 0, GEMV.args().ptr(out).i32(outStride).ptr(in).ptr(w0).ptr(w1).ptr(w2)
                .i32(s1).i32(s2).ptr(bias).i32(rows).i32(k).i32(batch).i32(tpr).i32(accumulate ? 1 : 0));
    }

    /** The conv window step of batch sequences: x (batch, ch) at row stride xStride, silu(conv) into xc (batch, ch). */
    void conv(long xc, long x, long xStride, long convW, long convB, long convState, int batch, int ch, int width) {
        gpu.launch(((long) batch * ch + threads - 1) / threads, 1, threads, 1, 0, CONV.args().ptr(xc).ptr(x).i64(xStride)
                .ptr(convW).ptr(convB).ptr(convState).i32(batch).i32(ch).i32(width));
    }

    /**
     * One scan step with dt_proj, D skip and gate for batch sequences of ch channels into y (see
     * decode.cu): 16 lanes a channel, fewer where that would take more than one pass of the device.
     */
    void scan(long y, long xc, long z, long zStride, long dtLow, long dtStride, long b, long bStride, long c, long cStride,
              long dtW, long dtBias, long a, long d, long h, int batch, int ch, int n, int rank) {
        int lanes = scanLanes;
        while (lanes > 4 && (long) batch * ch * lanes > (long) gpu.multiprocessors() * 2048) lanes /= 2;
        gpu.launch(((long) batch * ch * lanes + threads - 1) / threads, 1, threads, 1, 0, SCAN.args().ptr(y).ptr(xc)
                .ptr(z).i64(zStride).ptr(dtLow).i64(dtStride).ptr(b).i64(bStride).ptr(c).i64(cStride).ptr(dtW).ptr(dtBias)
                .ptr(a).ptr(d).ptr(h).i32(batch).i32(ch).i32(n).i32(rank).i32(lanes));
    }

    /**
     * The scan step of at most {@link #maxBatch} sequences followed by out_proj (outW (hidden, ch),
     * bias may be 0) added into resid (batch, hidden).
     */
    void scanOut(long resid, int hidden, long outW, long outBias, long xc, long z, long zStride, long dtLow, long dtStride,
                 long b, long bStride, long c, long cStride, long dtW, long dtBias, long a, long d, long h, int batch, int ch,
                 int n, int rank) {
        int channels = threads / scanLanes;
        gpu.launch((ch + channels - 1) / channels, 1, threads, 1, 0, SCAN_OUT.args().ptr(resid).i32(hidden).ptr(outW)
                .ptr(outBias).ptr(xc).ptr(z).i64(zStride).ptr(dtLow).i64(dtStride).ptr(b).i64(bStride).ptr(c).i64(cStride)
                .ptr(dtW).ptr(dtBias).ptr(a).ptr(d).ptr(h).i32(batch).i32(ch).i32(n).i32(rank));
    }
}
