package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.ssmtk.core.backend.SsdShape;

/**
 * Mamba-2's SSD scan on the CPU, forward, computed chunk by chunk as in the paper's SSD algorithm
 * (Dao and Gu 2024, section 6). Per (sequence, head) task, for each chunk of Q steps with the state
 * H (head_dim x state) entering it, l_t the cumulative sum of dt_s A over the chunk up to t:
 * <pre>
 *   y_t  = sum_{s<=t} (C_t . B_s) exp(l_t - l_s) dt_s x_s      the quadratic, attention-like form
 *        + exp(l_t) H C_t                                       the state entering the chunk
 *        + D x_t
 *   H   <- exp(l_last) H + sum_s exp(l_last - l_s) dt_s x_s B_s^T   state passing to the next chunk
 * </pre>
 * The cumulative sums are taken in double so that exp(l_t - l_s) keeps its precision over long
 * chunks. SIMD lanes run along head_dim (the products with x and y) and along the state (dot
 * products with B and C), both contiguous in memory. Nothing of size (len, head_dim, state) is formed.
 */
public final class CpuSsd {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /**
     * Array views of one SSD call; offsets in elements. x, y (rows, heads * headDim), dt (rows,
     * heads), B, C (rows, groups * state), A, D, dtBias (heads). state (batch, heads, headDim,
     * stateSize) may be null (start from zero, keep nothing); chunkStates (batch, chunks, heads,
     * headDim, stateSize) may be null, else it receives the state entering every chunk.
     */
    public record Operands(float[] y, int yOff, float[] x, int xOff, float[] dt, int dtOff, float[] dtBias, int dtBiasOff,
                           float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, float[] d, int dOff,
                           float[] state, int stateOff, float[] chunkStates, int chunkStatesOff,
                           int batch, int len, SsdShape shape) {}

    private CpuSsd() {}

    public static int tasks(Operands o) {
        return o.batch() * o.shape().heads();
    }

    /** One (sequence, head) task: all chunks of it in order, the state carried in a small scratch. */
    public static void run(Operands o, int task) {
        SsdShape sh = o.shape();
        int heads = sh.heads(), p = sh.headDim(), n = sh.stateSize(), di = sh.channels(), gn = sh.groupStates();
        int seq = task / heads, h = task % heads, g = h / sh.headsPerGroup();
        int q = Math.min(sh.chunk(), o.len());
        float[] state = new float[p * n];
        if (o.state() != null) System.arraycopy(o.state(), o.stateOff() + (seq * heads + h) * p * n, state, 0, p * n);
        float[] w = new float[q], acc = new float[p];
        double[] l = new double[q];
        float a = o.a()[o.aOff() + h], dSkip = o.d()[o.dOff() + h], bias = o.dtBias()[o.dtBiasOff() + h];
        int chunks = sh.chunks(o.len());
        for (int c = 0; c < chunks; c++) {
            if (o.chunkStates() != null)
                System.arraycopy(state, 0, o.chunkStates(), o.chunkStatesOff() + ((seq * chunks + c) * heads + h) * p * n, p * n);
            int t0 = c * sh.chunk(), lc = Math.min(sh.chunk(), o.len() - t0), row0 = seq * o.len() + t0;
            timeSteps(o.dt(), o.dtOff(), row0, lc, heads, h, bias, a, sh, w, l, null);
            for (int t = 0; t < lc; t++) {
                int row = row0 + t, xRow = o.xOff() + row * di + h * p, cRow = o.cOff() + row * gn + g * n;
                float eOut = (float) Math.exp(l[t]);
                // the state entering the chunk, read by C_t and decayed to t
                for (int i = 0; i < p; i++)
                    acc[i] = eOut * dot(o.c(), cRow, state, i * n, n) + dSkip * o.x()[xRow + i];
                // the chunk's own inputs up to t: the masked quadratic form
                for (int s = 0; s <= t; s++) {
                    int sRow = row0 + s;
                    float m = dot(o.c(), cRow, o.b(), o.bOff() + sRow * gn + g * n, n) * (float) Math.exp(l[t] - l[s]) * w[s];
                    axpy(m, o.x(), o.xOff() + sRow * di + h * p, acc, 0, p);
                }
                System.arraycopy(acc, 0, o.y(), o.yOff() + row * di + h * p, p);
            }
            // state passing: decay the entering state over the whole chunk, add the chunk's inputs
            double last = l[lc - 1];
            scale(state, (float) Math.exp(last), p * n);
            for (int s = 0; s < lc; s++) {
                int sRow = row0 + s, xRow = o.xOff() + sRow * di + h * p, bRow = o.bOff() + sRow * gn + g * n;
                float qs = (float) Math.exp(last - l[s]) * w[s];
                for (int i = 0; i < p; i++) axpy(qs * o.x()[xRow + i], o.b(), bRow, state, i * n, n);
            }
        }
        if (o.state() != null) System.arraycopy(state, 0, o.state(), o.stateOff() + (seq * heads + h) * p * n, p * n);
    }

    /**
     * dt_t = clamp(softplus(dt + bias), dtMin, dtMax) into w, the cumulative sum of dt_t A into l (in
     * double), and when grad is not null d dt_t / d(dt + bias) (0 where the clamp holds) into it.
     */
    static void timeSteps(float[] dt, int dtOff, int row0, int lc, int heads, int h, float bias, float a, SsdShape sh,
                          float[] w, double[] l, float[] grad) {
        double sum = 0;
        for (int t = 0; t < lc; t++) {
            float pre = dt[dtOff + (row0 + t) * heads + h] + bias;
            float sp = softplus(pre);
            float v = Math.min(Math.max(sp, sh.dtMin()), sh.dtMax());
            w[t] = v;
            sum += (double) v * a;
            l[t] = sum;
            if (grad != null) grad[t] = sp < sh.dtMin() || sp > sh.dtMax() ? 0f : pre > 20f ? 1f : (float) (1 / (1 + Math.exp(-pre)));
        }
    }

    /** softplus as PyTorch computes it: x itself above 20. */
    static float softplus(float x) {
        return x > 20f ? x : (float) Math.log1p(Math.exp(x));
    }

    /** sum_i a[ao + i] b[bo + i], lanes summed in a fixed order (VectorMath.sum). */
    static float dot(float[] a, int ao, float[] b, int bo, int n) {
        int i = 0;
        float s = 0f;
        if (n >= S.length()) {
            FloatVector v = FloatVector.zero(S);
            for (; i + S.length() <= n; i += S.length())
                v = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), v);
            s = VectorMath.sum(v);
        }
        for (; i < n; i++) s += a[ao + i] * b[bo + i];
        return s;
    }

    /** y[yo + i] += alpha x[xo + i]. */
    static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        FloatVector av = FloatVector.broadcast(S, alpha);
        for (; i + S.length() <= n; i += S.length())
            FloatVector.fromArray(S, x, xo + i).fma(av, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] += alpha * x[xo + i];
    }

    static void scale(float[] x, float f, int n) {
        for (int i = 0; i < n; i++) x[i] *= f;
    }
}
