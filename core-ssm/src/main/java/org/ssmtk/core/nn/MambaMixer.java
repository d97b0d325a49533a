package org.ssmtk.core.nn;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.DecodePlan;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.tensor.Tensor;

import java.util.function.Function;

/**
 * Mamba-1's mixer (Gu and Dao 2023), as transformers' MambaMixer computes it:
 * <pre>
 *   x, z     = in_proj(h)                        (two halves of d_inner)
 *   x        = silu(causal_depthwise_conv1d(x))
 *   dt, B, C = x_proj(x)                         (time_step_rank, d_state, d_state)
 *   dt       = dt_proj(dt)                       (bias and softplus are applied inside the scan)
 *   y        = selective_scan(x, dt, A = -exp(A_log), B, C, D) * silu(z)
 *   out      = out_proj(y)
 * </pre>
 * The non-selective ablation ({@code "ssmtk_selective": false}) replaces x_proj and dt_proj by
 * learned constants B_const, C_const and Δ = softplus(dt_proj.bias).
 */
final class MambaMixer implements Mixer {

    /**
     * Parameters of one layer's mixer, or their gradients: the fused projections are split by row
     * views, so gradients written through the views land in the right rows of the full tensor.
     * Shapes: inX, inZ (d_inner, hidden); conv (d_inner, kernel); xProjDt (rank, d_inner); xProjB,
     * xProjC (d_state, d_inner); dtWeight (d_inner, rank); aLog (d_inner, d_state); d, dtBias (d_inner);
     * outWeight (hidden, d_inner). Biases and the ablation's constants are null when absent.
     */
    record Weights(Tensor inX, Tensor inZ, Tensor inBiasX, Tensor inBiasZ,
                   Tensor convWeight, Tensor convBias, Tensor xProjDt, Tensor xProjB, Tensor xProjC,
                   Tensor dtWeight, Tensor dtBias, Tensor aLog, Tensor d, Tensor outWeight, Tensor outBias,
                   Tensor bConst, Tensor cConst) implements Mixer.Weights {

        /** The one place that maps checkpoint names to a layer's mixer tensors. */
        static Weights bind(MambaConfig c, Function<String, Tensor> tensor, String prefix) {
            int di = c.intermediateSize(), r = c.timeStepRank(), n = c.stateSize();
            Function<String, Tensor> t = name -> tensor.apply(prefix + name);
            Tensor in = t.apply("in_proj.weight");
            Tensor inBias = c.useBias() ? t.apply("in_proj.bias") : null;
            boolean sel = c.selective();
            Tensor xProj = sel ? t.apply("x_proj.weight") : null;
            return new Weights(in.rows(0, di), in.rows(di, 2 * di),
                    inBias == null ? null : inBias.rows(0, di), inBias == null ? null : inBias.rows(di, 2 * di),
                    t.apply("conv1d.weight").reshape(di, c.convKernel()), c.useConvBias() ? t.apply("conv1d.bias") : null,
                    sel ? xProj.rows(0, r) : null, sel ? xProj.rows(r, r + n) : null, sel ? xProj.rows(r + n, r + 2 * n) : null,
                    sel ? t.apply("dt_proj.weight") : null, t.apply("dt_proj.bias"), t.apply("A_log"), t.apply("D"),
                    t.apply("out_proj.weight"), c.useBias() ? t.apply("out_proj.bias") : null,
                    sel ? null : t.apply("B_const"), sel ? null : t.apply("C_const"));
        }
    }

    /**
     * x, z (in_proj outputs), xc (conv output), dt_low, B, C, Δ (pre-bias), A = -exp(A_log), the
     * gated scan output y, and for training the scan's state entering every chunk,
     * (batch, chunks, d_inner, d_state), from which the backward replays the per-step states.
     * Inference writes y into x (dead after the conv) and keeps no chunk states. Training keeps no
     * xc and Δ (null here): the forward holds them only while the layer runs, and the backward
     * recomputes them from x and dt_low (a conv and a rank-r product; 2 of the 5 d_inner-wide
     * tensors a token would otherwise keep per layer).
     */
    record Activations(Tensor x, Tensor z, Tensor xc, Tensor dtLow, Tensor b, Tensor c, Tensor dt, Tensor a,
                       Tensor y, Tensor chunkStates) implements Mixer.Activations {
        @Override
        public Tensor[] tensors() {
            return new Tensor[]{x, z, xc, dtLow, b, c, dt, a, y, chunkStates};
        }
    }

    /** The last kernel - 1 conv inputs (batch, kernel - 1, d_inner) and the SSM state (batch, d_inner, d_state). */
    record State(Tensor conv, Tensor ssm) implements Mixer.State {
        @Override
        public Tensor[] tensors() {
            return new Tensor[]{conv, ssm};
        }
    }

    /** The backward's buffers, shared by every layer: the gradients it forms, and xc and Δ recomputed. */
    record BackwardScratch(Tensor dY, Tensor dXc, Tensor dX, Tensor dZ, Tensor dDelta, Tensor dDtLow, Tensor dB,
                           Tensor dC, Tensor dA, Tensor xc, Tensor dt) implements Mixer.BackwardScratch {
        @Override
        public Tensor[] tensors() {
            return new Tensor[]{dY, dXc, dX, dZ, dDelta, dDtLow, dB, dC, dA, xc, dt};
        }

        Tensor[] gradients() {
            return new Tensor[]{dY, dXc, dX, dZ, dDelta, dDtLow, dB, dC, dA};
        }
    }

    private final Backend backend;
    private final MambaConfig config;
    private final Weights w;

    MambaMixer(Backend backend, MambaConfig config, Weights weights) {
        this.backend = backend;
        this.config = config;
        this.w = weights;
    }

    /** Every buffer is written whole by the forward before anything reads it: none needs zeroing. */
    @Override
    public Activations newActivations(int batch, int len, boolean training) {
        int rows = batch * len, di = config.intermediateSize(), n = config.stateSize();
        Tensor x = backend.allocateUninitialized(rows, di);
        Tensor chunkStates = null;
        if (training) {
            int chunks = (len + backend.scanChunk() - 1) / backend.scanChunk();
            chunkStates = backend.allocateUninitialized(batch, chunks, di, n);
        }
        return new Activations(x, backend.allocateUninitialized(rows, di), training ? null : backend.allocateUninitialized(rows, di),
                backend.allocateUninitialized(rows, config.timeStepRank()), backend.allocateUninitialized(rows, n),
                backend.allocateUninitialized(rows, n), training ? null : backend.allocateUninitialized(rows, di),
                backend.allocateUninitialized(di, n), training ? backend.allocateUninitialized(rows, di) : x, chunkStates);
    }

    @Override
    public long activationBytesPerToken() {
        int di = config.intermediateSize(), n = config.stateSize();
        return (long) Float.BYTES * (4L * di + config.timeStepRank() + 2L * n);
    }

    @Override
    public State newState(int batch) {
        return new State(backend.allocate(batch, config.convKernel() - 1, config.intermediateSize()),
                backend.allocate(batch, config.intermediateSize(), config.stateSize()));
    }

    @Override
    public DecodePlan.Layer decodeLayer(Tensor norm, Mixer.State state) {
        State s = (State) state;
        return new DecodePlan.Mamba1(norm, w.inX(), w.inZ(), w.inBiasX(), w.inBiasZ(), w.convWeight(), w.convBias(),
                w.xProjDt(), w.xProjB(), w.xProjC(), w.dtWeight(), w.dtBias(), w.aLog(), w.d(), w.outWeight(), w.outBias(),
                w.bConst(), w.cConst(), s.conv(), s.ssm());
    }

    @Override
    public void forward(Tensor out, Tensor in, int batch, int len, Mixer.Activations activations, Mixer.State state) {
        Activations a = (Activations) activations;
        State s = (State) state;
        if (a.chunkStates() != null && s != null)
            throw new IllegalArgumentException("a training forward starts every sequence empty; it takes no state");
        backend.linear(a.x(), in, w.inX(), w.inBiasX());
        backend.linear(a.z(), in, w.inZ(), w.inBiasZ());
        boolean recomputed = a.xc() == null; // training: xc and Δ live only while this layer runs
        int rows = batch * len, di = config.intermediateSize();
        Tensor xc = recomputed ? backend.allocateUninitialized(rows, di) : a.xc(),
                dt = recomputed ? backend.allocateUninitialized(rows, di) : a.dt();
        if (recomputed && w.xProjDt() != null) backend.feedsProducts(xc); // x_proj reads it
        backend.causalConv1dSilu(xc, a.x(), w.convWeight(), w.convBias(), s == null ? null : s.conv(), batch, len);
        selection(xc, a.dtLow(), a.b(), a.c(), dt);
        backend.negExp(a.a(), w.aLog());
        backend.feedsProducts(a.y()); // out_proj reads it (forward and backward)
        if (a.chunkStates() != null)
            backend.selectiveScanTraining(a.y(), xc, dt, w.dtBias(), a.a(), a.b(), a.c(), w.d(), a.z(),
                    a.chunkStates(), batch, len);
        else
            backend.selectiveScan(a.y(), xc, dt, w.dtBias(), a.a(), a.b(), a.c(), w.d(), a.z(),
                    s == null ? null : s.ssm(), batch, len);
        if (recomputed) {
            backend.release(xc);
            backend.release(dt);
        }
        if (out != null) backend.linear(out, a.y(), w.outWeight(), w.outBias());
    }

    /** Δ (before bias and softplus), B and C from the conv output xc: the selection mechanism. */
    private void selection(Tensor xc, Tensor dtLow, Tensor b, Tensor c, Tensor dt) {
        if (w.xProjDt() == null) { // the non-selective ablation: the same Δ, B, C at every step
            backend.fill(dt, 0f);
            backend.broadcastRows(b, w.bConst());
            backend.broadcastRows(c, w.cConst());
            return;
        }
        backend.linear(dtLow, xc, w.xProjDt(), null);
        backend.linear(b, xc, w.xProjB(), null);
        backend.linear(c, xc, w.xProjC(), null);
        backend.linear(dt, dtLow, w.dtWeight(), null);
    }

    /** xc and Δ as the training forward computed them (the same operations on the same inputs: the same values). */
    private void recompute(Activations a, Tensor xc, Tensor dt, int batch, int len) {
        backend.causalConv1dSilu(xc, a.x(), w.convWeight(), w.convBias(), null, batch, len);
        if (w.xProjDt() == null) backend.fill(dt, 0f);
        else backend.linear(dt, a.dtLow(), w.dtWeight(), null);
    }

    /** Not zeroed: backward zeroes the gradients at every layer, and xc and Δ are written before they are read. */
    @Override
    public BackwardScratch newBackwardScratch(int batch, int len) {
        int rows = batch * len, di = config.intermediateSize(), n = config.stateSize();
        return new BackwardScratch(backend.allocateUninitialized(rows, di), backend.allocateUninitialized(rows, di),
                backend.allocateUninitialized(rows, di), backend.allocateUninitialized(rows, di),
                backend.allocateUninitialized(rows, di), backend.allocateUninitialized(rows, config.timeStepRank()),
                backend.allocateUninitialized(rows, n), backend.allocateUninitialized(rows, n), backend.allocateUninitialized(di, n),
                backend.allocateUninitialized(rows, di), backend.allocateUninitialized(rows, di));
    }

    @Override
    public void backward(Tensor dIn, Tensor dOut, Tensor in, int batch, int len, Mixer.Activations activations,
                         Mixer.Weights gradients, Mixer.BackwardScratch scratch) {
        Activations a = (Activations) activations;
        Weights g = (Weights) gradients;
        BackwardScratch d = (BackwardScratch) scratch;
        for (Tensor t : d.gradients()) backend.fill(t, 0f);
        Tensor xc = a.xc() != null ? a.xc() : d.xc(), dt = a.dt() != null ? a.dt() : d.dt();
        if (a.xc() == null) recompute(a, xc, dt, batch, len);
        backend.linearBackward(d.dY(), g.outWeight(), g.outBias(), dOut, a.y(), w.outWeight());
        backend.selectiveScanBackward(d.dXc(), d.dDelta(), g.dtBias(), d.dA(), d.dB(), d.dC(), g.d(), d.dZ(),
                d.dY(), xc, dt, w.dtBias(), a.a(), a.b(), a.c(), w.d(), a.z(), a.chunkStates(), batch, len);
        backend.addProduct(g.aLog(), d.dA(), a.a()); // A = -exp(A_log): dA/dA_log = A
        if (w.xProjDt() != null) {
            backend.linearBackward(d.dDtLow(), g.dtWeight(), null, d.dDelta(), a.dtLow(), w.dtWeight());
            backend.linearBackward(d.dXc(), g.xProjDt(), null, d.dDtLow(), xc, w.xProjDt());
            backend.linearBackward(d.dXc(), g.xProjB(), null, d.dB(), xc, w.xProjB());
            backend.linearBackward(d.dXc(), g.xProjC(), null, d.dC(), xc, w.xProjC());
        } else {
            backend.addColumnSums(g.bConst(), d.dB());
            backend.addColumnSums(g.cConst(), d.dC());
        }
        backend.causalConv1dSiluBackward(d.dX(), g.convWeight(), g.convBias(), d.dXc(), a.x(), w.convWeight(),
                w.convBias(), batch, len);
        backend.linearBackward(dIn, g.inX(), g.inBiasX(), d.dX(), in, w.inX());
        backend.linearBackward(dIn, g.inZ(), g.inBiasZ(), d.dZ(), in, w.inZ());
    }
}
