package org.ssmtk.core.backend.cuda;

import static org.ssmtk.core.backend.cuda.Kernel.Param.I32;
import static org.ssmtk.core.backend.cuda.Kernel.Param.I64;
import static org.ssmtk.core.backend.cuda.Kernel.Param.PTR;

/** Typed launches of conv1d.cu (beside this file): the causal depthwise convolution with SiLU. */
final class Conv1dKernels {
    static final String MODULE = "conv1d.ptx";
    static final Kernel FORWARD = Kernel.of(MODULE, "conv1d_silu", PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32);
    static final Kernel STATE_UPDATE = Kernel.of(MODULE, "conv1d_state_update", PTR, PTR, I32, I32, I32, I32);
    static final Kernel DPRE = Kernel.of(MODULE, "conv1d_silu_dpre", PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32);
    static final Kernel DX = Kernel.of(MODULE, "conv1d_dx", PTR, PTR, PTR, I32, I32, I32, I32);
    static final Kernel DWEIGHT = Kernel.of(MODULE, "conv1d_dweight", PTR, PTR, PTR, PTR, I32, I32, I32, I32, I64);
    /** Block of the per-channel kernels (state update, weight gradient): any size works. */
    private static final int CHANNEL_THREADS = 128;

    private final Launcher gpu;
    private final int maxWidth;

    Conv1dKernels(Launcher gpu) {
        this.gpu = gpu;
        maxWidth = gpu.module(MODULE).constant("CONV_MAX_WIDTH");
    }

    /** The widest kernel the backward takes (its per-tap accumulators live in registers). */
    int maxWidth() {
        return maxWidth;
    }

    /**
     * out = silu(conv(x) + bias) over (batch, len, ch), the window before each sequence read from
     * state (batch, width - 1, ch) when given, then state moved to the last width - 1 inputs.
     */
    void forward(long out, long x, long w, long bias, long state, int batch, int len, int ch, int width) {
        gpu.launch1d((long) batch * len * ch,
                FORWARD.args().ptr(out).ptr(x).ptr(w).ptr(bias).ptr(state).i32(batch).i32(len).i32(ch).i32(width));
        if (state != 0 && width > 1)
            gpu.launch(((long) batch * ch + CHANNEL_THREADS - 1) / CHANNEL_THREADS, 1, CHANNEL_THREADS, 1, 0,
                    STATE_UPDATE.args().ptr(state).ptr(x).i32(batch).i32(len).i32(ch).i32(width));
    }

    /**
     * dx, dw and dBias (if not 0) += the gradients from dOut, through the scratch dPre (batch * len * ch
     * floats) that holds dOut * silu'(pre).
     */
    void backward(long dx, long dw, long dBias, long dPre, long dOut, long x, long w, long bias, int batch, int len,
                  int ch, int width) {
        long rows = (long) batch * len;
        gpu.launch1d(rows * ch, DPRE.args().ptr(dPre).ptr(dOut).ptr(x).ptr(w).ptr(bias).i32(batch).i32(len).i32(ch).i32(width));
        gpu.launch1d(rows * ch, DX.args().ptr(dx).ptr(dPre).ptr(w).i32(batch).i32(len).i32(ch).i32(width));
        int gx = (ch + CHANNEL_THREADS - 1) / CHANNEL_THREADS;
        long slices = Math.max(1, Math.min((8L * gpu.multiprocessors() + gx - 1) / gx, (rows + 63) / 64));
        long per = (rows + slices - 1) / slices;
        slices = (rows + per - 1) / per;
        gpu.launch(gx, Math.toIntExact(slices), CHANNEL_THREADS, 1, 0,
                DWEIGHT.args().ptr(dw).ptr(dBias).ptr(dPre).ptr(x).i32(batch).i32(len).i32(ch).i32(width).i64(per));
    }
}
