package org.ssmtk.core.backend;

import org.ssmtk.core.tensor.Tensor;

import java.util.Arrays;
import java.util.List;

/**
 * The shape contracts of {@link Backend}'s operations, checked the same way by every backend before
 * it touches memory: a mismatch is an IllegalArgumentException naming the operation and the tensors,
 * never an out-of-bounds read on one backend and a silent wrong answer on another.
 */
public final class Shapes {
    private Shapes() {}

    /** Number of kept scan states for len steps kept every chunk steps (Backend.scanChunk()). */
    public static long chunks(int len, int chunk) {
        return (len + chunk - 1) / chunk;
    }

    public static void copy(Tensor dst, Tensor src) {
        if (dst.size() != src.size()) throw new IllegalArgumentException("copy " + src + " into " + dst);
    }

    /** Every tensor as large as the first: element-wise operations. */
    public static void sameSize(String op, Tensor... ts) {
        for (Tensor t : ts)
            if (t.size() != ts[0].size()) throw new IllegalArgumentException(op + ": sizes differ: " + Arrays.toString(ts));
    }

    /** The multi-tensor optimizer's lists: one gradient, two moments and one weight decay per parameter. */
    public static void adamWLists(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, float[] weightDecay) {
        int n = params.size();
        if (grads.size() != n || m.size() != n || v.size() != n || weightDecay.length != n)
            throw new IllegalArgumentException("adamW: " + n + " parameters with " + grads.size() + " gradients, " + m.size()
                    + " and " + v.size() + " moments and " + weightDecay.length + " weight decays");
    }

    public static void linear(Tensor out, Tensor x, Tensor w, Tensor bias) {
        int m = x.rows2d(), k = x.cols(), n = w.dim(0);
        if (w.rank() != 2 || w.dim(1) != k)
            throw new IllegalArgumentException("linear: x " + x + " does not match weight " + w);
        if (out.rows2d() != m || out.cols() != n)
            throw new IllegalArgumentException("linear: out " + out + " is not (" + m + ", " + n + ")");
        if (bias != null && bias.size() != n) throw new IllegalArgumentException("linear: bias " + bias + " for " + n + " outputs");
    }

    public static void linearBackward(Tensor dx, Tensor dw, Tensor dy, Tensor x, Tensor w) {
        int m = x.rows2d(), k = x.cols(), n = w.dim(0);
        if (dy.rows2d() != m || dy.cols() != n || dw.rows2d() != n || dw.cols() != k || (dx != null && (dx.rows2d() != m || dx.cols() != k)))
            throw new IllegalArgumentException("linear backward: dy " + dy + ", x " + x + ", w " + w + ", dx " + dx + ", dw " + dw);
    }

    /** out is (ids, width) and every id indexes the table's rows. */
    public static void embedding(Tensor out, int[] ids, Tensor table) {
        int vocab = table.dim(0), h = table.dim(1);
        if (out.rows2d() != ids.length || out.cols() != h)
            throw new IllegalArgumentException("embedding: out " + out + " for " + ids.length + " ids of width " + h);
        tokenIds(ids, vocab);
    }

    public static void tokenIds(int[] ids, int vocab) {
        for (int id : ids)
            if (id < 0 || id >= vocab) throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + vocab + ")");
    }

    public static void broadcastRows(Tensor out, Tensor row) {
        if (row.size() != out.cols()) throw new IllegalArgumentException("broadcast " + row + " into rows of " + out);
    }

    public static void columnSums(Tensor out, Tensor m) {
        if (out.size() != m.cols()) throw new IllegalArgumentException("column sums of " + m + " into " + out);
    }

    public static void conv1d(Tensor out, Tensor x, Tensor weight, Tensor convState, int batch, int len) {
        int ch = x.cols(), width = weight.cols();
        if (x.rows2d() != batch * len || out.rows2d() != batch * len || out.cols() != ch || weight.rows2d() != ch)
            throw new IllegalArgumentException("conv1d: x " + x + ", out " + out + ", weight " + weight + " for batch " + batch + " x len " + len);
        if (convState != null && convState.size() != (long) batch * (width - 1) * ch)
            throw new IllegalArgumentException("conv1d: state " + convState + " is not (" + batch + ", " + (width - 1) + ", " + ch + ")");
    }

    /**
     * The selective scan's operands: u, delta, y, z (batch x len, ch); A (ch, n); B, C (batch x len, n);
     * the carried state (batch, ch, n); the kept states (batch, chunks, ch, n) for states kept every
     * chunk steps.
     */
    public static void scan(Tensor y, Tensor u, Tensor delta, Tensor A, Tensor B, Tensor C, Tensor z, Tensor ssmState,
                            Tensor chunkStates, int batch, int len, int chunk) {
        int ch = u.cols(), n = A.cols();
        long rows = (long) batch * len;
        if (u.rows2d() != rows || delta.rows2d() != rows || delta.cols() != ch || y.rows2d() != rows || y.cols() != ch
                || A.rows2d() != ch || B.rows2d() != rows || B.cols() != n || C.rows2d() != rows || C.cols() != n
                || (z != null && (z.rows2d() != rows || z.cols() != ch))
                || (ssmState != null && ssmState.size() != (long) batch * ch * n)
                || (chunkStates != null && chunkStates.size() != (long) batch * chunks(len, chunk) * ch * n))
            throw new IllegalArgumentException("selective scan: inconsistent shapes u " + u + ", delta " + delta + ", A " + A
                    + ", B " + B + ", C " + C + ", y " + y + ", z " + z + ", state " + ssmState + ", chunk states "
                    + chunkStates + " for batch " + batch + " x len " + len);
    }

    /** The backward's gradients exist exactly for the optional inputs that do. */
    public static void scanGradients(Tensor deltaBias, Tensor dDeltaBias, Tensor D, Tensor dD, Tensor z, Tensor dz) {
        if ((deltaBias == null) != (dDeltaBias == null) || (D == null) != (dD == null) || (z == null) != (dz == null))
            throw new IllegalArgumentException("selective scan backward: gradient outputs must match the optional inputs");
    }

    /** out and x are (rows, h), weight (h). */
    public static void rmsNorm(Tensor out, Tensor x, Tensor weight) {
        if (weight.size() != x.cols() || out.rows2d() != x.rows2d() || out.cols() != x.cols())
            throw new IllegalArgumentException("rmsNorm: out " + out + ", x " + x + ", weight " + weight);
    }

    public static void rmsNormBackward(Tensor dx, Tensor dWeight, Tensor dy, Tensor x, Tensor weight) {
        rmsNorm(dy, x, weight);
        rmsNorm(dx, x, dWeight);
    }

    /** dOut is (ids, width) of the table's width, and every id indexes the table's rows. */
    public static void embeddingBackward(Tensor dTable, int[] ids, Tensor dOut) {
        embedding(dOut, ids, dTable);
    }

    public static void conv1dBackward(Tensor dx, Tensor dWeight, Tensor dBias, Tensor dOut, Tensor x, Tensor weight,
                                      Tensor bias, int batch, int len) {
        conv1d(dOut, x, weight, null, batch, len);
        sameSize("conv1d backward: dx", dx, x);
        sameSize("conv1d backward: dWeight", dWeight, weight);
        if ((bias == null) != (dBias == null) || (bias != null && bias.size() != dBias.size()))
            throw new IllegalArgumentException("conv1d backward: bias " + bias + " and its gradient " + dBias);
    }

    /** One target per row of logits; dLogits as large as logits. */
    public static void crossEntropy(Tensor logits, int[] targets, Tensor dLogits) {
        if (targets.length != logits.rows2d())
            throw new IllegalArgumentException(targets.length + " targets for " + logits.rows2d() + " rows of logits");
        if (dLogits != null) sameSize("crossEntropy", logits, dLogits);
    }

    /** Backend#crossEntropyRows: one target per row, each below width, width within the row. */
    public static void crossEntropyRows(Tensor logits, int width, int[] targets) {
        if (targets.length != logits.rows2d())
            throw new IllegalArgumentException(targets.length + " targets for " + logits.rows2d() + " rows of logits");
        if (width < 1 || width > logits.cols())
            throw new IllegalArgumentException("width " + width + " is outside [1, " + logits.cols() + "] for logits " + logits);
        for (int t : targets)
            if (t >= width) throw new IllegalArgumentException("target " + t + " is outside [0, " + width + ")");
    }

    /**
     * The SSD scan's operands (Backend#ssdScan): x, y (batch x len, heads x headDim); dt (batch x
     * len, heads); A, D, dtBias (heads); B, C (batch x len, groups x state); the carried state
     * (batch, heads, headDim, state); the kept states (batch, chunks, heads, headDim, state).
     */
    public static void ssd(Tensor y, Tensor x, Tensor dt, Tensor dtBias, Tensor A, Tensor B, Tensor C, Tensor D,
                           Tensor ssmState, Tensor chunkStates, int batch, int len, SsdShape s) {
        long rows = (long) batch * len, state = (long) s.channels() * s.stateSize();
        if (batch < 1 || len < 1 || x.rows2d() != rows || x.cols() != s.channels() || y.rows2d() != rows || y.cols() != s.channels()
                || dt.rows2d() != rows || dt.cols() != s.heads() || dtBias.size() != s.heads() || A.size() != s.heads()
                || D.size() != s.heads() || B.rows2d() != rows || B.cols() != s.groupStates()
                || C.rows2d() != rows || C.cols() != s.groupStates()
                || (ssmState != null && ssmState.size() != batch * state)
                || (chunkStates != null && chunkStates.size() != batch * s.chunks(len) * state))
            throw new IllegalArgumentException("SSD scan: inconsistent shapes x " + x + ", y " + y + ", dt " + dt + ", dt_bias "
                    + dtBias + ", A " + A + ", B " + B + ", C " + C + ", D " + D + ", state " + ssmState + ", chunk states "
                    + chunkStates + " for batch " + batch + " x len " + len + " and " + s);
    }

    /** The SSD backward's gradients have their inputs' shapes. */
    public static void ssdGradients(Tensor dx, Tensor x, Tensor dDt, Tensor dt, Tensor dB, Tensor B, Tensor dC, Tensor C,
                                    Tensor dA, Tensor dD, Tensor dDtBias, Tensor dOut, int heads) {
        if (dx.size() != x.size() || dDt.size() != dt.size() || dB.size() != B.size() || dC.size() != C.size()
                || dOut.size() != x.size() || dA.size() != heads || dD.size() != heads || dDtBias.size() != heads)
            throw new IllegalArgumentException("SSD scan backward: gradient shapes dx " + dx + ", d dt " + dDt + ", dB " + dB
                    + ", dC " + dC + ", dA " + dA + ", dD " + dD + ", d dt_bias " + dDtBias + ", dy " + dOut
                    + " do not match the inputs");
    }

    /** Gated RMSNorm: x, z, out (and their gradients) alike, weight (width), width a multiple of groupSize. */
    public static void gatedRmsNorm(Tensor out, Tensor x, Tensor z, Tensor weight, int groupSize) {
        int width = x.cols();
        if (out.rows2d() != x.rows2d() || out.cols() != width || z.rows2d() != x.rows2d() || z.cols() != width
                || weight.size() != width || groupSize < 1 || width % groupSize != 0)
            throw new IllegalArgumentException("gated RMSNorm: out " + out + ", x " + x + ", z " + z + ", weight " + weight
                    + ", group size " + groupSize);
    }
}
