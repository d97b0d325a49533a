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
    static final Kernel[] CHUNK_STATE = products("ssd_chunk_state", PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32, I32, I32);
    static final Kernel[] CARRY_LOCAL = products("ssd_carry_local", PTR, PTR, PTR, PTR, I32, I32, I32, I32, I32, I32);
    static final Kernel STATE_PASS = Kernel.of(MODULE, "ssd_state_pass", PTR, PTR, PTR, I32, I32, I32, I32, I32);
    static final Kernel CARRY_PASS = Kernel.of(MODULE, "ssd_carry_pass", PTR, PTR, PTR, PTR, I32, I32, I32, I32, I32);
    static final Kernel[] GRAM = products("ssd_gram", PTR, PTR, PTR, I32, I32, I32, I32);
    static final Kernel[] CHUNK_OUTPUT = products("ssd_chunk_output", PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR,
            I32, I32, I32, I32, I32, I32);
    static final Kernel STEP = Kernel.of(MODULE, "ssd_step", PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32,
            F32, F32);
    static final Kernel[] BWD_DCB = products("ssd_bwd_dcb", PTR, PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32, I32, I32);
    static final Kernel[] BWD_DC = products("ssd_bwd_dc", PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32, I32,
            I32);
    static final Kernel[] BWD_DB = products("ssd_bwd_db", PTR, PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, I32, I32, I32, I32);
    static final Kernel[] BWD_DX = products("ssd_bwd_dx", PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, I32, I32, I32,
            I32, I32, I32, I32);
    static final Kernel BWD_FINISH = Kernel.of(MODULE, "ssd_bwd_finish", PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR, PTR,
            I32, I32, I32, I32, I32);
    static final Kernel NORM = Kernel.of(MODULE, "gated_rms_norm", PTR, PTR, PTR, PTR, PTR, I32, I32, F32);
    static final Kernel NORM_BACKWARD = Kernel.of(MODULE, "gated_rms_norm_backward", PTR, PTR, PTR, PTR, PTR, PTR, PTR,
            I32, I32, I32, F32, I32);
    /** The same for groups of up to 3 float4 a thread: fewer registers, so more blocks an SM. */
    static final Kernel NORM_BACKWARD_Q3 = Kernel.of(MODULE, "gated_rms_norm_backward_q3", PTR, PTR, PTR, PTR, PTR, PTR, PTR,
            I32, I32, I32, F32, I32);

    /**
     * How the products inside a chunk are multiplied (ssd.cu's SSD_FP32, SSD_TF32X3, SSD_TF32: each
     * product kernel has an entry per way, in this order): exact fp32 on CUDA cores; on tensor cores
     * with fp32's accuracy; on tensor cores in TF32 (10 bits of mantissa, fp32 sums), as the
     * reference's Triton kernels do, within the bf16 precision's tolerance.
     */
    enum Products {
        FP32(""), TF32X3("_tf32x3"), TF32("_tf32");

        final String suffix;

        Products(String suffix) {
            this.suffix = suffix;
        }

        /** fp32, tf32x3 (or 3xtf32) or tf32, as --ssd-products gives them. */
        static Products parse(String s) {
            return switch (s) {
                case "fp32" -> FP32;
                case "tf32x3", "3xtf32" -> TF32X3;
                case "tf32" -> TF32;
                default -> throw new IllegalArgumentException("--ssd-products must be fp32, tf32x3 or tf32, got '" + s + "'");
            };
        }
    }

    /** The entry of a product kernel that multiplies this launcher's way. */
    private Kernel entry(Kernel[] entries) {
        return entries[products.ordinal()];
    }

    /** A product kernel's entries, one per {@link Products}, in its order. */
    private static Kernel[] products(String name, Kernel.Param... params) {
        Kernel[] k = new Kernel[Products.values().length];
        for (Products p : Products.values()) k[p.ordinal()] = Kernel.of(MODULE, name + p.suffix, params);
        return k;
    }

    private final Launcher gpu;
    private final Products products;
    /** Threads of the tiled kernels; the edge of their result tiles; norm threads. */
    final int threads, tile, normThreads, normRows;
    /** chunkState / carryLocal: states of a block's tile, steps of a staged slice, bytes of the staging area. */
    private final int stateTile, stateSlice, stateShared;

    SsdKernels(Launcher gpu, Products products) {
        this.gpu = gpu;
        this.products = products;
        PtxModule m = gpu.module(MODULE);
        // the enum's order is the .cu's numbering of the entries
        for (Products p : Products.values())
            if (m.constant("SSD_" + p.name()) != p.ordinal())
                throw new IllegalStateException(MODULE + ": SSD_" + p.name() + " is not " + p.ordinal());
        threads = m.constant("SSD_THREADS");
        tile = m.constant("SSD_T");
        normThreads = m.constant("SSD_NORM_THREADS");
        normRows = m.constant("SSD_NORM_ROWS");
        stateTile = m.constant("SSD_STATE_TN");
        stateSlice = m.constant("SSD_STATE_TK");
        stateShared = m.constant("SSD_STATE_SHARED");
    }

    /** The slabs of rows the norm's backward gives a block each: the rows of its weight-gradient partials. */
    int normSlabs(int rows) {
        return (rows + normRows - 1) / normRows;
    }

    static int chunks(int len, int q) {
        return (len + q - 1) / q;
    }

    int tiles(int n) {
        return (n + tile - 1) / tile;
    }

    /** Dynamic shared memory of the kernels that stage a chunk's per-step values (at most 16 bytes a step), in bytes. */
    static int stagedShared(int q) {
        return 16 * q;
    }

    /** The backward's partial sums per (row, head): ssd.cu's ssd_slots. */
    int slots(int q, int n, int p) {
        return 3 * tiles(q) + 2 * tiles(n) + 2 * tiles(p);
    }

    /** w, l (doubles) and, when gw is not 0, d w / d(dt + bias), per (row, head): a block per (sequence, chunk, head). */
    void timeSteps(long w, long l, long gw, long dt, long dtBias, long a, int batch, int len, int heads, int q,
                   float dtMin, float dtMax) {
        gpu.launch((long) batch * chunks(len, q) * heads, 1, threads, 1, 0, TIME_STEPS.args().ptr(w).ptr(l).ptr(gw).ptr(dt)
                .ptr(dtBias).ptr(a).i32(batch).i32(len).i32(heads).i32(q).f32(dtMin).f32(dtMax));
    }

    /** chunkState's and carryLocal's tiles of (channels, states) per (sequence, chunk, head): 64 x stateTile each. */
    private int stateTiles(int p, int n) {
        return tiles(p) * ((n + stateTile - 1) / stateTile);
    }

    /** chunkState's and carryLocal's dynamic shared memory: the staging area and a weight per step (slices of them). */
    private int stateShared(int q) {
        return stateShared + (q + stateSlice - 1) / stateSlice * stateSlice * Float.BYTES;
    }

    /** Each chunk's own part of the state leaving it, into states (batch, chunks, heads, p, n). */
    void chunkState(long states, long x, long b, long w, long l, int batch, int len, int heads, int p, int groups, int n, int q) {
        gpu.launch((long) batch * chunks(len, q) * heads, stateTiles(p, n), threads, 1, stateShared(q), entry(CHUNK_STATE).args()
                .ptr(states).ptr(x).ptr(b).ptr(w).ptr(l).i32(len).i32(heads).i32(p).i32(groups).i32(n).i32(q));
    }

    /** Each chunk's own part of the adjoint entering it, into carries (batch, chunks, heads, p, n). */
    void carryLocal(long carries, long dy, long c, long l, int batch, int len, int heads, int p, int groups, int n, int q) {
        gpu.launch((long) batch * chunks(len, q) * heads, stateTiles(p, n), threads, 1, stateShared(q), entry(CARRY_LOCAL).args()
                .ptr(carries).ptr(dy).ptr(c).ptr(l).i32(len).i32(heads).i32(p).i32(groups).i32(n).i32(q));
    }

    /** states: chunk parts in, entering states out; running (0: zero) the state before and after. */
    void statePass(long states, long running, long l, int batch, int len, int heads, int pn, int q) {
        gpu.launch1d((long) batch * heads * pn, STATE_PASS.args().ptr(states).ptr(running).ptr(l).i32(batch).i32(len)
                .i32(heads).i32(pn).i32(q));
    }

    /** Slots of carryPass's held per (sequence, chunk, head): ssd.cu's ssd_held_slots, one per 32 state elements. */
    static int heldSlots(int pn) {
        return (pn + 31) / 32;
    }

    /**
     * carries: chunk parts in, adjoints of the states leaving each chunk out; held (doubles, batch x
     * chunks x heads x heldSlots(pn)) receives the partial sums of carry o states, the kept entering states.
     */
    void carryPass(long carries, long held, long states, long l, int batch, int len, int heads, int pn, int q) {
        gpu.launch((long) batch * heads, (pn + threads - 1) / threads, threads, 1, 0, CARRY_PASS.args().ptr(carries).ptr(held)
                .ptr(states).ptr(l).i32(batch).i32(len).i32(heads).i32(pn).i32(q));
    }

    /** Floats of the Gram matrices (and of their gradients): one q x q per (sequence, chunk, group). */
    static long gramFloats(int batch, int len, int groups, int q) {
        return (long) batch * chunks(len, q) * groups * q * q;
    }

    /** g = C B^T per chunk and group, the tiles on and below the diagonal. */
    void gram(long g, long b, long c, int batch, int len, int groups, int n, int q) {
        int t = tiles(q);
        gpu.launch((long) batch * chunks(len, q) * groups, t * (t + 1) / 2, threads, 1, 0, entry(GRAM).args().ptr(g).ptr(b).ptr(c)
                .i32(len).i32(groups).i32(n).i32(q));
    }

    /** y from the chunks' own inputs (through their Gram matrices g), D and the entering states (0: zero). */
    void chunkOutput(long y, long x, long c, long d, long g, long states, long w, long l, int batch, int len, int heads,
                     int p, int groups, int n, int q) {
        gpu.launch((long) batch * chunks(len, q) * heads, tiles(q) * tiles(p), threads, 1, stagedShared(q),
                entry(CHUNK_OUTPUT).args().ptr(y).ptr(x).ptr(c).ptr(d).ptr(g).ptr(states).ptr(w).ptr(l).i32(len).i32(heads).i32(p)
                        .i32(groups).i32(n).i32(q));
    }

    /** One step of every sequence (len 1): y, and the state (0: a zero state, not kept) moved on. */
    void step(long y, long state, long x, long dt, long dtBias, long a, long b, long c, long d, int batch, int heads, int p,
              int groups, int n, float dtMin, float dtMax) {
        gpu.launch((long) batch * heads, 1, Math.min(threads, (p + 31) / 32 * 32), 1, 0, STEP.args().ptr(y).ptr(state).ptr(x)
                .ptr(dt).ptr(dtBias).ptr(a).ptr(b).ptr(c).ptr(d).i32(heads).i32(p).i32(groups).i32(n).f32(dtMin).f32(dtMax));
    }

    /** dG (=): dy x^T decayed, summed over each group's heads; and the partial sums of dl and dw into parts. */
    void backwardGram(long dG, long parts, long dy, long x, long g, long w, long l, int batch, int len, int heads, int p,
                      int groups, int n, int q) {
        int t = tiles(q);
        gpu.launch((long) batch * chunks(len, q) * groups, t * (t + 1) / 2, threads, 1, 0, entry(BWD_DCB).args().ptr(dG).ptr(parts)
                .ptr(dy).ptr(x).ptr(g).ptr(w).ptr(l).i32(len).i32(heads).i32(p).i32(groups).i32(n).i32(q));
    }

    /** dC (+=) and the entering state's partial sums of dl. */
    void backwardC(long dC, long parts, long dy, long b, long c, long dG, long states, long l, int batch, int len, int heads,
                   int p, int groups, int n, int q) {
        gpu.launch((long) batch * chunks(len, q) * groups, tiles(q) * tiles(n), threads, 1, 0, entry(BWD_DC).args().ptr(dC).ptr(parts)
                .ptr(dy).ptr(b).ptr(c).ptr(dG).ptr(states).ptr(l).i32(len).i32(heads).i32(p).i32(groups).i32(n).i32(q));
    }

    /** Dynamic shared memory of dB's kernel: a float per head of a group and step of a tile, in bytes. */
    int headTableShared(int heads, int groups) {
        return heads / groups * tile * Float.BYTES;
    }

    /** dB (+=). */
    void backwardB(long dB, long x, long c, long dG, long carries, long w, long l, int batch, int len, int heads, int p,
                   int groups, int n, int q) {
        gpu.launch((long) batch * chunks(len, q) * groups, tiles(q) * tiles(n), threads, 1, headTableShared(heads, groups),
                entry(BWD_DB).args().ptr(dB).ptr(x)
                .ptr(c).ptr(dG).ptr(carries).ptr(w).ptr(l).i32(len).i32(heads).i32(p).i32(groups).i32(n).i32(q));
    }

    /** dx (+=; overwrite: =, unread) and the partial sums of dq and dD. */
    void backwardX(long dx, long parts, long dy, long x, long b, long d, long g, long carries, long w, long l, int batch,
                   int len, int heads, int p, int groups, int n, int q, boolean overwrite) {
        gpu.launch((long) batch * chunks(len, q) * heads, tiles(q) * tiles(p), threads, 1, stagedShared(q), entry(BWD_DX).args()
                .ptr(dx).ptr(parts).ptr(dy).ptr(x).ptr(b).ptr(d).ptr(g).ptr(carries).ptr(w).ptr(l).i32(len).i32(heads).i32(p)
                .i32(groups).i32(n).i32(q).i32(overwrite ? 1 : 0));
    }

    /** d dt (+=) and per-(sequence, chunk) partial sums of dA, dD, d dt_bias, (batch * chunks, heads) each. */
    void backwardFinish(long dDt, long partA, long partD, long partBias, long parts, long held, long w, long gw, long l,
                        long a, int batch, int len, int heads, int p, int n, int q) {
        gpu.launch((long) batch * chunks(len, q) * heads, 1, threads, 1, stagedShared(q), BWD_FINISH.args().ptr(dDt)
                .ptr(partA).ptr(partD).ptr(partBias).ptr(parts).ptr(held).ptr(w).ptr(gw).ptr(l).ptr(a)
                .i32(len).i32(heads).i32(p).i32(n).i32(q));
    }

    /** out = gated RMSNorm of x by z per group of gs features, rows of width; out16 (0: none) out in bf16 too. */
    void gatedRmsNorm(long out, long out16, long x, long z, long w, int rows, int width, int gs, float eps) {
        gpu.launch(rows, width / gs, normThreads, 1, 0,
                NORM.args().ptr(out).ptr(out16).ptr(x).ptr(z).ptr(w).i32(width).i32(gs).f32(eps));
    }

    /** Whether a group of gs features takes the gated norm backward's entry for up to 3 float4 a thread. */
    boolean normBackwardNarrow(int gs) {
        return gs <= 3 * 4 * normThreads;
    }

    /**
     * dx, dz (+=; overwriteDx / overwriteDz: =, unread) and dwPart (normSlabs(rows), width) (=): per slab
     * of rows the sums of dOut times the normalized gate, whose column sums are the weight's gradient.
     * Groups of up to 3 float4 a thread (normBackwardNarrow).
     */
    void gatedRmsNormBackward(long dx, long dz, long dwPart, long dOut, long x, long z, long w, int rows, int width, int gs,
                              float eps, boolean overwriteDx, boolean overwriteDz) {
        normBackward(NORM_BACKWARD_Q3, dx, dz, dwPart, dOut, x, z, w, rows, width, gs, eps, overwriteDx, overwriteDz);
    }

    /** The same for wider groups (up to 4 float4 a thread, element by element past that). */
    void gatedRmsNormBackwardWide(long dx, long dz, long dwPart, long dOut, long x, long z, long w, int rows, int width, int gs,
                                  float eps, boolean overwriteDx, boolean overwriteDz) {
        normBackward(NORM_BACKWARD, dx, dz, dwPart, dOut, x, z, w, rows, width, gs, eps, overwriteDx, overwriteDz);
    }

    private void normBackward(Kernel kernel, long dx, long dz, long dwPart, long dOut, long x, long z, long w, int rows, int width,
                              int gs, float eps, boolean overwriteDx, boolean overwriteDz) {
        gpu.launch(normSlabs(rows), width / gs, normThreads, 1, 0, kernel.args().ptr(dx).ptr(dz).ptr(dwPart).ptr(dOut)
                .ptr(x).ptr(z).ptr(w).i32(rows).i32(width).i32(gs).f32(eps).i32((overwriteDx ? 1 : 0) | (overwriteDz ? 2 : 0)));
    }
}
