package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.DecodePlan;
import org.ssmtk.core.tensor.Tensor;

/**
 * A decoding step of one or more sequences on the CPU as one piece of straight-line work: embedding row,
 * per layer RMSNorm, the mixer's fused step ({@link CpuMamba1Step}, {@link CpuMamba2Step}) and the
 * residual add, then norm_f and the LM head. Op by op, a step was a few dozen backend calls per
 * layer, each allocating its outputs and handing a short job to the thread team; here every buffer
 * is allocated once, in the constructor, and only the large products ({@link MatVec}) go to the team.
 * The recurrent state is held in the layouts the step reads fastest (see the layer classes) and
 * written back to the model's state tensors by {@link #close}.
 * <p>
 * Several sequences (the plan's logits rows) step together: each product reads a weight row once for
 * all of them ({@link MatVec}), which is what a step of a large model is bound by, while the conv
 * windows, states and scans stay per sequence (the scans, and Mamba-2's convs, a sequence per task of the
 * thread team). Every
 * sequence's numbers are the bits it gets when stepped alone, however many share the step.
 */
final class CpuDecoder implements Backend.DecodeStep {
    static final VectorSpecies<Float> S = VectorMath.S;
    static final int V = S.length();

    /** One layer's mixer step: reads the decoder's normed vectors, writes its mixer outputs. */
    interface LayerStep {
        void step();

        /** Zeroes sequence b's conv windows and state: it starts a new sequence. */
        void reset(int b);

        /** Writes the layer's state back into the model's state tensors. */
        void writeBack();
    }

    private final int hidden, vocabRows, batch, stride;
    private final float eps;
    private final float[] embeddings;
    private final int embeddingsOff;
    private final float[] residual, normed, mixed;
    private final float[][] norms;
    private final int[] normOffs;
    private final float[] normF;
    private final int normFOff;
    private final LayerStep[] layers;
    private final MatVec head;
    private final HugePages.Copies copies;

    /** A decoding step for plan; its fp32 weights are copied onto huge pages, unmapped when the step is closed. */
    static CpuDecoder open(Parallel par, DecodePlan plan) {
        HugePages.Copies copies = new HugePages.Copies(false);
        try {
            return new CpuDecoder(par, plan, copies);
        } catch (RuntimeException | Error e) {
            copies.close();
            throw e;
        }
    }

    private CpuDecoder(Parallel par, DecodePlan plan, HugePages.Copies copies) {
        this.copies = copies;
        hidden = plan.embeddings().cols();
        vocabRows = plan.embeddings().dim(0);
        eps = plan.eps();
        batch = plan.logits().rows2d();
        embeddings = CpuBackend.data(plan.embeddings());
        embeddingsOff = CpuBackend.off(plan.embeddings());
        stride = padded(hidden);
        residual = new float[batch * stride];
        normed = new float[batch * stride];
        mixed = new float[batch * stride];
        int n = plan.layers().size();
        norms = new float[n][];
        normOffs = new int[n];
        layers = new LayerStep[n];
        for (int i = 0; i < n; i++) {
            DecodePlan.Layer l = plan.layers().get(i);
            norms[i] = CpuBackend.data(l.norm());
            normOffs[i] = CpuBackend.off(l.norm());
            layers[i] = switch (l) {
                case DecodePlan.Mamba1 m -> new CpuMamba1Step(par, batch, m, normed, mixed, stride, copies);
                case DecodePlan.Mamba2 m -> new CpuMamba2Step(par, batch, m, eps, normed, mixed, stride, copies);
            };
        }
        normF = CpuBackend.data(plan.normF());
        normFOff = CpuBackend.off(plan.normF());
        Tensor logits = plan.logits();
        if (logits.size() != (long) batch * plan.lmHead().dim(0))
            throw new IllegalArgumentException("decode step: logits " + logits + " for an LM head " + plan.lmHead());
        head = new MatVec(par, batch, normed, stride, new Tensor[]{plan.lmHead()}, new Tensor[]{null},
                new float[][]{CpuBackend.data(logits)}, new int[]{CpuBackend.off(logits)}, new int[]{plan.lmHead().dim(0)}, copies);
    }

    @Override
    public void step(int token) {
        if (batch != 1) throw new IllegalArgumentException("this decoding step takes " + batch + " sequences, got one token");
        if (token < 0 || token >= vocabRows)
            throw new IllegalArgumentException("token id " + token + " is outside the vocabulary [0, " + vocabRows + ")");
        System.arraycopy(embeddings, embeddingsOff + token * hidden, residual, 0, hidden);
        run();
    }

    @Override
    public void step(int[] tokens) {
        if (tokens.length != batch) throw new IllegalArgumentException("this decoding step takes " + batch + " sequences, got " + tokens.length + " tokens");
        for (int b = 0; b < batch; b++)
            if (tokens[b] < 0 || tokens[b] >= vocabRows)
                throw new IllegalArgumentException("token id " + tokens[b] + " is outside the vocabulary [0, " + vocabRows + ")");
        for (int b = 0; b < batch; b++) System.arraycopy(embeddings, embeddingsOff + tokens[b] * hidden, residual, b * stride, hidden);
        run();
    }

    @Override
    public void reset(int sequence) {
        if (sequence < 0 || sequence >= batch) throw new IllegalArgumentException("sequence " + sequence + " of " + batch);
        for (LayerStep l : layers) l.reset(sequence);
    }

    private void run() {
        for (int i = 0; i < layers.length; i++) {
            for (int b = 0; b < batch; b++) rmsNorm(normed, residual, b * stride, norms[i], normOffs[i]);
            layers[i].step();
            for (int j = 0, n = batch * stride; j < n; j++) residual[j] = mixed[j] + residual[j]; // padding lanes stay 0
        }
        for (int b = 0; b < batch; b++) rmsNorm(normed, residual, b * stride, normF, normFOff);
        head.run();
    }

    /** The arithmetic of CpuBackend.rmsNorm, so that both paths give the same bits here; row at o. */
    private void rmsNorm(float[] out, float[] x, int o, float[] w, int wo) {
        double ss = 0;
        for (int i = 0; i < hidden; i++) ss += x[o + i] * x[o + i];
        float inv = (float) (1.0 / Math.sqrt(ss / hidden + eps));
        for (int i = 0; i < hidden; i++) out[o + i] = w[wo + i] * (x[o + i] * inv);
    }

    @Override
    public void close() {
        for (LayerStep l : layers) l.writeBack();
        copies.close();
    }

    /** n rounded up to whole vectors: step buffers are padded so that loops over them need no tail. */
    static int padded(int n) {
        return (n + V - 1) / V * V;
    }

    /** A copy of t's values into a padded array (zeros past the end, or all zeros when t is null). */
    static float[] paddedCopy(Tensor t, int n) {
        float[] out = new float[padded(n)];
        if (t != null) System.arraycopy(CpuBackend.data(t), CpuBackend.off(t), out, 0, n);
        return out;
    }

    /**
     * A depthwise causal conv's windows, one per sequence, as rings of the last kernel - 1 inputs:
     * each step overwrites the oldest row with the newest input instead of shifting the window (the
     * sequences step together, so one position serves all rings). Taps are stored (kernel,
     * channels), so a vector of channels reads each tap contiguously. Padding channels have zero
     * taps, bias and inputs, so they stay zero.
     */
    static final class ConvWindow {
        private final int channels, dp, width, keep, batch;
        private final float[] taps, bias, ring;
        private final Tensor state;
        private int oldest;

        /** weight (channels, kernel), bias (channels) or null, state (batch, kernel - 1, channels), oldest row first. */
        ConvWindow(Tensor weight, Tensor bias, Tensor state, int batch) {
            channels = weight.dim(0);
            width = weight.cols();
            keep = width - 1;
            this.batch = batch;
            dp = padded(channels);
            if (state.size() != (long) batch * keep * channels) throw new IllegalArgumentException("conv state " + state + " for " + weight);
            taps = new float[width * dp];
            float[] w = CpuBackend.data(weight);
            int wo = CpuBackend.off(weight);
            for (int c = 0; c < channels; c++)
                for (int j = 0; j < width; j++) taps[j * dp + c] = w[wo + c * width + j];
            this.bias = paddedCopy(bias, channels);
            this.state = state;
            ring = new float[batch * keep * dp];
            float[] s = CpuBackend.data(state);
            for (int r = 0; r < batch * keep; r++) System.arraycopy(s, CpuBackend.off(state) + r * channels, ring, r * dp, channels);
        }

        /**
         * out = silu(conv(window ++ in)) over the padded channels of sequence b's window (in and out
         * from their offsets); in joins the window. Every sequence steps, then {@link #advance}.
         */
        void step(int b, float[] in, int io, float[] out, int oo) {
            int base = b * keep * dp;
            for (int c = 0; c < dp; c += V) {
                // multiply then add, oldest tap first: CpuBackend.causalConv1dSilu's rounding
                FloatVector acc = FloatVector.fromArray(S, bias, c);
                for (int j = 0; j < keep; j++) {
                    int row = oldest + j < keep ? oldest + j : oldest + j - keep;
                    acc = acc.add(FloatVector.fromArray(S, taps, j * dp + c).mul(FloatVector.fromArray(S, ring, base + row * dp + c)));
                }
                FloatVector x = FloatVector.fromArray(S, in, io + c);
                acc = acc.add(FloatVector.fromArray(S, taps, keep * dp + c).mul(x));
                if (keep > 0) x.intoArray(ring, base + oldest * dp + c);
                acc.mul(VectorMath.sigmoid(acc)).intoArray(out, oo + c);
            }
        }

        /** The newest inputs become part of the windows: the next oldest row moves on. */
        void advance() {
            if (keep > 0) oldest = oldest + 1 == keep ? 0 : oldest + 1;
        }

        /** Sequence b's window to zeros, a new sequence's. */
        void reset(int b) {
            java.util.Arrays.fill(ring, b * keep * dp, (b + 1) * keep * dp, 0f);
        }

        /** The windows back into the state tensor, oldest row first. */
        void writeBack() {
            float[] s = CpuBackend.data(state);
            for (int b = 0; b < batch; b++)
                for (int j = 0; j < keep; j++) {
                    int row = (oldest + j) % keep;
                    System.arraycopy(ring, (b * keep + row) * dp, s, CpuBackend.off(state) + (b * keep + j) * channels, channels);
                }
        }
    }
}
