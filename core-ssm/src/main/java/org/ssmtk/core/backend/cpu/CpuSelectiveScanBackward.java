package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

import static org.ssmtk.core.backend.cpu.CpuSelectiveScan.CHUNK;
import static org.ssmtk.core.backend.cpu.CpuSelectiveScan.LANES;
import static org.ssmtk.core.backend.cpu.CpuSelectiveScan.chunks;

/**
 * Backward of the fused selective scan, with the paper's recomputation: from the state kept at each
 * chunk boundary, one chunk at a time from the last, it replays the chunk forward (keeping its
 * CHUNK states, decays and step sizes in a small scratch) and then walks it backward carrying
 * dL/dh. No (len, channels, d_state) tensor exists at any time.
 *
 * <p>For h_t = a_t h_{t-1} + dt_t B_t u_t with a_t = exp(dt_t A), y_t = C_t h_t + D u_t,
 * out_t = y_t silu(z_t), and g = dL/dout:
 * <pre>
 *   dy = g silu(z)            dz = g y silu'(z)         dD += dy u        du = dy D
 *   dh_t = dy C_t + a_{t+1} dh_{t+1}
 *   dC_t += dy h_t            dB_t += dh_t dt u         du += dh_t dt B_t
 *   ddt  = sum_n dh_t (a_t A h_{t-1} + B_t u)           dA += dh_t a_t dt h_{t-1}
 *   ddelta = ddt sigmoid(delta + bias)                   dbias += ddelta
 * </pre>
 * Work is split into (sequence, channel group) tasks. dB and dC sum over channels and dA, dD,
 * dbias over sequences, so each task writes its own partial sums, which are then added up in a
 * fixed order: results do not depend on scheduling.
 */
public final class CpuSelectiveScanBackward {
    private static final VectorSpecies<Float> S = VectorMath.S;

    /**
     * Operands of one backward call. Gradient outputs are accumulated into (+=). dA is (channels,
     * state), dD and dDeltaBias (channels); dB and dC (rows, state); du, dDelta, dz (rows, channels).
     */
    public record Operands(CpuSelectiveScan.Operands fwd, float[] dOut, int dOutOff,
                           float[] du, int duOff, float[] dDelta, int dDeltaOff, float[] dz, int dzOff,
                           float[] dA, int dAOff, float[] dB, int dBOff, float[] dC, int dCOff,
                           float[] dD, int dDOff, float[] dDeltaBias, int dDeltaBiasOff) {}

    /** Per-call partial sums, one slice per task. */
    public static final class Partials {
        final int groups;
        final float[] dB, dC;                 // (groups, rows, state)
        final float[] dA;                     // (batch, channels, state)
        final float[] dD, dBias;              // (batch, channels)

        Partials(int groups, int rows, int batch, int channels, int n) {
            this.groups = groups;
            dB = new float[groups * rows * n];
            dC = new float[groups * rows * n];
            dA = new float[batch * channels * n];
            dD = new float[batch * channels];
            dBias = new float[batch * channels];
        }
    }

    private CpuSelectiveScanBackward() {}

    /** Channel groups per sequence: enough tasks to keep every thread busy. */
    public static int groups(int batch, int channels, int threads) {
        int blocks = (channels + LANES - 1) / LANES;
        return Math.max(1, Math.min(blocks, (2 * threads + batch - 1) / batch));
    }

    public static Partials partials(Operands o, int groups) {
        var f = o.fwd();
        return new Partials(groups, f.batch() * f.len(), f.batch(), f.channels(), f.dState());
    }

    /** Runs task (sequence = task / groups, channel group = task % groups). */
    public static void run(Operands o, Partials p, int task) {
        var f = o.fwd();
        int blocks = (f.channels() + LANES - 1) / LANES;
        int seq = task / p.groups, g = task % p.groups;
        int b0 = (int) ((long) g * blocks / p.groups), b1 = (int) ((long) (g + 1) * blocks / p.groups);
        Scratch s = new Scratch(f.dState());
        for (int blk = b0; blk < b1; blk++) block(o, p, seq, g, blk * LANES, s);
    }

    private static final class Scratch {
        final float[] h, hEnter, dh, aT, dAacc;
        final float[] hist, decay;            // (CHUNK, state, LANES): h_t and a_t in the chunk
        final float[] dtHist, yHist;          // (CHUNK, LANES)

        Scratch(int n) {
            h = new float[n * LANES];
            hEnter = new float[n * LANES];
            dh = new float[n * LANES];
            aT = new float[n * LANES];
            dAacc = new float[n * LANES];
            hist = new float[CHUNK * n * LANES];
            decay = new float[CHUNK * n * LANES];
            dtHist = new float[CHUNK * LANES];
            yHist = new float[CHUNK * LANES];
        }
    }

    private static void block(Operands o, Partials p, int seq, int group, int d0, Scratch s) {
        var f = o.fwd();
        int n = f.dState(), ch = f.channels(), len = f.len();
        int width = Math.min(LANES, ch - d0);
        VectorMask<Float> mask = S.indexInRange(0, width);
        java.util.Arrays.fill(s.dh, 0f);
        java.util.Arrays.fill(s.dAacc, 0f);
        java.util.Arrays.fill(s.aT, 0f);
        for (int l = 0; l < width; l++)
            for (int k = 0; k < n; k++) s.aT[k * LANES + l] = f.a()[f.aOff() + (d0 + l) * n + k];
        FloatVector bias = f.deltaBias() == null ? FloatVector.zero(S) : FloatVector.fromArray(S, f.deltaBias(), f.deltaBiasOff() + d0, mask);
        FloatVector dSkip = f.d() == null ? FloatVector.zero(S) : FloatVector.fromArray(S, f.d(), f.dOff() + d0, mask);
        FloatVector one = FloatVector.broadcast(S, 1f);
        FloatVector dDacc = FloatVector.zero(S), dBiasAcc = FloatVector.zero(S);
        int rows = f.batch() * len;
        for (int chunk = chunks(len) - 1; chunk >= 0; chunk--) {
            int t0 = chunk * CHUNK, t1 = Math.min(len, t0 + CHUNK);
            // the state entering the chunk, as the forward kept it
            java.util.Arrays.fill(s.hEnter, 0f);
            int base = f.chunkStatesOff() + ((seq * chunks(len) + chunk) * ch + d0) * n;
            for (int l = 0; l < width; l++)
                for (int k = 0; k < n; k++) s.hEnter[k * LANES + l] = f.chunkStates()[base + l * n + k];
            System.arraycopy(s.hEnter, 0, s.h, 0, s.h.length);
            // replay the chunk forward
            for (int t = t0; t < t1; t++) {
                int row = seq * len + t, col = row * ch + d0, i = t - t0;
                FloatVector u = FloatVector.fromArray(S, f.u(), f.uOff() + col, mask);
                FloatVector dt = CpuSelectiveScan.softplus(FloatVector.fromArray(S, f.delta(), f.deltaOff() + col, mask).add(bias));
                dt.intoArray(s.dtHist, i * LANES);
                FloatVector dtu = dt.mul(u);
                FloatVector y = dSkip.mul(u);
                for (int k = 0; k < n; k++) {
                    FloatVector a = VectorMath.exp(dt.mul(FloatVector.fromArray(S, s.aT, k * LANES)));
                    FloatVector hk = a.mul(FloatVector.fromArray(S, s.h, k * LANES)).add(dtu.mul(f.b()[f.bOff() + row * n + k]));
                    hk.intoArray(s.h, k * LANES);
                    hk.intoArray(s.hist, (i * n + k) * LANES);
                    a.intoArray(s.decay, (i * n + k) * LANES);
                    y = hk.fma(FloatVector.broadcast(S, f.c()[f.cOff() + row * n + k]), y);
                }
                y.intoArray(s.yHist, i * LANES);
            }
            // and walk it backward
            for (int t = t1 - 1; t >= t0; t--) {
                int row = seq * len + t, col = row * ch + d0, i = t - t0;
                FloatVector u = FloatVector.fromArray(S, f.u(), f.uOff() + col, mask);
                FloatVector dt = FloatVector.fromArray(S, s.dtHist, i * LANES);
                FloatVector g = FloatVector.fromArray(S, o.dOut(), o.dOutOff() + col, mask);
                FloatVector dy = g;
                if (f.z() != null) {
                    FloatVector z = FloatVector.fromArray(S, f.z(), f.zOff() + col, mask);
                    FloatVector sig = VectorMath.sigmoid(z);
                    FloatVector silu = z.mul(sig);
                    FloatVector dsilu = sig.mul(one.add(z.mul(one.sub(sig))));
                    FloatVector y = FloatVector.fromArray(S, s.yHist, i * LANES);
                    FloatVector dz = g.mul(y).mul(dsilu);
                    dz.add(FloatVector.fromArray(S, o.dz(), o.dzOff() + col, mask)).intoArray(o.dz(), o.dzOff() + col, mask);
                    dy = g.mul(silu);
                }
                dDacc = dy.fma(u, dDacc);
                FloatVector du = dy.mul(dSkip);
                FloatVector ddt = FloatVector.zero(S);
                int bRow = f.bOff() + row * n, cRow = f.cOff() + row * n;
                int pRow = (group * rows + row) * n;
                FloatVector dtu = dt.mul(u);
                for (int k = 0; k < n; k++) {
                    FloatVector hk = FloatVector.fromArray(S, s.hist, (i * n + k) * LANES);
                    FloatVector hPrev = FloatVector.fromArray(S, i == 0 ? s.hEnter : s.hist, i == 0 ? k * LANES : ((i - 1) * n + k) * LANES);
                    FloatVector a = FloatVector.fromArray(S, s.decay, (i * n + k) * LANES);
                    float bk = f.b()[bRow + k], ck = f.c()[cRow + k];
                    p.dC[pRow + k] += VectorMath.sum(dy.mul(hk));
                    FloatVector dh = dy.fma(FloatVector.broadcast(S, ck), FloatVector.fromArray(S, s.dh, k * LANES));
                    FloatVector aA = a.mul(FloatVector.fromArray(S, s.aT, k * LANES));
                    FloatVector dhPrev = dh.mul(hPrev);
                    ddt = dhPrev.fma(aA, ddt).add(dh.mul(u).mul(bk));
                    FloatVector dAk = dhPrev.mul(a).mul(dt);
                    dAk.add(FloatVector.fromArray(S, s.dAacc, k * LANES)).intoArray(s.dAacc, k * LANES);
                    p.dB[pRow + k] += VectorMath.sum(dh.mul(dtu));
                    du = dh.mul(dt).fma(FloatVector.broadcast(S, bk), du);
                    dh.mul(a).intoArray(s.dh, k * LANES);
                }
                FloatVector x = FloatVector.fromArray(S, f.delta(), f.deltaOff() + col, mask).add(bias);
                // softplus' slope; above PyTorch's threshold of 20 (identity, slope 1) it rounds to 1f anyway
                FloatVector sigX = VectorMath.sigmoid(x);
                FloatVector dDelta = ddt.mul(sigX);
                dBiasAcc = dBiasAcc.add(dDelta);
                dDelta.add(FloatVector.fromArray(S, o.dDelta(), o.dDeltaOff() + col, mask)).intoArray(o.dDelta(), o.dDeltaOff() + col, mask);
                du.add(FloatVector.fromArray(S, o.du(), o.duOff() + col, mask)).intoArray(o.du(), o.duOff() + col, mask);
            }
        }
        float[] dd = new float[LANES], db = new float[LANES];
        dDacc.intoArray(dd, 0);
        dBiasAcc.intoArray(db, 0);
        for (int l = 0; l < width; l++) {
            int c = d0 + l;
            p.dD[seq * ch + c] = dd[l];
            p.dBias[seq * ch + c] = db[l];
            for (int k = 0; k < n; k++) p.dA[(seq * ch + c) * n + k] = s.dAacc[k * LANES + l];
        }
    }

    /** Adds the partial sums into the gradient outputs, in a fixed order. rows: task per row block. */
    public static void reduceRows(Operands o, Partials p, int rowFrom, int rowTo) {
        int n = o.fwd().dState(), rows = o.fwd().batch() * o.fwd().len();
        for (int r = rowFrom; r < rowTo; r++)
            for (int k = 0; k < n; k++) {
                float sb = 0, sc = 0;
                for (int g = 0; g < p.groups; g++) {
                    sb += p.dB[(g * rows + r) * n + k];
                    sc += p.dC[(g * rows + r) * n + k];
                }
                o.dB()[o.dBOff() + r * n + k] += sb;
                o.dC()[o.dCOff() + r * n + k] += sc;
            }
    }

    public static void reduceChannels(Operands o, Partials p) {
        var f = o.fwd();
        int n = f.dState(), ch = f.channels();
        for (int c = 0; c < ch; c++) {
            float sd = 0, sb = 0;
            for (int b = 0; b < f.batch(); b++) {
                sd += p.dD[b * ch + c];
                sb += p.dBias[b * ch + c];
            }
            if (o.dD() != null) o.dD()[o.dDOff() + c] += sd;
            if (o.dDeltaBias() != null) o.dDeltaBias()[o.dDeltaBiasOff() + c] += sb;
            for (int k = 0; k < n; k++) {
                float sa = 0;
                for (int b = 0; b < f.batch(); b++) sa += p.dA[(b * ch + c) * n + k];
                o.dA()[o.dAOff() + c * n + k] += sa;
            }
        }
    }
}
