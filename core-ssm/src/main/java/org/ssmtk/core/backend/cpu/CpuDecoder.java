package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.DecodePlan;
import org.ssmtk.core.tensor.Tensor;

/**
 * A decoding step of one sequence on the CPU as one piece of straight-line work: embedding row,
 * per layer RMSNorm, the mixer's fused step ({@link CpuMamba1Step}, {@link CpuMamba2Step}) and the
 * residual add, then norm_f and the LM head. Op by op, a step was a few dozen backend calls per
 * layer, each allocating its outputs and handing a short job to the thread team; here every buffer
 * is allocated once, in the constructor, and only the large products ({@link MatVec}) go to the team.
 * The recurrent state is held in the layouts the step reads fastest (see the layer classes) and
 * written back to the model's state tensors by {@link #close}.
 */
final class CpuDecoder implements Backend.DecodeStep {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int V = S.length();

    /** One layer's mixer step: reads the decoder's normed vector, writes its mixer output. */
    interface LayerStep {
        void step();

        /** Writes the layer's state back into the model's state tensors. */
        void writeBack();
    }

    private final int hidden, vocabRows;
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

    CpuDecoder(Parallel par, DecodePlan plan) {
        hidden = plan.embeddings().cols();
        vocabRows = plan.embeddings().dim(0);
        eps = plan.eps();
        embeddings = CpuBackend.data(plan.embeddings());
        embeddingsOff = CpuBackend.off(plan.embeddings());
        int padded = padded(hidden);
        residual = new float[padded];
        normed = new float[padded];
        mixed = new float[padded];
        int n = plan.layers().size();
        norms = new float[n][];
        normOffs = new int[n];
        layers = new LayerStep[n];
        for (int i = 0; i < n; i++) {
            DecodePlan.Layer l = plan.layers().get(i);
            norms[i] = CpuBackend.data(l.norm());
            normOffs[i] = CpuBackend.off(l.norm());
            layers[i] = switch (l) {
                case DecodePlan.Mamba1 m -> new CpuMamba1Step(par, m, normed, mixed);
                case DecodePlan.Mamba2 m -> new CpuMamba2Step(par, m, eps, normed, mixed);
            };
        }
        normF = CpuBackend.data(plan.normF());
        normFOff = CpuBackend.off(plan.normF());
        Tensor logits = plan.logits();
        if (logits.size() != plan.lmHead().dim(0))
            throw new IllegalArgumentException("decode step: logits " + logits + " for an LM head " + plan.lmHead());
        head = new MatVec(par, normed, new Tensor[]{plan.lmHead()}, new Tensor[]{null},
                new float[][]{CpuBackend.data(logits)}, new int[]{CpuBackend.off(logits)});
    }

    @Override
    public void step(int token) {
        if (token < 0 || token >= vocabRows)
            throw new IllegalArgumentException("token id " + token + " is outside the vocabulary [0, " + vocabRows + ")");
        System.arraycopy(embeddings, embeddingsOff + token * hidden, residual, 0, hidden);
        for (int i = 0; i < layers.length; i++) {
            rmsNorm(normed, residual, norms[i], normOffs[i]);
            layers[i].step();
            for (int j = 0; j < hidden; j++) residual[j] = mixed[j] + residual[j];
        }
        rmsNorm(normed, residual, normF, normFOff);
        head.run();
    }

    /** The arithmetic of CpuBackend.rmsNorm, so that both paths give the same bits here. */
    private void rmsNorm(float[] out, float[] x, float[] w, int wo) {
        double ss = 0;
        for (int i = 0; i < hidden; i++) ss += x[i] * x[i];
        float inv = (float) (1.0 / Math.sqrt(ss / hidden + eps));
        for (int i = 0; i < hidden; i++) out[i] = w[wo + i] * (x[i] * inv);
    }

    @Override
    public void close() {
        for (LayerStep l : layers) l.writeBack();
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
     * A depthwise causal conv's window as a ring of the last kernel - 1 inputs: each step overwrites
     * the oldest row with the newest input instead of shifting the window. Taps are stored (kernel,
     * channels), so a vector of channels reads each tap contiguously. Padding channels have zero
     * taps, bias and inputs, so they stay zero.
     */
    static final class ConvWindow {
        private final int channels, dp, width, keep;
        private final float[] taps, bias, ring;
        private final Tensor state;
        private int oldest;

        /** weight (channels, kernel), bias (channels) or null, state (1, kernel - 1, channels), oldest row first. */
        ConvWindow(Tensor weight, Tensor bias, Tensor state) {
            channels = weight.dim(0);
            width = weight.cols();
            keep = width - 1;
            dp = padded(channels);
            if (state.size() != (long) keep * channels) throw new IllegalArgumentException("conv state " + state + " for " + weight);
            taps = new float[width * dp];
            float[] w = CpuBackend.data(weight);
            int wo = CpuBackend.off(weight);
            for (int c = 0; c < channels; c++)
                for (int j = 0; j < width; j++) taps[j * dp + c] = w[wo + c * width + j];
            this.bias = paddedCopy(bias, channels);
            this.state = state;
            ring = new float[keep * dp];
            float[] s = CpuBackend.data(state);
            for (int j = 0; j < keep; j++) System.arraycopy(s, CpuBackend.off(state) + j * channels, ring, j * dp, channels);
        }

        /** out = silu(conv(window ++ in)) over the padded channels; in joins the window. */
        void step(float[] in, float[] out) {
            for (int c = 0; c < dp; c += V) {
                // multiply then add, oldest tap first: CpuBackend.causalConv1dSilu's rounding
                FloatVector acc = FloatVector.fromArray(S, bias, c);
                for (int j = 0; j < keep; j++) {
                    int row = oldest + j < keep ? oldest + j : oldest + j - keep;
                    acc = acc.add(FloatVector.fromArray(S, taps, j * dp + c).mul(FloatVector.fromArray(S, ring, row * dp + c)));
                }
                FloatVector x = FloatVector.fromArray(S, in, c);
                acc = acc.add(FloatVector.fromArray(S, taps, keep * dp + c).mul(x));
                if (keep > 0) x.intoArray(ring, oldest * dp + c);
                acc.mul(VectorMath.sigmoid(acc)).intoArray(out, c);
            }
            if (keep > 0) oldest = oldest + 1 == keep ? 0 : oldest + 1;
        }

        /** The window back into the state tensor, oldest row first. */
        void writeBack() {
            float[] s = CpuBackend.data(state);
            for (int j = 0; j < keep; j++) {
                int row = (oldest + j) % keep;
                System.arraycopy(ring, row * dp, s, CpuBackend.off(state) + j * channels, channels);
            }
        }
    }
}
