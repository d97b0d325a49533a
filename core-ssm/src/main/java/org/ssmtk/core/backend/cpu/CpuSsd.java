package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.ssmtk.core.backend.SsdShape;

/**
 * Mamba-2's SSD scan on the CPU, forward, by the paper's SSD algorithm (Dao and Gu 2024, section
 * 6). Per chunk of Q steps and head, with l_t the cumulative sum of dt_s A over the chunk up to t
 * and H the state entering the chunk (head_dim x state):
 * <pre>
 *   y_t  = sum_{s<=t} (C_t . B_s) exp(l_t - l_s) dt_s x_s  + D x_t     the chunk's own inputs: a masked quadratic form
 *        + exp(l_t) H C_t                                              the state entering the chunk
 *   H   <- exp(l_last) H + S,  S = sum_s exp(l_last - l_s) dt_s x_s B_s^T   state passing to the next chunk
 * </pre>
 * Chunks are taken a window at a time in two passes. {@link #diagonal}, per (sequence, chunk,
 * group) for every chunk of the window at once: the quadratic form, with the Gram matrix C_t . B_s
 * computed once for all heads of the group, and each head's chunk-local state S into a window
 * buffer. {@link #pass}, per (sequence, head), chunk after chunk: the entering state's contribution
 * and the state passing. The window bounds the local states' memory whatever the length; nothing of
 * size (len, head_dim, state) is formed. The cumulative sums are taken in double so that
 * exp(l_t - l_s) keeps its precision over long chunks. SIMD lanes run along head_dim (products with
 * x and y) and along the state (products with B and C), both contiguous in memory.
 */
public final class CpuSsd {
    static final VectorSpecies<Float> S = VectorMath.S;

    /** Chunks per window, and the floats of local states a window may hold (64 MB) whatever the batch and width. */
    static final int WINDOW = 64, LOCAL_FLOATS = 1 << 24;

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

    /**
     * The scratch of one call: each (sequence, head)'s running state (the caller's state itself when
     * there is one, so a decoding step copies nothing), and a window of chunk-local states.
     */
    record Scratch(float[] running, int runningOff, float[] local, int window) {
        static Scratch of(Operands o) {
            SsdShape sh = o.shape();
            int pn = sh.headDim() * sh.stateSize();
            long perChunk = (long) o.batch() * sh.heads() * pn;
            int window = (int) Math.max(1, Math.min(Math.min(WINDOW, sh.chunks(o.len())), LOCAL_FLOATS / perChunk));
            float[] local = new float[Math.toIntExact((long) o.batch() * window * sh.heads() * pn)];
            if (o.state() != null) return new Scratch(o.state(), o.stateOff(), local, window);
            return new Scratch(new float[Math.toIntExact((long) o.batch() * sh.heads() * pn)], 0, local, window);
        }
    }

    /** Runs the whole scan: windows of chunks, each in two parallel passes. */
    static void run(Parallel par, Operands o) {
        SsdShape sh = o.shape();
        Scratch s = Scratch.of(o);
        int chunks = sh.chunks(o.len());
        for (int c0 = 0; c0 < chunks; c0 += s.window()) {
            int from = c0, n = Math.min(s.window(), chunks - c0);
            par.forEach(o.batch() * n * sh.nGroups(), task -> diagonal(o, s, from, n, task));
            par.forEach(o.batch() * sh.heads(), task -> pass(o, s, from, n, task));
        }
    }

    /** Pass 1 for one (sequence, chunk of the window, group): y = D x + the quadratic form; local states. */
    static void diagonal(Operands o, Scratch scratch, int c0, int n, int task) {
        SsdShape sh = o.shape();
        int heads = sh.heads(), p = sh.headDim(), ns = sh.stateSize(), di = sh.channels(), gn = sh.groupStates();
        int groups = sh.nGroups();
        int seq = task / (n * groups), k = (task / groups) % n, g = task % groups, c = c0 + k;
        int t0 = c * sh.chunk(), lc = Math.min(sh.chunk(), o.len() - t0), row0 = seq * o.len() + t0;
        float[] gram = new float[lc * lc];
        for (int t = 0; t < lc; t++)
            for (int s = 0; s <= t; s++)
                gram[t * lc + s] = dot(o.c(), o.cOff() + (row0 + t) * gn + g * ns, o.b(), o.bOff() + (row0 + s) * gn + g * ns, ns);
        float[] w = new float[lc], acc = new float[p], arg = new float[padded(lc)], decay = new float[padded(lc)];
        double[] l = new double[lc];
        for (int hk = 0; hk < sh.headsPerGroup(); hk++) {
            int h = g * sh.headsPerGroup() + hk;
            float dSkip = o.d()[o.dOff() + h];
            timeSteps(o.dt(), o.dtOff(), row0, lc, heads, h, o.dtBias()[o.dtBiasOff() + h], o.a()[o.aOff() + h], sh, w, l, null);
            for (int t = 0; t < lc; t++) {
                int xRow = o.xOff() + (row0 + t) * di + h * p;
                for (int i = 0; i < p; i++) acc[i] = dSkip * o.x()[xRow + i];
                decays(l, t, arg, decay);
                for (int s = 0; s <= t; s++) {
                    float m = gram[t * lc + s] * decay[s] * w[s];
                    axpy(m, o.x(), o.xOff() + (row0 + s) * di + h * p, acc, 0, p);
                }
                System.arraycopy(acc, 0, o.y(), o.yOff() + (row0 + t) * di + h * p, p);
            }
            // the chunk's own contribution to the state leaving it
            int at = ((seq * scratch.window() + k) * heads + h) * p * ns;
            java.util.Arrays.fill(scratch.local(), at, at + p * ns, 0f);
            decays(l, lc - 1, arg, decay);
            for (int s = 0; s < lc; s++) {
                int xRow = o.xOff() + (row0 + s) * di + h * p, bRow = o.bOff() + (row0 + s) * gn + g * ns;
                float qs = decay[s] * w[s];
                for (int i = 0; i < p; i++) axpy(qs * o.x()[xRow + i], o.b(), bRow, scratch.local(), at + i * ns, ns);
            }
        }
    }

    /** Pass 2 for one (sequence, head), the window's chunks in order: the entering state's outputs, then state passing. */
    static void pass(Operands o, Scratch scratch, int c0, int n, int task) {
        SsdShape sh = o.shape();
        int heads = sh.heads(), p = sh.headDim(), ns = sh.stateSize(), di = sh.channels(), gn = sh.groupStates(), pn = p * ns;
        int seq = task / heads, h = task % heads, g = h / sh.headsPerGroup();
        int chunks = sh.chunks(o.len()), q = Math.min(sh.chunk(), o.len());
        float[] w = new float[q], run = scratch.running();
        double[] l = new double[q];
        int at = scratch.runningOff() + (seq * heads + h) * pn;
        for (int k = 0; k < n; k++) {
            int c = c0 + k;
            if (o.chunkStates() != null)
                System.arraycopy(run, at, o.chunkStates(), o.chunkStatesOff() + ((seq * chunks + c) * heads + h) * pn, pn);
            int t0 = c * sh.chunk(), lc = Math.min(sh.chunk(), o.len() - t0), row0 = seq * o.len() + t0;
            timeSteps(o.dt(), o.dtOff(), row0, lc, heads, h, o.dtBias()[o.dtBiasOff() + h], o.a()[o.aOff() + h], sh, w, l, null);
            for (int t = 0; t < lc; t++) {
                int yRow = o.yOff() + (row0 + t) * di + h * p, cRow = o.cOff() + (row0 + t) * gn + g * ns;
                float e = (float) Math.exp(l[t]);
                for (int i = 0; i < p; i++) o.y()[yRow + i] += e * dot(o.c(), cRow, run, at + i * ns, ns);
            }
            float decay = (float) Math.exp(l[lc - 1]);
            int local = ((seq * scratch.window() + k) * heads + h) * pn;
            for (int i = 0; i < pn; i++) run[at + i] = decay * run[at + i] + scratch.local()[local + i];
        }
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

    /** n rounded up to whole vectors. */
    static int padded(int n) {
        return (n + S.length() - 1) / S.length() * S.length();
    }

    /**
     * decay[s] = exp(l[t] - l[s]) for s in [0, t], a vector at a time (VectorMath.exp: the same bits
     * in every JIT tier); entries past t are exp(0). arg and decay hold padded(t + 1) floats.
     */
    static void decays(double[] l, int t, float[] arg, float[] decay) {
        int n = t + 1, end = padded(n);
        for (int s = 0; s < n; s++) arg[s] = (float) (l[t] - l[s]);
        java.util.Arrays.fill(arg, n, end, 0f);
        for (int s = 0; s < end; s += S.length()) VectorMath.exp(FloatVector.fromArray(S, arg, s)).intoArray(decay, s);
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
