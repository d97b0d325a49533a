package org.ssmtk.core.backend.cpu;

import org.ssmtk.core.backend.SsdShape;

import static org.ssmtk.core.backend.cpu.CpuSsd.axpy;
import static org.ssmtk.core.backend.cpu.CpuSsd.dot;

/**
 * The backward of {@link CpuSsd} in the same chunked form, in two passes so that every task owns
 * the rows it writes:
 * <ol>
 *   <li>{@link #carry} per (sequence, head), chunks last to first: the adjoint of the state leaving
 *       each chunk, dH_out. Going one chunk back: dH_in = exp(l_last) dH_out + sum_t exp(l_t) dy_t C_t^T.
 *   <li>{@link #run} per (sequence, chunk, group), every chunk at once: with the chunk's entering
 *       state (kept by the training forward) and its dH_out, the gradients of the chunk's x, dt, B, C
 *       rows, and per-task partial sums for A, D and dt_bias, reduced in task order by
 *       {@link #reduce}. A task owns its group's B and C columns, so the heads of one group (which
 *       share them) add up in one task, in head order.
 * </ol>
 * Per chunk, with M[t][s] = (C_t . B_s) exp(l_t - l_s) dt_s (s <= t) and q_s = exp(l_last - l_s) dt_s:
 * dx_s gets sum_t M[t][s] dy_t + q_s dH_out B_s + D dy_s; dC_t and dB_s get the products of
 * dM[t][s] = dy_t . x_s with B and C; the decays' sensitivities dl_t collect every exp(.) term's
 * log-derivative and become d dt through the reverse cumulative sum da_k = sum_{t>=k} dl_t
 * (a_k = dt_k A).
 */
public final class CpuSsdBackward {

    /**
     * The forward's operands plus gradients: dOut (rows, heads * headDim) in; dx, dDt, dB, dC
     * accumulate (+=) into their arrays; carries (batch, chunks, heads, headDim, state) is scratch;
     * partials (tasks, headsPerGroup, 3) receives each task's dA, dD, d dt_bias.
     */
    public record Operands(CpuSsd.Operands f, float[] dOut, int dOutOff, float[] dx, int dxOff, float[] dDt, int dDtOff,
                           float[] dB, int dBOff, float[] dC, int dCOff, float[] carries, double[] partials) {}

    private CpuSsdBackward() {}

    public static int carryTasks(CpuSsd.Operands f) {
        return f.batch() * f.shape().heads();
    }

    public static int tasks(CpuSsd.Operands f) {
        return f.batch() * f.shape().chunks(f.len()) * f.shape().nGroups();
    }

    public static double[] newPartials(CpuSsd.Operands f) {
        return new double[tasks(f) * f.shape().headsPerGroup() * 3];
    }

    public static float[] newCarries(CpuSsd.Operands f) {
        SsdShape sh = f.shape();
        return new float[Math.toIntExact((long) f.batch() * sh.chunks(f.len()) * sh.heads() * sh.headDim() * sh.stateSize())];
    }

    /** Pass 1 for one (sequence, head): dH_out of every chunk into carries. */
    public static void carry(Operands o, int task) {
        CpuSsd.Operands f = o.f();
        SsdShape sh = f.shape();
        int heads = sh.heads(), p = sh.headDim(), n = sh.stateSize(), di = sh.channels(), gn = sh.groupStates();
        int seq = task / heads, h = task % heads, g = h / sh.headsPerGroup();
        int chunks = sh.chunks(f.len()), q = Math.min(sh.chunk(), f.len());
        float[] dH = new float[p * n], w = new float[q];
        double[] l = new double[q];
        float a = f.a()[f.aOff() + h], bias = f.dtBias()[f.dtBiasOff() + h];
        for (int c = chunks - 1; c >= 0; c--) {
            System.arraycopy(dH, 0, o.carries(), ((seq * chunks + c) * heads + h) * p * n, p * n);
            if (c == 0) break;
            int t0 = c * sh.chunk(), lc = Math.min(sh.chunk(), f.len() - t0), row0 = seq * f.len() + t0;
            CpuSsd.timeSteps(f.dt(), f.dtOff(), row0, lc, heads, h, bias, a, sh, w, l, null);
            CpuSsd.scale(dH, (float) Math.exp(l[lc - 1]), p * n);
            for (int t = 0; t < lc; t++) {
                int row = row0 + t, dyRow = o.dOutOff() + row * di + h * p, cRow = f.cOff() + row * gn + g * n;
                float e = (float) Math.exp(l[t]);
                for (int i = 0; i < p; i++) axpy(e * o.dOut()[dyRow + i], f.c(), cRow, dH, i * n, n);
            }
        }
    }

    /** Pass 2 for one (sequence, chunk, group). */
    public static void run(Operands o, int task) {
        CpuSsd.Operands f = o.f();
        SsdShape sh = f.shape();
        int heads = sh.heads(), p = sh.headDim(), n = sh.stateSize(), di = sh.channels(), gn = sh.groupStates();
        int groups = sh.nGroups(), chunks = sh.chunks(f.len());
        int seq = task / (chunks * groups), c = (task / groups) % chunks, g = task % groups;
        int t0 = c * sh.chunk(), lc = Math.min(sh.chunk(), f.len() - t0), row0 = seq * f.len() + t0;
        // C_t . B_s is the same for every head of the group
        float[] gram = new float[lc * lc];
        for (int t = 0; t < lc; t++)
            for (int s = 0; s <= t; s++)
                gram[t * lc + s] = dot(f.c(), f.cOff() + (row0 + t) * gn + g * n, f.b(), f.bOff() + (row0 + s) * gn + g * n, n);
        float[] w = new float[lc], dwdPre = new float[lc], h0 = new float[p * n], v = new float[p];
        float[] arg = new float[CpuSsd.padded(lc)], decays = new float[CpuSsd.padded(lc)];
        double[] l = new double[lc], dl = new double[lc], dw = new double[lc];
        for (int k = 0; k < sh.headsPerGroup(); k++) {
            int h = g * sh.headsPerGroup() + k;
            float a = f.a()[f.aOff() + h], dSkip = f.d()[f.dOff() + h], bias = f.dtBias()[f.dtBiasOff() + h];
            CpuSsd.timeSteps(f.dt(), f.dtOff(), row0, lc, heads, h, bias, a, sh, w, l, dwdPre);
            int stateAt = ((seq * chunks + c) * heads + h) * p * n;
            if (f.chunkStates() != null) System.arraycopy(f.chunkStates(), f.chunkStatesOff() + stateAt, h0, 0, p * n);
            java.util.Arrays.fill(dl, 0);
            java.util.Arrays.fill(dw, 0);
            double dD = 0;
            for (int t = 0; t < lc; t++) {
                int row = row0 + t, col = row * di + h * p, cRow = row * gn + g * n;
                int dy = o.dOutOff() + col;
                // D x_t
                dD += dot(o.dOut(), dy, f.x(), f.xOff() + col, p);
                axpy(dSkip, o.dOut(), dy, o.dx(), o.dxOff() + col, p);
                // exp(l_t) H0 C_t
                float e = (float) Math.exp(l[t]);
                double dlOff = 0;
                for (int i = 0; i < p; i++) {
                    float gy = o.dOut()[dy + i];
                    dlOff += gy * dot(f.c(), f.cOff() + cRow, h0, i * n, n);
                    axpy(e * gy, h0, i * n, o.dC(), o.dCOff() + cRow, n);
                }
                dl[t] += e * dlOff;
                // the quadratic form
                CpuSsd.decays(l, t, arg, decays);
                for (int s = 0; s <= t; s++) {
                    int sRow = row0 + s, sCol = sRow * di + h * p, bRow = sRow * gn + g * n;
                    float decay = decays[s];
                    float gts = gram[t * lc + s];
                    float m = gts * decay * w[s];
                    float dM = dot(o.dOut(), dy, f.x(), f.xOff() + sCol, p);
                    axpy(m, o.dOut(), dy, o.dx(), o.dxOff() + sCol, p);
                    float dG = dM * decay * w[s];
                    dw[s] += (double) dM * gts * decay;
                    double e2 = (double) dM * m;
                    dl[t] += e2;
                    dl[s] -= e2;
                    axpy(dG, f.b(), f.bOff() + bRow, o.dC(), o.dCOff() + cRow, n);
                    axpy(dG, f.c(), f.cOff() + cRow, o.dB(), o.dBOff() + bRow, n);
                }
            }
            // the state leaving the chunk: exp(l_last) H0 + sum_s q_s x_s B_s^T, adjoint dH_out
            int last = lc - 1;
            float[] carries = o.carries();
            double held = 0;
            for (int i = 0; i < p * n; i++) held += (double) carries[stateAt + i] * h0[i];
            dl[last] += Math.exp(l[last]) * held;
            CpuSsd.decays(l, last, arg, decays);
            for (int s = 0; s < lc; s++) {
                int sRow = row0 + s, sCol = sRow * di + h * p, bRow = sRow * gn + g * n;
                float decay = decays[s];
                float qs = decay * w[s];
                double dq = 0;
                for (int i = 0; i < p; i++) {
                    v[i] = dot(carries, stateAt + i * n, f.b(), f.bOff() + bRow, n);
                    float xi = f.x()[f.xOff() + sCol + i];
                    dq += (double) xi * v[i];
                    axpy(qs * xi, carries, stateAt + i * n, o.dB(), o.dBOff() + bRow, n);
                }
                axpy(qs, v, 0, o.dx(), o.dxOff() + sCol, p);
                dw[s] += dq * decay;
                double e2 = dq * qs;
                dl[last] += e2;
                dl[s] -= e2;
            }
            // l_t = sum_{k<=t} dt_k A: reverse cumulative sums give d(dt_k A)
            double da = 0, dA = 0, dBias = 0;
            for (int t = lc - 1; t >= 0; t--) {
                da += dl[t];
                dA += da * w[t];
                double dPre = (dw[t] + da * a) * dwdPre[t];
                o.dDt()[o.dDtOff() + (row0 + t) * heads + h] += (float) dPre;
                dBias += dPre;
            }
            int at = (task * sh.headsPerGroup() + k) * 3;
            o.partials()[at] = dA;
            o.partials()[at + 1] = dD;
            o.partials()[at + 2] = dBias;
        }
    }

    /** Sums the tasks' partials in task order into dA, dD and d dt_bias (+=), each (heads). */
    public static void reduce(Operands o, float[] dA, int dAOff, float[] dD, int dDOff, float[] dDtBias, int dDtBiasOff) {
        CpuSsd.Operands f = o.f();
        SsdShape sh = f.shape();
        int heads = sh.heads(), hpg = sh.headsPerGroup(), groups = sh.nGroups();
        double[] sums = new double[heads * 3];
        int tasks = tasks(f);
        for (int task = 0; task < tasks; task++) {
            int g = task % groups;
            for (int k = 0; k < hpg; k++) {
                int h = g * hpg + k, at = (task * hpg + k) * 3;
                for (int j = 0; j < 3; j++) sums[h * 3 + j] += o.partials()[at + j];
            }
        }
        for (int h = 0; h < heads; h++) {
            dA[dAOff + h] += (float) sums[h * 3];
            dD[dDOff + h] += (float) sums[h * 3 + 1];
            dDtBias[dDtBiasOff + h] += (float) sums[h * 3 + 2];
        }
    }
}
