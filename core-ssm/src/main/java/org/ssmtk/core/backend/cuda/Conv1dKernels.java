package org.ssmtk.core.backend.cuda;

import static org.ssmtk.core.backend.cuda.Kernel.Param.I32;
import static org.ssmtk.core.backend.cuda.Kernel.Param.PTR;

/**
 * Typed launches of conv1d.cu (beside this file): the causal depthwise convolution with SiLU. Forward
 * and backward give each thread a run of consecutive steps of a few channels (see conv1d.cu); this
 * class sizes the runs and picks the kernels' variant per call.
 */
final class Conv1dKernels {
    static final String MODULE = "conv1d.ptx";
    static final Kernel FORWARD = Kernel.of(MODULE, "conv1d_silu", PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32, I32, I32, I32);
    static final Kernel STATE_UPDATE = Kernel.of(MODULE, "conv1d_state_update", PTR, PTR, I32, I32, I32, I32);
    static final Kernel BACKWARD = Kernel.of(MODULE, "conv1d_backward", PTR, PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32, I32, I32, I32, I32);
    static final Kernel DWEIGHT_SUM = Kernel.of(MODULE, "conv1d_dweight_sum", PTR, PTR, PTR, I32, I32, I32, I32);
    /** Block of the per-channel kernels (state update, weight-gradient sum): any size works. */
    private static final int CHANNEL_THREADS = 128;
    /** Fewest steps a thread walks: its halo of width - 1 steps is read twice. */
    private static final int MIN_STEPS = 16;
    /**
     * Threads per multiprocessor the runs are sized for: a few waves of blocks (the backward holds
     * ~110 registers a thread, so two blocks fit an SM at once), so that the last wave is short.
     */
    private static final int THREADS_PER_SM = 2048;
    /** Most blocks along the sequences in one backward: each writes (width + 1) partial sums per channel. */
    private static final long MAX_PARTS = 2048;

    private final Launcher gpu;
    private final int maxWidth, lanes, segs, w4v4, w4v1, w8v1;

    Conv1dKernels(Launcher gpu) {
        this.gpu = gpu;
        PtxModule m = gpu.module(MODULE);
        maxWidth = m.constant("CONV_MAX_WIDTH");
        lanes = m.constant("CONV_LANES");
        segs = m.constant("CONV_SEGS");
        w4v4 = m.constant("CONV_W4_V4");
        w4v1 = m.constant("CONV_W4_V1");
        w8v1 = m.constant("CONV_W8_V1");
    }

    /** The widest kernel the backward takes (its per-tap accumulators live in registers). */
    int maxWidth() {
        return maxWidth;
    }

    /**
     * One call's launch: the variant, channels per thread, the window (4 or the widest), steps per
     * thread and blocks per sequence.
     */
    private record Plan(int variant, int vec, int window, int steps, int segBlocks, int channelBlocks, long parts) {}

    /** vec4: every tensor walked by rows is 16-byte aligned and ch a multiple of 4. */
    private Plan plan(int batch, int len, int ch, int width, boolean vec4) {
        int window = width <= 4 ? 4 : maxWidth;
        int vec = window == 4 && vec4 && ch % 4 == 0 ? 4 : 1;
        int variant = window != 4 ? w8v1 : vec == 4 ? w4v4 : w4v1;
        long groups = ch / vec, cells = (long) batch * len * groups;
        long steps = Math.max(MIN_STEPS, (cells + (long) THREADS_PER_SM * gpu.multiprocessors() - 1)
                / ((long) THREADS_PER_SM * gpu.multiprocessors()));
        steps = Math.max(steps, ((long) batch * len + segs * MAX_PARTS - 1) / (segs * MAX_PARTS));
        steps = Math.min(steps, Math.max(1, len));
        int segBlocks = Math.toIntExact((len + segs * steps - 1) / (segs * steps));
        int channelBlocks = Math.toIntExact((groups + lanes - 1) / lanes);
        return new Plan(variant, vec, window, (int) steps, segBlocks, channelBlocks, (long) batch * segBlocks);
    }

    private static boolean aligned(long... addresses) {
        for (long a : addresses) if ((a & 15) != 0) return false;
        return true;
    }

    /**
     * out = silu(conv(x) + bias) over (batch, len, ch), the window before each sequence read from
     * state (batch, width - 1, ch) when given, then state moved to the last width - 1 inputs; out16
     * (if not 0, 8-byte aligned) receives out rounded to bf16.
     */
    void forward(long out, long out16, long x, long w, long bias, long state, int batch, int len, int ch, int width) {
        if ((long) batch * len * ch == 0) return;
        Plan p = plan(batch, len, ch, width, aligned(out, x) && (out16 & 7) == 0);
        gpu.launch(p.parts, p.channelBlocks, lanes * segs, 1, 0, FORWARD.args().ptr(out).ptr(out16).ptr(x).ptr(w).ptr(bias).ptr(state)
                .i32(batch).i32(len).i32(ch).i32(width).i32(p.steps).i32(p.segBlocks).i32(p.variant));
        if (state != 0 && width > 1)
            gpu.launch(((long) batch * ch + CHANNEL_THREADS - 1) / CHANNEL_THREADS, 1, CHANNEL_THREADS, 1, 0,
                    STATE_UPDATE.args().ptr(state).ptr(x).i32(batch).i32(len).i32(ch).i32(width));
    }

    /** Floats of scratch that {@link #backward} takes for these tensors. */
    long backwardScratch(long dx, long dOut, long x, int batch, int len, int ch, int width) {
        Plan p = plan(batch, len, ch, width, aligned(dx, dOut, x));
        return p.parts * ch * (p.window + 1);
    }

    /**
     * dx, dw and dBias (if not 0) += the gradients from dOut, with {@link #backwardScratch} floats
     * at partials for the per-block sums of the weight gradient (added in a fixed order: the same
     * result on every run); dx16 (if not 0, 8-byte aligned) receives the new dx rounded to bf16.
     * The plan must be the one {@link #backwardScratch} sized: dx16's alignment does not enter it.
     * With overwrite, dx is taken to be all zeros and is written without being read.
     */
    void backward(long dx, long dx16, boolean overwrite, long dw, long dBias, long partials, long dOut, long x, long w,
                  long bias, int batch, int len, int ch, int width) {
        if ((long) batch * len * ch == 0) return;
        Plan p = plan(batch, len, ch, width, aligned(dx, dOut, x));
        gpu.launch(p.parts, p.channelBlocks, lanes * segs, 1, 0, BACKWARD.args().ptr(dx).ptr(dx16).ptr(partials).ptr(dOut).ptr(x).ptr(w)
                .ptr(bias).i32(batch).i32(len).i32(ch).i32(width).i32(p.steps).i32(p.segBlocks).i32(p.variant)
                .i32(overwrite ? 0 : 1));
        long outputs = (long) ch * (width + 1);
        gpu.launch((outputs + CHANNEL_THREADS - 1) / CHANNEL_THREADS, 1, CHANNEL_THREADS, 1, 0, DWEIGHT_SUM.args().ptr(dw)
                .ptr(dBias).ptr(partials).i32(Math.toIntExact(p.parts)).i32(ch).i32(width).i32(p.window));
    }
}
