package org.ssmtk.core.nn;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.io.MambaCheckpoint;
import org.ssmtk.core.tensor.HostTensor;
import org.ssmtk.core.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A Mamba causal language model (Gu and Dao 2023) as transformers' MambaForCausalLM computes it:
 * embedding, then per layer x = x + mixer(rmsnorm(x)), then norm_f and the LM head. The mixer:
 * <pre>
 *   x, z   = in_proj(h)                        (two halves of d_inner)
 *   x      = silu(causal_depthwise_conv1d(x))
 *   dt, B, C = x_proj(x)                       (time_step_rank, d_state, d_state)
 *   dt     = dt_proj(dt)                       (bias and softplus are applied inside the scan)
 *   y      = selective_scan(x, dt, A = -exp(A_log), B, C, D) * silu(z)
 *   out    = out_proj(y)
 * </pre>
 * The model owns its parameters on one {@link Backend} and knows nothing of how the backend
 * computes. A {@link MambaState} passed to {@link #backbone} makes the call continue the sequences
 * it holds: a full forward, a prompt prefill, a streamed chunk and a single decoding step are the
 * same code.
 */
public final class MambaModel {

    /**
     * Receives hidden states as transformers 5 numbers them: k < num_layers is the residual stream
     * after layer k, and num_layers is norm_f of the residual after the last layer. (The embedding
     * output is not among them.)
     */
    @FunctionalInterface
    public interface HiddenStateSink {
        void accept(int index, Tensor hidden);
    }

    /** One layer's parameters, with row views that split the fused projections. */
    private record Layer(Tensor norm, Tensor inX, Tensor inZ, Tensor inBiasX, Tensor inBiasZ,
                         Tensor convWeight, Tensor convBias, Tensor xProjDt, Tensor xProjB, Tensor xProjC,
                         Tensor dtWeight, Tensor dtBias, Tensor aLog, Tensor d, Tensor outWeight, Tensor outBias,
                         Tensor bConst, Tensor cConst) {}

    private final MambaConfig config;
    private final Backend backend;
    private final Map<String, Tensor> parameters;
    private final Tensor embeddings;
    private final Tensor normF;
    private final Tensor lmHead;
    private final Layer[] layers;
    private boolean recomputeActivations;

    public MambaModel(Backend backend, MambaConfig config, Map<String, HostTensor> hostParameters) {
        this.backend = backend;
        this.config = config;
        this.parameters = new LinkedHashMap<>();
        for (ParameterSpec.Entry e : ParameterSpec.of(config)) {
            HostTensor t = Objects.requireNonNull(hostParameters.get(e.name()), () -> "no value for parameter " + e.name());
            parameters.put(e.name(), backend.fromHost(t.data(), e.shape()));
        }
        embeddings = parameters.get(ParameterSpec.EMBEDDINGS);
        normF = parameters.get(ParameterSpec.NORM_F);
        lmHead = config.tieWordEmbeddings() ? embeddings : parameters.get(ParameterSpec.LM_HEAD);
        int di = config.intermediateSize(), r = config.timeStepRank(), n = config.stateSize();
        layers = new Layer[config.numHiddenLayers()];
        for (int i = 0; i < layers.length; i++) {
            Tensor in = p(i, "mixer.in_proj.weight");
            Tensor inBias = config.useBias() ? p(i, "mixer.in_proj.bias") : null;
            boolean sel = config.selective();
            Tensor xProj = sel ? p(i, "mixer.x_proj.weight") : null;
            layers[i] = new Layer(
                    p(i, "norm.weight"),
                    in.rows(0, di), in.rows(di, 2 * di),
                    inBias == null ? null : inBias.rows(0, di), inBias == null ? null : inBias.rows(di, 2 * di),
                    p(i, "mixer.conv1d.weight").reshape(di, config.convKernel()),
                    config.useConvBias() ? p(i, "mixer.conv1d.bias") : null,
                    sel ? xProj.rows(0, r) : null, sel ? xProj.rows(r, r + n) : null, sel ? xProj.rows(r + n, r + 2 * n) : null,
                    sel ? p(i, "mixer.dt_proj.weight") : null, p(i, "mixer.dt_proj.bias"),
                    p(i, "mixer.A_log"), p(i, "mixer.D"),
                    p(i, "mixer.out_proj.weight"), config.useBias() ? p(i, "mixer.out_proj.bias") : null,
                    sel ? null : p(i, "mixer.B_const"), sel ? null : p(i, "mixer.C_const"));
        }
    }

    public static MambaModel load(Backend backend, MambaCheckpoint checkpoint) {
        return new MambaModel(backend, checkpoint.config(), checkpoint.parameters());
    }

    private Tensor p(int layer, String suffix) {
        return parameters.get(ParameterSpec.layer(layer, suffix));
    }

    public MambaConfig config() {
        return config;
    }

    public Backend backend() {
        return backend;
    }

    /** Parameters by HuggingFace name, on the backend. */
    public Map<String, Tensor> parameters() {
        return parameters;
    }

    public MambaState newState(int batch) {
        return new MambaState(backend, config, batch);
    }

    /**
     * Bytes of activation buffers one forward allocates per token (batch * len rows), whatever the
     * depth: what grows with L. The weights, the state and LM-head buffers come on top.
     */
    public long forwardBytesPerToken() {
        int h = config.hiddenSize(), di = config.intermediateSize(), n = config.stateSize();
        return (long) Float.BYTES * (3L * h + 4L * di + config.timeStepRank() + 2L * n);
    }

    /** Per-call activation buffers, sized for rows = batch * len tokens and reused by every layer. */
    private final class Workspace {
        final Tensor residual, normed, x, z, xc, dtLow, b, c, dt, a;

        Workspace(int rows) {
            int h = config.hiddenSize(), di = config.intermediateSize(), n = config.stateSize();
            residual = backend.allocate(rows, h);
            normed = backend.allocate(rows, h);
            x = backend.allocate(rows, di);
            z = backend.allocate(rows, di);
            xc = backend.allocate(rows, di);
            dtLow = backend.allocate(rows, config.timeStepRank());
            b = backend.allocate(rows, n);
            c = backend.allocate(rows, n);
            dt = backend.allocate(rows, di);
            a = backend.allocate(di, n);
        }
    }

    /**
     * Runs embedding, all layers and norm_f over ids (batch x len, row-major) and returns the final
     * normalized hidden states (batch * len, hidden_size). With a state the call continues the
     * sequences in it and leaves it after the last token; without one each sequence starts empty.
     */
    public Tensor backbone(int[] ids, int batch, int len, MambaState state, HiddenStateSink sink) {
        if (ids.length != (long) batch * len)
            throw new IllegalArgumentException(ids.length + " ids for batch " + batch + " x len " + len);
        if (state != null && state.batch() != batch)
            throw new IllegalArgumentException("state holds " + state.batch() + " sequences, input has " + batch);
        int rows = batch * len;
        Workspace w = new Workspace(rows);
        backend.embedding(w.residual, ids, embeddings);
        float eps = (float) config.layerNormEpsilon();
        for (int i = 0; i < layers.length; i++) {
            Layer l = layers[i];
            backend.rmsNorm(w.normed, w.residual, l.norm(), eps);
            mixer(l, w, batch, len, state == null ? null : state.conv(i), state == null ? null : state.ssm(i));
            backend.add(w.residual, w.residual, w.normed);
            if (sink != null) sink.accept(i, w.residual);
        }
        Tensor out = backend.allocate(rows, config.hiddenSize());
        backend.rmsNorm(out, w.residual, normF, eps);
        if (sink != null) sink.accept(layers.length, out);
        if (state != null) state.advance(len);
        return out;
    }

    /** The mixer of one layer: reads w.normed and leaves its output in w.normed. */
    private void mixer(Layer l, Workspace w, int batch, int len, Tensor convState, Tensor ssmState) {
        backend.linear(w.x, w.normed, l.inX(), l.inBiasX());
        backend.linear(w.z, w.normed, l.inZ(), l.inBiasZ());
        backend.causalConv1dSilu(w.xc, w.x, l.convWeight(), l.convBias(), convState, batch, len);
        selection(l, w.xc, w.dtLow, w.b, w.c, w.dt);
        backend.negExp(w.a, l.aLog());
        Tensor y = w.x; // x is dead after the conv: reuse its buffer for the scan output
        backend.selectiveScan(y, w.xc, w.dt, l.dtBias(), w.a, w.b, w.c, l.d(), w.z, ssmState, batch, len);
        backend.linear(w.normed, y, l.outWeight(), l.outBias());
    }

    /** LM head over hidden rows: (rows, hidden) to (rows, padded vocab). */
    public Tensor logits(Tensor hidden) {
        Tensor out = backend.allocate(hidden.rows2d(), config.paddedVocabSize());
        backend.linear(out, hidden, lmHead, null);
        return out;
    }

    /** Δ (before bias and softplus), B and C from the conv output: the selection mechanism. */
    private void selection(Layer l, Tensor xc, Tensor dtLow, Tensor b, Tensor c, Tensor dt) {
        if (l.xProjDt() == null) { // the non-selective ablation: the same Δ, B, C at every step
            backend.fill(dt, 0f);
            backend.broadcastRows(b, l.bConst());
            backend.broadcastRows(c, l.cConst());
            return;
        }
        backend.linear(dtLow, xc, l.xProjDt(), null);
        backend.linear(b, xc, l.xProjB(), null);
        backend.linear(c, xc, l.xProjC(), null);
        backend.linear(dt, dtLow, l.dtWeight(), null);
    }

    /** LM head into a caller's buffer (rows, padded vocab): stream logits of long inputs block by block. */
    public void logits(Tensor hidden, Tensor out) {
        backend.linear(out, hidden, lmHead, null);
    }

    /** The full causal LM: logits (batch * len, padded vocab) on the host. */
    public float[] forward(int[] ids, int batch, int len) {
        return backend.toHost(logits(backbone(ids, batch, len, null, null)));
    }

    /** Continues the sequences in state by len tokens each and returns the logits of every position. */
    public float[] forward(int[] ids, int batch, int len, MambaState state) {
        return backend.toHost(logits(backbone(ids, batch, len, state, null)));
    }

    /** One recurrent step: one token per sequence, returns (batch, padded vocab) logits. */
    public float[] step(int[] tokens, MambaState state) {
        return forward(tokens, tokens.length, 1, state);
    }

    // ---------------------------------------------------------------------------------------------
    // Training: a forward that keeps what the backward needs, and the backward, layer by layer.

    /** What one layer's forward keeps for its backward (only residualIn when activations are recomputed). */
    private record LayerActivations(Tensor residualIn, Tensor x, Tensor z, Tensor xc, Tensor dtLow, Tensor b,
                                    Tensor c, Tensor dt, Tensor a, Tensor y, Tensor chunkStates) {
        boolean kept() {
            return x != null;
        }
    }

    /**
     * Activation checkpointing per layer: the training forward keeps only each layer's input
     * residual, and the backward runs that layer's forward again just before its backward. Memory for
     * activations drops from every layer's to one layer's plus a residual per layer (for the dna
     * preset, about 110 KB per token to about 15), for one more forward per step. The gradients are
     * the same bits, since the recomputed forward is the same arithmetic on the same inputs.
     */
    public void recomputeActivations(boolean on) {
        recomputeActivations = on;
    }

    /**
     * The tensors a training forward keeps: per layer its input residual, the pre-conv x, z, the
     * conv output, dt/B/C, the gated scan output and the scan's chunk-boundary states (not its
     * per-step states: the backward recomputes those). The RMSNorm outputs are recomputed.
     */
    public static final class Activations {
        final int[] ids;
        final int batch, len;
        final LayerActivations[] layers;
        Tensor residualOut;
        Tensor hidden;

        Activations(int[] ids, int batch, int len, int layerCount) {
            this.ids = ids;
            this.batch = batch;
            this.len = len;
            this.layers = new LayerActivations[layerCount];
        }

        /** The final normalized hidden states (batch * len, hidden_size), input of any head. */
        public Tensor hidden() {
            return hidden;
        }

        public int batch() {
            return batch;
        }

        public int len() {
            return len;
        }
    }

    public Gradients newGradients() {
        return new Gradients(backend, parameters);
    }

    /** The forward of {@link #backbone} from an empty state, keeping activations for {@link #backward}. */
    public Activations forwardTraining(int[] ids, int batch, int len) {
        if (ids.length != (long) batch * len)
            throw new IllegalArgumentException(ids.length + " ids for batch " + batch + " x len " + len);
        int rows = batch * len, h = config.hiddenSize();
        float eps = (float) config.layerNormEpsilon();
        Activations act = new Activations(ids, batch, len, layers.length);
        Tensor residual = backend.allocate(rows, h);
        backend.embedding(residual, ids, embeddings);
        Tensor normed = backend.allocate(rows, h);
        for (int i = 0; i < layers.length; i++) {
            Layer l = layers[i];
            LayerActivations la = layerForward(l, residual, normed, batch, len);
            Tensor next = backend.allocate(rows, h);
            backend.linear(next, la.y(), l.outWeight(), l.outBias());
            backend.add(next, next, residual);
            act.layers[i] = recomputeActivations
                    ? new LayerActivations(residual, null, null, null, null, null, null, null, null, null, null) : la;
            residual = next;
        }
        act.residualOut = residual;
        act.hidden = backend.allocate(rows, h);
        backend.rmsNorm(act.hidden, residual, normF, eps);
        return act;
    }

    /** One layer's mixer forward from its input residual, keeping everything its backward reads. */
    private LayerActivations layerForward(Layer l, Tensor residual, Tensor normed, int batch, int len) {
        int rows = batch * len, di = config.intermediateSize(), n = config.stateSize();
        int chunks = (len + backend.scanChunk() - 1) / backend.scanChunk();
        LayerActivations la = new LayerActivations(residual, backend.allocate(rows, di), backend.allocate(rows, di),
                backend.allocate(rows, di), backend.allocate(rows, config.timeStepRank()), backend.allocate(rows, n),
                backend.allocate(rows, n), backend.allocate(rows, di), backend.allocate(di, n), backend.allocate(rows, di),
                backend.allocate(batch, chunks, di, n));
        backend.rmsNorm(normed, residual, l.norm(), (float) config.layerNormEpsilon());
        backend.linear(la.x(), normed, l.inX(), l.inBiasX());
        backend.linear(la.z(), normed, l.inZ(), l.inBiasZ());
        backend.causalConv1dSilu(la.xc(), la.x(), l.convWeight(), l.convBias(), null, batch, len);
        selection(l, la.xc(), la.dtLow(), la.b(), la.c(), la.dt());
        backend.negExp(la.a(), l.aLog());
        backend.selectiveScanTraining(la.y(), la.xc(), la.dt(), l.dtBias(), la.a(), la.b(), la.c(), l.d(), la.z(),
                la.chunkStates(), batch, len);
        return la;
    }

    /** The LM head's backward: dHidden += dLogits head, d(head) += dLogits^T hidden. */
    public void logitsBackward(Activations act, Tensor dLogits, Tensor dHidden, Gradients grads) {
        String head = config.tieWordEmbeddings() ? ParameterSpec.EMBEDDINGS : ParameterSpec.LM_HEAD;
        backend.linearBackward(dHidden, grads.get(head), null, dLogits, act.hidden, lmHead);
    }

    // ---- the sequence-classification head: pool the final hidden states of each sequence (mean
    // ---- over positions, or the last position), then classifier.weight / classifier.bias.

    /** Pooled (batch, hidden) from hidden (batch * len, hidden). */
    public Tensor pool(Tensor hidden, int batch, int len) {
        requireClassifier();
        int h = config.hiddenSize();
        Tensor pooled = backend.allocate(batch, h);
        for (int b = 0; b < batch; b++) {
            Tensor seq = hidden.rows(b * len, (b + 1) * len), out = pooled.rows(b, b + 1);
            if (MambaConfig.POOL_LAST.equals(config.pooling())) {
                backend.copy(out, seq.rows(len - 1, len));
            } else {
                backend.addColumnSums(out.reshape(h), seq);
                backend.scale(out, 1f / len);
            }
        }
        return pooled;
    }

    /** Backward of {@link #pool}: dHidden (batch * len, hidden) += d(pooled) spread over positions. */
    public void poolBackward(Tensor dPooled, Tensor dHidden, int batch, int len) {
        int h = config.hiddenSize();
        Tensor spread = backend.allocate(len, h);
        for (int b = 0; b < batch; b++) {
            Tensor seq = dHidden.rows(b * len, (b + 1) * len), g = dPooled.rows(b, b + 1);
            if (MambaConfig.POOL_LAST.equals(config.pooling())) {
                backend.add(seq.rows(len - 1, len), seq.rows(len - 1, len), g);
            } else {
                backend.broadcastRows(spread, g.reshape(h));
                backend.scale(spread, 1f / len);
                backend.add(seq, seq, spread);
            }
        }
    }

    /** Class logits (batch, num_labels) of pooled hidden states. */
    public Tensor classify(Tensor pooled) {
        requireClassifier();
        Tensor out = backend.allocate(pooled.dim(0), config.numLabels());
        backend.linear(out, pooled, parameters.get(ParameterSpec.CLASSIFIER_WEIGHT), parameters.get(ParameterSpec.CLASSIFIER_BIAS));
        return out;
    }

    /** Class logits (batch, num_labels) of whole sequences, on the host. */
    public float[] classify(int[] ids, int batch, int len) {
        return backend.toHost(classify(pool(backbone(ids, batch, len, null, null), batch, len)));
    }

    /** Backward of {@link #classify(Tensor)}: dPooled += dLogits W, grads of the classifier (+=). */
    public void classifyBackward(Tensor dLogits, Tensor pooled, Tensor dPooled, Gradients grads) {
        backend.linearBackward(dPooled, grads.get(ParameterSpec.CLASSIFIER_WEIGHT), grads.get(ParameterSpec.CLASSIFIER_BIAS),
                dLogits, pooled, parameters.get(ParameterSpec.CLASSIFIER_WEIGHT));
    }

    private void requireClassifier() {
        if (!config.hasClassifier())
            throw new IllegalStateException("this model has no classification head (config.json has no ssmtk_classifier)");
    }

    /** Backpropagates dHidden (gradient of the final normalized hidden states) into grads (+=). */
    public void backward(Activations act, Tensor dHidden, Gradients grads) {
        int rows = act.batch * act.len, h = config.hiddenSize(), di = config.intermediateSize(), n = config.stateSize();
        int r = config.timeStepRank();
        float eps = (float) config.layerNormEpsilon();
        Tensor dResidual = backend.allocate(rows, h);
        backend.rmsNormBackward(dResidual, grads.get(ParameterSpec.NORM_F), dHidden, act.residualOut, normF, eps);
        Tensor normed = backend.allocate(rows, h), dNormed = backend.allocate(rows, h);
        Tensor dY = backend.allocate(rows, di), dXc = backend.allocate(rows, di), dX = backend.allocate(rows, di);
        Tensor dZ = backend.allocate(rows, di), dDelta = backend.allocate(rows, di), dDtLow = backend.allocate(rows, r);
        Tensor dB = backend.allocate(rows, n), dC = backend.allocate(rows, n), dA = backend.allocate(di, n);
        for (int i = layers.length - 1; i >= 0; i--) {
            Layer l = layers[i];
            LayerActivations la = act.layers[i];
            if (!la.kept()) la = layerForward(l, la.residualIn(), normed, act.batch, act.len);
            for (Tensor t : new Tensor[]{dNormed, dY, dXc, dX, dZ, dDelta, dDtLow, dB, dC, dA}) backend.fill(t, 0f);
            // residual_out = residual_in + out_proj(y): dResidual flows through unchanged and into out_proj
            backend.linearBackward(dY, g(grads, i, "mixer.out_proj.weight"), config.useBias() ? g(grads, i, "mixer.out_proj.bias") : null,
                    dResidual, la.y(), l.outWeight());
            backend.selectiveScanBackward(dXc, dDelta, g(grads, i, "mixer.dt_proj.bias"), dA, dB, dC, g(grads, i, "mixer.D"), dZ,
                    dY, la.xc(), la.dt(), l.dtBias(), la.a(), la.b(), la.c(), l.d(), la.z(), la.chunkStates(), act.batch, act.len);
            backend.addProduct(g(grads, i, "mixer.A_log"), dA, la.a()); // A = -exp(A_log): dA/dA_log = A
            if (config.selective()) {
                backend.linearBackward(dDtLow, g(grads, i, "mixer.dt_proj.weight"), null, dDelta, la.dtLow(), l.dtWeight());
                Tensor gx = g(grads, i, "mixer.x_proj.weight");
                backend.linearBackward(dXc, gx.rows(0, r), null, dDtLow, la.xc(), l.xProjDt());
                backend.linearBackward(dXc, gx.rows(r, r + n), null, dB, la.xc(), l.xProjB());
                backend.linearBackward(dXc, gx.rows(r + n, r + 2 * n), null, dC, la.xc(), l.xProjC());
            } else {
                backend.addColumnSums(g(grads, i, "mixer.B_const"), dB);
                backend.addColumnSums(g(grads, i, "mixer.C_const"), dC);
            }
            backend.causalConv1dSiluBackward(dX, g(grads, i, "mixer.conv1d.weight").reshape(di, config.convKernel()),
                    config.useConvBias() ? g(grads, i, "mixer.conv1d.bias") : null, dXc, la.x(), l.convWeight(), l.convBias(),
                    act.batch, act.len);
            backend.rmsNorm(normed, la.residualIn(), l.norm(), eps);
            Tensor gIn = g(grads, i, "mixer.in_proj.weight");
            Tensor gInBias = config.useBias() ? g(grads, i, "mixer.in_proj.bias") : null;
            backend.linearBackward(dNormed, gIn.rows(0, di), gInBias == null ? null : gInBias.rows(0, di), dX, normed, l.inX());
            backend.linearBackward(dNormed, gIn.rows(di, 2 * di), gInBias == null ? null : gInBias.rows(di, 2 * di), dZ, normed, l.inZ());
            backend.rmsNormBackward(dResidual, g(grads, i, "norm.weight"), dNormed, la.residualIn(), l.norm(), eps);
        }
        backend.embeddingBackward(grads.get(ParameterSpec.EMBEDDINGS), act.ids, dResidual);
    }

    private static Tensor g(Gradients grads, int layer, String suffix) {
        return grads.get(ParameterSpec.layer(layer, suffix));
    }
}
