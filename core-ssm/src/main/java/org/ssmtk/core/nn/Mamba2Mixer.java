package org.ssmtk.core.nn;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.DecodePlan;
import org.ssmtk.core.backend.SsdShape;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.config.SsdConfig;
import org.ssmtk.core.tensor.Tensor;

import java.util.function.Function;

/**
 * Mamba-2's mixer (Dao and Gu 2024), as transformers' Mamba2Mixer computes it:
 * <pre>
 *   z, x, B, C, dt = in_proj(h)                       (row views of the fused projection)
 *   x, B, C        = silu(causal_depthwise_conv1d(x, B, C))
 *   y              = ssd(x, dt + dt_bias, A = -exp(A_log), B, C, D)   (scalar A per head, B/C per group)
 *   out            = out_proj(gated_rmsnorm(y, z))
 * </pre>
 * The fused in_proj and conv1d are split by row views (z | x | B | C | dt and x | B | C), so x, B
 * and C come out as separate (tokens, features) matrices with no copy and their gradients land in
 * the right rows of the full parameters' gradients; the conv window is therefore three windows.
 *
 * <p>The gated norm divides by the root mean square of each of the n_groups groups of d_inner /
 * n_groups features, as mamba_ssm's Mamba2 (which trained the public checkpoints) and transformers'
 * fused CUDA path do. transformers' pure-PyTorch path normalizes the whole row at once; the two
 * differ only when n_groups > 1 (the fixture has one group).
 */
final class Mamba2Mixer implements Mixer {

    /**
     * One layer's parameters or gradients. inZ, inX (d_inner, hidden), inB, inC (groups * state,
     * hidden), inDt (heads, hidden); convX (d_inner, kernel), convB, convC (groups * state, kernel);
     * aLog, d, dtBias (heads); norm (d_inner); outWeight (hidden, d_inner). Biases null when absent.
     */
    record Weights(Tensor inZ, Tensor inX, Tensor inB, Tensor inC, Tensor inDt,
                   Tensor inBiasZ, Tensor inBiasX, Tensor inBiasB, Tensor inBiasC, Tensor inBiasDt,
                   Tensor convX, Tensor convB, Tensor convC, Tensor convBiasX, Tensor convBiasB, Tensor convBiasC,
                   Tensor aLog, Tensor d, Tensor dtBias, Tensor norm, Tensor outWeight, Tensor outBias) implements Mixer.Weights {

        /** The one place that maps checkpoint names to a layer's Mamba-2 mixer tensors. */
        static Weights bind(MambaConfig c, Function<String, Tensor> tensor, String prefix) {
            Function<String, Tensor> t = name -> tensor.apply(prefix + name);
            int di = c.intermediateSize(), gn = Mamba2Family.groupStates(c), heads = c.ssd().numHeads();
            int[] at = {0, di, 2 * di, 2 * di + gn, 2 * di + 2 * gn, 2 * di + 2 * gn + heads};
            Tensor in = t.apply("in_proj.weight"), inBias = c.useBias() ? t.apply("in_proj.bias") : null;
            Tensor conv = t.apply("conv1d.weight").reshape(Mamba2Family.convDim(c), c.convKernel());
            Tensor convBias = c.useConvBias() ? t.apply("conv1d.bias") : null;
            return new Weights(in.rows(at[0], at[1]), in.rows(at[1], at[2]), in.rows(at[2], at[3]), in.rows(at[3], at[4]),
                    in.rows(at[4], at[5]),
                    rows(inBias, at[0], at[1]), rows(inBias, at[1], at[2]), rows(inBias, at[2], at[3]),
                    rows(inBias, at[3], at[4]), rows(inBias, at[4], at[5]),
                    conv.rows(0, di), conv.rows(di, di + gn), conv.rows(di + gn, di + 2 * gn),
                    rows(convBias, 0, di), rows(convBias, di, di + gn), rows(convBias, di + gn, di + 2 * gn),
                    t.apply("A_log"), t.apply("D"), t.apply("dt_bias"), t.apply("norm.weight"),
                    t.apply("out_proj.weight"), c.useBias() ? t.apply("out_proj.bias") : null);
        }

        private static Tensor rows(Tensor t, int from, int to) {
            return t == null ? null : t.rows(from, to);
        }
    }

    /**
     * z and the pre-conv x, B, C (in_proj outputs), the conv outputs x, B, C, dt (pre-bias), A =
     * -exp(A_log), the SSD output y, the gated norm's output, and for training the SSD state entering
     * every chunk, (batch, chunks, heads, head_dim, state). A training forward keeps them all, the
     * conv outputs and the norm's output included, which mamba_ssm's memory-efficient Mamba-2 path
     * recomputes in its backward: at 130m-mamba2 8 x 2048 that is 0.22 GiB a layer more for one conv
     * pass over x, B, C and one norm pass a layer less (4 ms of a 350 ms fp32 step), and the step still
     * needs less memory than the reference's (18.8 against 23.3 GiB on an H200). Where memory is
     * short, --recompute-activations keeps no layer's activations at all (MambaModel.backward).
     */
    record Activations(Tensor z, Tensor xPre, Tensor bPre, Tensor cPre, Tensor x, Tensor b, Tensor c, Tensor dt, Tensor a,
                       Tensor y, Tensor normed, Tensor chunkStates) implements Mixer.Activations {
        @Override
        public Tensor[] tensors() {
            return new Tensor[]{z, xPre, bPre, cPre, x, b, c, dt, a, y, normed, chunkStates};
        }
    }

    /** The last kernel - 1 inputs of the x, B and C convs, and the SSM state (batch, heads, head_dim, state). */
    record State(Tensor convX, Tensor convB, Tensor convC, Tensor ssm) implements Mixer.State {
        @Override
        public Tensor[] tensors() {
            return new Tensor[]{convX, convB, convC, ssm};
        }
    }

    /** The gradients the backward forms, buffers shared by every layer. */
    record BackwardScratch(Tensor dNormed, Tensor dY, Tensor dZ, Tensor dX, Tensor dB, Tensor dC, Tensor dDt, Tensor dA,
                           Tensor dXPre, Tensor dBPre, Tensor dCPre) implements Mixer.BackwardScratch {
        @Override
        public Tensor[] tensors() {
            return new Tensor[]{dNormed, dY, dZ, dX, dB, dC, dDt, dA, dXPre, dBPre, dCPre};
        }
    }

    private final Backend backend;
    private final MambaConfig config;
    private final Weights w;
    private final SsdShape shape;
    private final int normGroup;

    Mamba2Mixer(Backend backend, MambaConfig config, Weights weights) {
        this.backend = backend;
        this.config = config;
        this.w = weights;
        SsdConfig s = config.ssd();
        this.shape = new SsdShape(s.numHeads(), s.headDim(), s.nGroups(), config.stateSize(), s.chunkSize(),
                (float) s.timeStepLimitLow(), (float) s.timeStepLimitHigh());
        this.normGroup = config.intermediateSize() / s.nGroups();
    }

    @Override
    public Activations newActivations(int batch, int len, boolean training) {
        // every buffer is written whole by the forward before anything reads it: none needs zeroing
        int rows = batch * len, di = config.intermediateSize(), gn = shape.groupStates(), heads = shape.heads();
        Tensor chunkStates = training
                ? backend.allocateUninitialized(batch, shape.chunks(len), heads, shape.headDim(), shape.stateSize()) : null;
        java.util.function.IntFunction<Tensor> rowsOf = cols -> backend.allocateUninitialized(rows, cols);
        return new Activations(rowsOf.apply(di), rowsOf.apply(di), rowsOf.apply(gn), rowsOf.apply(gn), rowsOf.apply(di),
                rowsOf.apply(gn), rowsOf.apply(gn), rowsOf.apply(heads), backend.allocateUninitialized(heads), rowsOf.apply(di),
                rowsOf.apply(di), chunkStates);
    }

    @Override
    public long activationBytesPerToken() {
        return (long) Float.BYTES * (5L * config.intermediateSize() + 4L * shape.groupStates() + shape.heads());
    }

    @Override
    public State newState(int batch) {
        int k = config.convKernel() - 1;
        return new State(backend.allocate(batch, k, config.intermediateSize()), backend.allocate(batch, k, shape.groupStates()),
                backend.allocate(batch, k, shape.groupStates()),
                backend.allocate(batch, shape.heads(), shape.headDim(), shape.stateSize()));
    }

    @Override
    public DecodePlan.Layer decodeLayer(Tensor norm, Mixer.State state) {
        State s = (State) state;
        return new DecodePlan.Mamba2(norm, w.inZ(), w.inX(), w.inB(), w.inC(), w.inDt(), w.inBiasZ(), w.inBiasX(), w.inBiasB(),
                w.inBiasC(), w.inBiasDt(), w.convX(), w.convB(), w.convC(), w.convBiasX(), w.convBiasB(), w.convBiasC(),
                w.aLog(), w.d(), w.dtBias(), w.norm(), normGroup, w.outWeight(), w.outBias(), shape,
                s.convX(), s.convB(), s.convC(), s.ssm());
    }

    @Override
    public void forward(Tensor out, Tensor in, int batch, int len, Mixer.Activations activations, Mixer.State state) {
        Activations a = (Activations) activations;
        State s = (State) state;
        if (a.chunkStates() != null && s != null)
            throw new IllegalArgumentException("a training forward starts every sequence empty; it takes no state");
        // every read of in comes before out is written: out may be in
        backend.linear(a.z(), in, w.inZ(), w.inBiasZ());
        backend.linear(a.xPre(), in, w.inX(), w.inBiasX());
        backend.linear(a.bPre(), in, w.inB(), w.inBiasB());
        backend.linear(a.cPre(), in, w.inC(), w.inBiasC());
        backend.linear(a.dt(), in, w.inDt(), w.inBiasDt());
        backend.causalConv1dSilu(a.x(), a.xPre(), w.convX(), w.convBiasX(), s == null ? null : s.convX(), batch, len);
        backend.causalConv1dSilu(a.b(), a.bPre(), w.convB(), w.convBiasB(), s == null ? null : s.convB(), batch, len);
        backend.causalConv1dSilu(a.c(), a.cPre(), w.convC(), w.convBiasC(), s == null ? null : s.convC(), batch, len);
        backend.negExp(a.a(), w.aLog());
        backend.ssdScan(a.y(), a.x(), a.dt(), w.dtBias(), a.a(), a.b(), a.c(), w.d(), s == null ? null : s.ssm(),
                a.chunkStates(), batch, len, shape);
        if (out != null) backend.feedsProducts(a.normed()); // out_proj reads it (and its weight gradient, in training)
        backend.gatedRmsNorm(a.normed(), a.y(), a.z(), w.norm(), normGroup, (float) config.layerNormEpsilon());
        if (out != null) backend.linear(out, a.normed(), w.outWeight(), w.outBias());
    }

    @Override
    public BackwardScratch newBackwardScratch(int batch, int len) {
        int rows = batch * len, di = config.intermediateSize(), gn = shape.groupStates(), heads = shape.heads();
        // not zeroed: backward zeroes them at every layer
        java.util.function.IntFunction<Tensor> rowsOf = cols -> backend.allocateUninitialized(rows, cols);
        return new BackwardScratch(rowsOf.apply(di), rowsOf.apply(di), rowsOf.apply(di), rowsOf.apply(di), rowsOf.apply(gn),
                rowsOf.apply(gn), rowsOf.apply(heads), backend.allocateUninitialized(heads), rowsOf.apply(di), rowsOf.apply(gn),
                rowsOf.apply(gn));
    }

    @Override
    public void backward(Tensor dIn, Tensor dOut, Tensor in, int batch, int len, Mixer.Activations activations,
                         Mixer.Weights gradients, Mixer.BackwardScratch scratch) {
        Activations a = (Activations) activations;
        Weights g = (Weights) gradients;
        BackwardScratch d = (BackwardScratch) scratch;
        // deferred where the backend can (CudaBackend.fill): each buffer's first writer then writes it
        for (Tensor t : d.tensors()) backend.fill(t, 0f);
        backend.linearBackward(d.dNormed(), g.outWeight(), g.outBias(), dOut, a.normed(), w.outWeight());
        backend.gatedRmsNormBackward(d.dY(), d.dZ(), g.norm(), d.dNormed(), a.y(), a.z(), w.norm(), normGroup,
                (float) config.layerNormEpsilon());
        backend.ssdScanBackward(d.dX(), d.dDt(), g.dtBias(), d.dA(), d.dB(), d.dC(), g.d(), d.dY(), a.x(), a.dt(), w.dtBias(),
                a.a(), a.b(), a.c(), w.d(), a.chunkStates(), batch, len, shape);
        backend.addProduct(g.aLog(), d.dA(), a.a()); // A = -exp(A_log): dA/dA_log = A
        backend.causalConv1dSiluBackward(d.dXPre(), g.convX(), g.convBiasX(), d.dX(), a.xPre(), w.convX(), w.convBiasX(), batch, len);
        backend.causalConv1dSiluBackward(d.dBPre(), g.convB(), g.convBiasB(), d.dB(), a.bPre(), w.convB(), w.convBiasB(), batch, len);
        backend.causalConv1dSiluBackward(d.dCPre(), g.convC(), g.convBiasC(), d.dC(), a.cPre(), w.convC(), w.convBiasC(), batch, len);
        backend.linearBackward(dIn, g.inZ(), g.inBiasZ(), d.dZ(), in, w.inZ());
        backend.linearBackward(dIn, g.inX(), g.inBiasX(), d.dXPre(), in, w.inX());
        backend.linearBackward(dIn, g.inB(), g.inBiasB(), d.dBPre(), in, w.inB());
        backend.linearBackward(dIn, g.inC(), g.inBiasC(), d.dCPre(), in, w.inC());
        backend.linearBackward(dIn, g.inDt(), g.inBiasDt(), d.dDt(), in, w.inDt());
    }
}
