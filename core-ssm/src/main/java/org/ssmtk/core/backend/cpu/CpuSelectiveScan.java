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
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
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

    /** Runs one task: sequence task / blocks, channels [block * LANES, +LANES). */
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
        FloatVector bias = o.deltaBias() == null ? FloatVector.zero(S) : FloatVector.fromArray(S, o.deltaBias(), o.deltaBiasOff() + d0, mask);
        FloatVector dSkip = o.d() == null ? null : FloatVector.fromArray(S, o.d(), o.dOff() + d0, mask);
        FloatVector one = FloatVector.broadcast(S, 1f);
        for (int t = 0; t < o.len(); t++) {
            if (o.chunkStates() != null && t % CHUNK == 0) saveChunkState(o, h, seq, t / CHUNK, d0, width);
            int row = seq * o.len() + t;
            int col = row * ch + d0;
            FloatVector u = FloatVector.fromArray(S, o.u(), o.uOff() + col, mask);
            FloatVector dt = softplus(FloatVector.fromArray(S, o.delta(), o.deltaOff() + col, mask).add(bias));
            FloatVector dtu = dt.mul(u);
            FloatVector acc = FloatVector.zero(S);
            int bRow = o.bOff() + row * n, cRow = o.cOff() + row * n;
            for (int s = 0; s < n; s++) {
                FloatVector dA = VectorMath.exp(dt.mul(FloatVector.fromArray(S, aT, s * LANES)));
                FloatVector hs = dA.mul(FloatVector.fromArray(S, h, s * LANES)).add(dtu.mul(o.b()[bRow + s]));
                hs.intoArray(h, s * LANES);
                acc = hs.fma(FloatVector.broadcast(S, o.c()[cRow + s]), acc);
            }
            if (dSkip != null) acc = dSkip.fma(u, acc);
            if (o.z() != null) {
                FloatVector z = FloatVector.fromArray(S, o.z(), o.zOff() + col, mask);
                FloatVector silu = z.mul(VectorMath.sigmoid(z));
                acc = acc.mul(silu);
            }
            acc.intoArray(o.y(), o.yOff() + col, mask);
        }
        if (o.state() != null) {
            for (int l = 0; l < width; l++)
                for (int s = 0; s < n; s++) o.state()[o.stateOff() + (seq * ch + d0 + l) * n + s] = h[s * LANES + l];
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
