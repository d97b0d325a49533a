package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The selective scan on the CPU, fused: one pass over time per (sequence, block of channels) with
 * the state h (channels x d_state) held in a small scratch array that stays in L1. SIMD lanes are
 * channels, so B_t[n] and C_t[n], shared by all channels, are broadcasts and every input row is a
 * contiguous load. Nothing of size (len, channels, d_state) is formed.
 *
 * <p>All arrays are row-major; token row r = b * len + t. See Backend#selectiveScan for the math.
 */
public final class CpuSelectiveScan {
    private static final VectorSpecies<Float> S = VectorMath.S;
    public static final int LANES = S.length();

    /**
     * Time steps per chunk for training: the forward keeps the state entering each chunk, the
     * backward recomputes the states inside a chunk from it. Memory for kept states is
     * len / CHUNK * channels * d_state per sequence, and a chunk's recomputed states (CHUNK * LANES *
     * d_state floats) stay in L1/L2.
     */
    public static final int CHUNK = 64;

    public static int chunks(int len) {
        return (len + CHUNK - 1) / CHUNK;
    }

    /**
     * Array views of one scan call's operands; offsets in elements. Nullable ones may be null.
     * chunkStates, when present, is (batch, chunks(len), channels, dState) and receives the state
     * entering every chunk.
     */
    public record Operands(float[] y, int yOff, float[] u, int uOff, float[] delta, int deltaOff,
                           float[] deltaBias, int deltaBiasOff, float[] a, int aOff,
                           float[] b, int bOff, float[] c, int cOff, float[] d, int dOff,
                           float[] z, int zOff, float[] state, int stateOff,
                           float[] chunkStates, int chunkStatesOff,
                           int batch, int len, int channels, int dState) {}

    private CpuSelectiveScan() {}

    /** Number of independent tasks: (sequence, channel block) pairs. */
    public static int tasks(Operands o) {
        return o.batch() * blocks(o.channels());
    }

    private static int blocks(int channels) {
        return (channels + LANES - 1) / LANES;
    }

    /**
     * Runs one task: sequence task / blocks, channels [block * LANES, +LANES). Time is walked
     * {@link #CHUNK} steps at a time through three loops, each its own small method with one of
     * VectorMath's polynomials (softplus; the state update's exp; the gate's sigmoid): as one method
     * C2 stopped inlining at its node budget (NodeCountInliningCutoff) and called exp out of line,
     * boxing its vectors: 340 MB allocated and 100 ms per layer of the 130M shape at 1,024 tokens,
     * against none and a fraction of that now. The arithmetic, and so every bit, is unchanged.
     */
    public static void run(Operands o, int task) {
        int nb = blocks(o.channels());
        int seq = task / nb;
        int d0 = (task % nb) * LANES;
        int width = Math.min(LANES, o.channels() - d0);
        VectorMask<Float> mask = S.indexInRange(0, width);
        int n = o.dState();
        int ch = o.channels();
        float[] h = new float[n * LANES];
        float[] aT = new float[n * LANES];
        for (int l = 0; l < width; l++) {
            for (int s = 0; s < n; s++) {
                aT[s * LANES + l] = o.a()[o.aOff() + (d0 + l) * n + s];
                if (o.state() != null) h[s * LANES + l] = o.state()[o.stateOff() + (seq * ch + d0 + l) * n + s];
            }
        }
        // per chunk: dt, then dt * u (overwritten by C . h), lane vectors one per time step
        float[] dt = new float[CHUNK * LANES], acc = new float[CHUNK * LANES];
        for (int t0 = 0; t0 < o.len(); t0 += CHUNK) {
            int steps = Math.min(CHUNK, o.len() - t0);
            if (o.chunkStates() != null) saveChunkState(o, h, seq, t0 / CHUNK, d0, width);
            int row0 = seq * o.len() + t0;
            timeSteps(o, row0, d0, mask, steps, dt, acc);
            softplusTimesU(o, row0, d0, mask, steps, dt, acc);
            update(o, row0, h, aT, steps, dt, acc);
            gate(o, row0, d0, mask, steps, acc);
        }
        if (o.state() != null) {
            for (int l = 0; l < width; l++)
                for (int s = 0; s < n; s++) o.state()[o.stateOff() + (seq * ch + d0 + l) * n + s] = h[s * LANES + l];
        }
    }

    /**
     * dt = softplus(delta + bias) and dt * u for steps time steps from token row row0: softplus's
     * arithmetic (VectorMath.softplus) with its exp and its log1p in separate methods, since the two
     * together pass C2's node budget too.
     */
    private static void timeSteps(Operands o, int row0, int d0, VectorMask<Float> mask, int steps, float[] dt, float[] dtu) {
        FloatVector bias = o.deltaBias() == null ? FloatVector.zero(S) : FloatVector.fromArray(S, o.deltaBias(), o.deltaBiasOff() + d0, mask);
        for (int t = 0; t < steps; t++) {
            int col = (row0 + t) * o.channels() + d0;
            FloatVector pre = FloatVector.fromArray(S, o.delta(), o.deltaOff() + col, mask).add(bias);
            pre.intoArray(dt, t * LANES);
            VectorMath.exp(pre.abs().neg()).intoArray(dtu, t * LANES);
        }
    }

    /** dt = max(pre, 0) + log1p(e) (dt holds pre, dtu holds e = exp(-|pre|) on entry); dtu = dt u. */
    private static void softplusTimesU(Operands o, int row0, int d0, VectorMask<Float> mask, int steps, float[] dt, float[] dtu) {
        for (int t = 0; t < steps; t++) {
            int col = (row0 + t) * o.channels() + d0;
            FloatVector d = FloatVector.fromArray(S, dt, t * LANES).max(0f).add(VectorMath.log1p(FloatVector.fromArray(S, dtu, t * LANES)));
            d.intoArray(dt, t * LANES);
            d.mul(FloatVector.fromArray(S, o.u(), o.uOff() + col, mask)).intoArray(dtu, t * LANES);
        }
    }

    /** h[s] = exp(dt A[s]) h[s] + dt u B[s] and acc = C . h, step by step (acc holds dt u on entry). */
    private static void update(Operands o, int row0, float[] h, float[] aT, int steps, float[] dt, float[] acc) {
        int n = o.dState();
        float[] b = o.b(), c = o.c();
        for (int t = 0; t < steps; t++) {
            FloatVector dtv = FloatVector.fromArray(S, dt, t * LANES), dtu = FloatVector.fromArray(S, acc, t * LANES);
            FloatVector sum = FloatVector.zero(S);
            int bRow = o.bOff() + (row0 + t) * n, cRow = o.cOff() + (row0 + t) * n;
            for (int s = 0; s < n; s++) {
                FloatVector dA = VectorMath.expNonPositive(dtv.mul(FloatVector.fromArray(S, aT, s * LANES)));
                FloatVector hs = dA.mul(FloatVector.fromArray(S, h, s * LANES)).add(dtu.mul(b[bRow + s]));
                hs.intoArray(h, s * LANES);
                sum = hs.fma(FloatVector.broadcast(S, c[cRow + s]), sum);
            }
            sum.intoArray(acc, t * LANES);
        }
    }

    /** y = (C . h + D u) silu(z) for the chunk's steps. */
    private static void gate(Operands o, int row0, int d0, VectorMask<Float> mask, int steps, float[] acc) {
        FloatVector dSkip = o.d() == null ? null : FloatVector.fromArray(S, o.d(), o.dOff() + d0, mask);
        for (int t = 0; t < steps; t++) {
            int col = (row0 + t) * o.channels() + d0;
            FloatVector y = FloatVector.fromArray(S, acc, t * LANES);
            if (dSkip != null) y = dSkip.fma(FloatVector.fromArray(S, o.u(), o.uOff() + col, mask), y);
            if (o.z() != null) {
                FloatVector z = FloatVector.fromArray(S, o.z(), o.zOff() + col, mask);
                y = y.mul(z.mul(VectorMath.sigmoid(z)));
            }
            y.intoArray(o.y(), o.yOff() + col, mask);
        }
    }

    private static void saveChunkState(Operands o, float[] h, int seq, int chunk, int d0, int width) {
        int n = o.dState();
        int base = o.chunkStatesOff() + ((seq * chunks(o.len()) + chunk) * o.channels() + d0) * n;
        for (int l = 0; l < width; l++)
            for (int s = 0; s < n; s++) o.chunkStates()[base + l * n + s] = h[s * LANES + l];
    }

    /** softplus(x) = log(1 + e^x); equal to x above PyTorch's threshold of 20, as there. */
    static FloatVector softplus(FloatVector x) {
        return VectorMath.softplus(x);
    }
}
