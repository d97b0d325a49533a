package org.ssmtk.core.backend.cuda;

import static org.ssmtk.core.backend.cuda.Kernel.Param.F32;
import static org.ssmtk.core.backend.cuda.Kernel.Param.I32;
import static org.ssmtk.core.backend.cuda.Kernel.Param.I64;
import static org.ssmtk.core.backend.cuda.Kernel.Param.PTR;

/**
 * Typed launches of reduce.cu (beside this file): column sums, the sum of squares, RMSNorm and the
 * cross-entropy loss. Row kernels take one block per row: ROW_THREADS threads, the cross-entropy its own
 * count ({@link #crossEntropyThreads}).
 */
final class ReductionKernels {
    static final String MODULE = "reduce.ptx";
    static final Kernel COLUMN_SUMS = Kernel.of(MODULE, "column_sums", PTR, PTR, PTR, PTR, I64, I32, I64);
    static final Kernel SUM_OF_SQUARES = Kernel.of(MODULE, "sum_of_squares", PTR, I64, PTR);
    static final Kernel SUM_OF_SQUARES_MULTI = Kernel.of(MODULE, "sum_of_squares_multi", PTR, I32, PTR);
    static final Kernel SUM_DOUBLES = Kernel.of(MODULE, "sum_doubles", PTR, I64, PTR);
    static final Kernel RMS_NORM = Kernel.of(MODULE, "rms_norm", PTR, PTR, PTR, PTR, I32, F32);
    static final Kernel RMS_NORM_BACKWARD = Kernel.of(MODULE, "rms_norm_backward", PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, F32);
    static final Kernel CROSS_ENTROPY = Kernel.of(MODULE, "cross_entropy", PTR, PTR, I32, PTR, PTR, F32, PTR, I32);
    static final Kernel SAMPLE_ROWS = Kernel.of(MODULE, "sample_rows", PTR, I64, I32, I64, I32, PTR, PTR);
    /** Threads per row of the row kernels: any multiple of 32 up to 1024 works (block_sum's 32 warps). */
    private static final int ROW_THREADS = 256;

    private final Launcher gpu;
    private final int colsumCols, colsumRows, sampleThreads, multiChunk, ceThreads, rmsBackwardRows;

    ReductionKernels(Launcher gpu) {
        this.gpu = gpu;
        PtxModule m = gpu.module(MODULE);
        colsumCols = m.constant("COLSUM_COLS");
        colsumRows = m.constant("COLSUM_ROWS");
        sampleThreads = m.constant("SAMPLE_THREADS");
        multiChunk = m.constant("MULTI_CHUNK");
        ceThreads = m.constant("CE_THREADS");
        rmsBackwardRows = m.constant("RMS_BACKWARD_ROWS");
    }

    /** Elements per block of the multi-tensor kernels: a {@link TensorTable}'s chunk. */
    int multiChunk() {
        return multiChunk;
    }

    /**
     * out[j] += sum over rows r of m[r, j] * (m2 ? m2[r, j] : 1) * (rowScale ? rowScale[r] : 1); a
     * pointer of 0 is absent. Rows are cut into slices (meeting in atomics) so that the grid fills the
     * device.
     */
    void columnSums(long out, long m, long m2, long rowScale, long rows, int n) {
        if (rows == 0 || n == 0) return;
        int gx = (n + colsumCols - 1) / colsumCols;
        long slices = Math.max(1, Math.min((4L * gpu.multiprocessors() + gx - 1) / gx, (rows + 255) / 256));
        long per = (rows + slices - 1) / slices;
        slices = (rows + per - 1) / per;
        gpu.launch(gx, Math.toIntExact(slices), colsumCols, colsumRows, 0,
                COLUMN_SUMS.args().ptr(out).ptr(m).ptr(m2).ptr(rowScale).i64(rows).i32(n).i64(per));
    }

    /** acc (one double, zeroed by the caller) += the sum of squares of n floats at x. */
    void sumOfSquares(long x, long n, long acc) {
        gpu.launch1d(n, SUM_OF_SQUARES.args().ptr(x).i64(n).ptr(acc));
    }

    /**
     * out (one double) = the sum of squares of the gradients of a {@link TensorTable} (count tensors,
     * blocks chunks in all), through partials (blocks doubles): per-block sums, then one block adds
     * them in order, so the total is the same on every run.
     */
    void sumOfSquares(long table, int count, long blocks, long partials, long out) {
        gpu.launch(blocks, 1, ROW_THREADS, 1, 0, SUM_OF_SQUARES_MULTI.args().ptr(table).i32(count).ptr(partials));
        gpu.launch(1, 1, 1024, 1, 0, SUM_DOUBLES.args().ptr(partials).i64(blocks).ptr(out));
    }

    /** out = w * x / rms(x) per row of h; out16 (if not 0) receives out rounded to bf16. */
    void rmsNorm(long out, long out16, long x, long w, int rows, int h, float eps) {
        gpu.launch(rows, 1, ROW_THREADS, 1, 0, RMS_NORM.args().ptr(out).ptr(out16).ptr(x).ptr(w).i32(h).f32(eps));
    }

    /** The slabs of rows rmsNormBackward gives a block each: the rows of its weight-gradient partials. */
    int rmsBackwardSlabs(int rows) {
        return (rows + rmsBackwardRows - 1) / rmsBackwardRows;
    }

    /**
     * dx += the input gradient, dx16 (if not 0) receiving the sum rounded to bf16; dwPart
     * (rmsBackwardSlabs(rows), h) = per slab of rows the sums of dy x / rms, whose column sums are
     * the weight's gradient.
     */
    void rmsNormBackward(long dx, long dx16, long dwPart, long dy, long x, long w, int rows, int h, float eps) {
        gpu.launch(rmsBackwardSlabs(rows), 1, ROW_THREADS, 1, 0,
                RMS_NORM_BACKWARD.args().ptr(dx).ptr(dx16).ptr(dwPart).ptr(dy).ptr(x).ptr(w).i32(rows).i32(h).f32(eps));
    }

    /**
     * dLogits = scale (softmax - onehot) and loss[r] (doubles) per row of v logits; ignored rows get
     * 0; dLogits16 (if not 0) receives dLogits rounded to bf16.
     */
    void crossEntropy(long logits, long targets, int ignoreIndex, long dLogits, long dLogits16, float scale, long loss,
                      int rows, int v) {
        gpu.launch(rows, 1, crossEntropyThreads(v, ceThreads), 1, 0, CROSS_ENTROPY.args().ptr(logits).ptr(targets)
                .i32(ignoreIndex).ptr(dLogits).ptr(dLogits16).f32(scale).ptr(loss).i32(v));
    }

    /**
     * Threads for a row of v logits: about 16 logits a thread (four float4 loads a pass), whole warps,
     * at most the kernel's CE_THREADS: a 50,280-word row takes 1,024 (so 1,334-row blocks of the LM
     * loss run in about five waves on 132 SMs), a 16-letter DNA row one warp.
     */
    static int crossEntropyThreads(int v, int max) {
        int warps = Math.max(1, Math.min(max / 32, (v + 16 * 32 - 1) / (16 * 32)));
        return 32 * warps;
    }

    /**
     * ids[r] = the token sample_rows picks from row r of logits (row stride ld) among the first
     * vocab; the temperature as its double's bits (the kernel weighs in double, as the host does);
     * u: one double per row (0 at temperature 0, where it is not read).
     */
    void sample(long logits, long ld, int rows, int vocab, long temperatureBits, int topK, long u, long ids) {
        gpu.launch(rows, 1, sampleThreads, 1, 0, SAMPLE_ROWS.args().ptr(logits).i64(ld).i32(vocab)
                .i64(temperatureBits).i32(topK).ptr(u).ptr(ids));
    }
}
