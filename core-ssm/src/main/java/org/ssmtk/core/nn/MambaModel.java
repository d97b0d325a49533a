package org.ssmtk.core.nn;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.DecodePlan;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.tensor.HostTensor;
import org.ssmtk.core.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A causal language model of the Mamba family as transformers computes it: embedding, then per
 * layer {@code x = x + mixer(rmsnorm(x))}, then norm_f and the LM head (or a classification head).
 * The stack is the same for every family; the {@link Mixer} is what the config's model_type chooses
 * ({@link ModelFamily}). The model owns its parameters on one {@link Backend} and knows nothing of
 * how the backend computes. A {@link MambaState} passed to {@link #backbone} makes the call continue
 * the sequences it holds: a full forward, a prompt prefill, a streamed chunk and a single decoding
 * step are the same code.
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

        /**
         * What enters layer i as mamba_ssm's Block numbers it (Caduceus' hidden_states): the
         * embeddings for layer 0, else layer i - 1's mixer output, not the residual stream. Rows in
         * the stack's order (with two strands, strand-major and the second strand in its own order).
         */
        default void layerInput(int layer, Tensor hidden) {}
    }

    private final MambaConfig config;
    private final Backend backend;
    private final ModelFamily family;
    private final Map<String, Tensor> parameters;
    private final ModelWeights weights;
    private final Mixer[] mixers;
    private final Strands strands;
    private final WeightFormat format;
    private boolean recomputeActivations;
    /** Told each layer's index once the backward has finished that layer's gradients; null when nobody listens. */
    private java.util.function.IntConsumer layerGradientsDone;

    public MambaModel(Backend backend, MambaConfig config, Map<String, HostTensor> hostParameters) {
        this(backend, config, hostParameters, WeightFormat.FP32);
    }

    /** With {@link WeightFormat#INT8} the linear layers' weights are quantized as they are uploaded (inference only). */
    public MambaModel(Backend backend, MambaConfig config, Map<String, HostTensor> hostParameters, WeightFormat format) {
        this.backend = backend;
        this.format = format;
        this.config = config;
        this.family = ModelFamily.of(config.modelType());
        family.checkBackend(backend);
        this.strands = family.strands(config);
        if (format == WeightFormat.INT8 && strands.count() > 1) // its head is also read row-permuted, which int8 storage cannot serve
            throw new UnsupportedOperationException("--weights int8 does not run reverse-complement-sharing models (Caduceus-PS); use fp32");
        this.parameters = new LinkedHashMap<>();
        for (ParameterSpec.Entry e : ParameterSpec.of(config)) {
            HostTensor t = Objects.requireNonNull(hostParameters.get(e.name()), () -> "no value for parameter " + e.name());
            Tensor p = backend.fromHost(t.data(), e.shape());
            boolean quantize = format == WeightFormat.INT8 && WeightFormat.isLinearWeight(e.name())
                    && org.ssmtk.core.tensor.Q8Blocks.fits(e.shape()[e.shape().length - 1]);
            parameters.put(e.name(), quantize ? backend.quantizeInt8(p) : p);
        }
        ModelWeights bound = ModelWeights.bind(family, config, parameters);
        if (format == WeightFormat.INT8 && config.tieWordEmbeddings() && org.ssmtk.core.tensor.Q8Blocks.fits(config.hiddenSize()))
            bound = bound.withLmHead(backend.quantizeInt8(bound.embeddings())); // the lookup keeps the fp32 table
        weights = bound;
        mixers = new Mixer[config.numHiddenLayers()];
        for (int i = 0; i < mixers.length; i++) mixers[i] = family.mixer(backend, config, weights.blocks()[i].mixer());
    }

    public static MambaModel load(Backend backend, MambaCheckpoint checkpoint) {
        return new MambaModel(backend, checkpoint.config(), checkpoint.parameters());
    }

    public static MambaModel load(Backend backend, MambaCheckpoint checkpoint, WeightFormat format) {
        return new MambaModel(backend, checkpoint.config(), checkpoint.parameters(), format);
    }

    public WeightFormat weightFormat() {
        return format;
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
        return new MambaState(mixers, batch);
    }

    /**
     * How many strands the stack reads per sequence: 1, or 2 when the model shares parameters
     * between a sequence and its reverse complement (Caduceus-PS). With 2, {@link #backbone} and
     * {@link Activations#hidden()} return 2 * batch * len rows: the forward strand, then the
     * reverse-complement strand aligned to forward positions ({@link Strands}); {@link #logits}
     * takes them and gives batch * len rows.
     */
    public int strands() {
        return strands.count();
    }

    /**
     * Bytes of activation buffers one forward allocates per token (batch * len rows), whatever the
     * depth: what grows with L. The weights, the state and LM-head buffers come on top.
     */
    public long forwardBytesPerToken() {
        return strands.count() * ((long) Float.BYTES * 3L * config.hiddenSize() + mixers[0].activationBytesPerToken());
    }

    /**
     * Runs embedding, all layers and norm_f over ids (batch x len, row-major) and returns the final
     * normalized hidden states (batch * len, hidden_size). With a state the call continues the
     * sequences in it and leaves it after the last token; without one each sequence starts empty.
     * One residual, one normed buffer and one set of mixer activations serve every layer (every layer
     * of a model has the same mixer type), so memory does not grow with depth.
     */
    public Tensor backbone(int[] ids, int batch, int len, MambaState state, HiddenStateSink sink) {
        checkIds(ids, batch, len);
        if (state != null && state.batch() != batch)
            throw new IllegalArgumentException("state holds " + state.batch() + " sequences, input has " + batch);
        if (state != null && strands.count() > 1)
            throw new IllegalArgumentException("a reverse-complement-sharing model reads whole sequences; it takes no state");
        int stackBatch = batch * strands.count(), rows = stackBatch * len;
        // the embedding writes residual whole, each layer's norm normed, and norm_f out
        Tensor residual = backend.allocateUninitialized(rows, config.hiddenSize()),
                normed = backend.allocateUninitialized(rows, config.hiddenSize());
        Mixer.Activations scratch = mixers[0].newActivations(stackBatch, len, false);
        backend.embedding(residual, strands.ids(ids, batch, len), weights.embeddings());
        for (int i = 0; i < mixers.length; i++) {
            if (sink != null) sink.layerInput(i, i == 0 ? residual : normed); // normed holds the last mixer output
            if (strands.swapsEachLayer()) {
                strands.swap(backend, normed, residual, batch, len);
                backend.copy(residual, normed);
            }
            blockForward(i, residual, residual, normed, normed, stackBatch, len, scratch, state == null ? null : state.layer(i));
            if (sink != null) sink.accept(i, residual);
        }
        Tensor out = backend.allocateUninitialized(rows, config.hiddenSize());
        backend.rmsNorm(out, residual, weights.normF(), eps());
        if (strands.count() > 1) { // both strands' rows aligned into normed, which is returned
            strands.alignStrands(backend, normed, out, batch, len);
            backend.release(out);
            out = normed;
        }
        if (sink != null) sink.accept(mixers.length, out);
        if (state != null) state.advance(len);
        // the sink copies what it keeps while it is called: these buffers are dead now
        backend.release(residual);
        if (out != normed) backend.release(normed);
        releaseAll(scratch.tensors());
        return out;
    }

    /**
     * One residual block, the only layer forward: residualOut = residualIn + mixer(rmsnorm(residualIn)).
     * Inference passes residualOut = residualIn and mixerOut = normed (both updated in place);
     * training passes a fresh residualOut as mixerOut too.
     */
    private void blockForward(int i, Tensor residualOut, Tensor residualIn, Tensor normed, Tensor mixerOut,
                              int batch, int len, Mixer.Activations act, Mixer.State state) {
        backend.rmsNorm(normed, residualIn, weights.blocks()[i].norm(), eps());
        mixers[i].forward(mixerOut, normed, batch, len, act, state);
        backend.add(residualOut, mixerOut, residualIn);
    }

    private void requireTrainable() {
        if (format != WeightFormat.FP32)
            throw new IllegalStateException("a model with " + format + " weights is for inference; training needs FP32");
    }

    private float eps() {
        return (float) config.layerNormEpsilon();
    }

    private static void checkIds(int[] ids, int batch, int len) {
        if (ids.length != (long) batch * len)
            throw new IllegalArgumentException(ids.length + " ids for batch " + batch + " x len " + len);
    }

    /**
     * LM head over hidden rows: (rows, hidden) to (rows, padded vocab); with two strands, (2 rows,
     * hidden) from {@link #backbone} to (rows, padded vocab), both strands of a position summed.
     */
    public Tensor logits(Tensor hidden) {
        Tensor out = backend.allocate(hidden.rows2d() / strands.count(), config.paddedVocabSize());
        logits(hidden, out);
        return out;
    }

    /** LM head into a caller's buffer (rows, padded vocab): stream logits of long inputs block by block. */
    public void logits(Tensor hidden, Tensor out) {
        if (strands.count() > 1) strands.logits(backend, out, hidden, weights.lmHead());
        else backend.linear(out, hidden, weights.lmHead(), null);
    }

    /** The full causal LM: logits (batch * len, padded vocab) on the host. */
    public float[] forward(int[] ids, int batch, int len) {
        return forward(ids, batch, len, null);
    }

    /** Continues the sequences in state by len tokens each and returns the logits of every position. */
    public float[] forward(int[] ids, int batch, int len, MambaState state) {
        Tensor hidden = backbone(ids, batch, len, state, null);
        Tensor logits = logits(hidden);
        backend.release(hidden);
        float[] out = backend.toHost(logits);
        backend.release(logits);
        return out;
    }

    /** One recurrent step: one token per sequence, returns (batch, padded vocab) logits. */
    public float[] step(int[] tokens, MambaState state) {
        return forward(tokens, tokens.length, 1, state);
    }

    /**
     * The backend's fused decoding step ({@link Backend#decodeStep}) continuing the sequences in
     * state, leaving each step's logits in logits (sequences, padded vocab); null where the backend
     * or a mixer has none. The step takes the state over until it is
     * closed; the caller advances the state's position.
     */
    public Backend.DecodeStep decodeStep(MambaState state, Tensor logits) {
        if (strands.count() > 1) return null;
        if (logits.rows2d() != state.batch())
            throw new IllegalArgumentException("logits " + logits + " for a state of " + state.batch() + " sequences");
        java.util.List<DecodePlan.Layer> layers = new java.util.ArrayList<>();
        for (int i = 0; i < mixers.length; i++) {
            DecodePlan.Layer l = mixers[i].decodeLayer(weights.blocks()[i].norm(), state.layer(i));
            if (l == null) return null;
            layers.add(l);
        }
        return backend.decodeStep(new DecodePlan(weights.embeddings(), weights.normF(), weights.lmHead(), eps(), logits, layers));
    }

    // ---------------------------------------------------------------------------------------------
    // Training: the same block forward keeping its activations, and the backward, block by block.

    /**
     * Activation checkpointing per layer: the training forward keeps only each layer's input
     * residual, and the backward runs that layer's forward again just before its backward. Memory for
     * activations drops from every layer's to one layer's plus a residual per layer (for the dna
     * preset, from about 120 KB per token, counting the layers' norm outputs (1 KB a layer each) kept
     * since 2026-11-30, to about 15), for one more forward per step. The gradients are
     * the same bits, since the recomputed forward is the same arithmetic on the same inputs.
     */
    public void recomputeActivations(boolean on) {
        recomputeActivations = on;
    }

    /**
     * Has {@link #backward} call {@code done.accept(i)} as soon as layer i's parameter gradients
     * (its norm and mixer) are complete, layers in backward order; null stops it. Data-parallel
     * training sums those gradients across GPUs while the backward goes on to the layers below.
     */
    public void onLayerGradientsDone(java.util.function.IntConsumer done) {
        layerGradientsDone = done;
    }

    /**
     * What a training forward keeps: per layer its input residual and (unless activations are
     * recomputed) its RMSNorm output and its mixer's activations.
     */
    public static final class Activations {
        final int[] ids;
        final int batch, len;
        /** Sequences the stack ran: batch times the strand count; ids holds all of them. */
        final int stackBatch;
        final Tensor[] residualIn;
        /**
         * Each layer's norm output, its mixer's input; null where the model recomputes activations
         * (the backward then recomputes it from residualIn: one norm a layer, 1.1 ms of a
         * 130m-mamba2 8 x 2048 fp32 step, against a (rows, hidden) buffer a layer kept).
         */
        final Tensor[] normedIn;
        final Mixer.Activations[] mixer;
        Tensor residualOut;
        Tensor hidden;

        Activations(int[] ids, int batch, int stackBatch, int len, int layerCount) {
            this.ids = ids;
            this.batch = batch;
            this.stackBatch = stackBatch;
            this.len = len;
            this.residualIn = new Tensor[layerCount];
            this.normedIn = new Tensor[layerCount];
            this.mixer = new Mixer.Activations[layerCount];
        }

        /** The final normalized hidden states (strands * batch * len, hidden_size), input of any head. */
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
        requireTrainable();
        return new Gradients(backend, parameters, byName -> ModelWeights.bind(family, config, byName));
    }

    /** The forward of {@link #backbone} from an empty state, keeping activations for {@link #backward}. */
    public Activations forwardTraining(int[] ids, int batch, int len) {
        requireTrainable();
        checkIds(ids, batch, len);
        int stackBatch = batch * strands.count(), rows = stackBatch * len, h = config.hiddenSize();
        Activations act = new Activations(strands.ids(ids, batch, len), batch, stackBatch, len, mixers.length);
        // written whole before they are read: by the embedding, each norm, each block (its mixer's
        // output projection, then the residual sum) and norm_f
        Tensor residual = backend.allocateUninitialized(rows, h);
        backend.embedding(residual, act.ids, weights.embeddings());
        Tensor normed = backend.allocateUninitialized(rows, h);
        for (int i = 0; i < mixers.length; i++) {
            if (strands.swapsEachLayer()) { // the layer's input is the exchanged strands; the backward starts from it
                Tensor swapped = backend.allocate(rows, h);
                strands.swap(backend, swapped, residual, batch, len);
                residual = swapped;
            }
            Mixer.Activations ma = mixers[i].newActivations(stackBatch, len, true);
            Tensor next = backend.allocateUninitialized(rows, h);
            Tensor layerNormed = recomputeActivations ? normed : backend.allocateUninitialized(rows, h);
            blockForward(i, next, residual, layerNormed, next, stackBatch, len, ma, null);
            act.residualIn[i] = residual;
            if (!recomputeActivations) act.normedIn[i] = layerNormed;
            act.mixer[i] = recomputeActivations ? null : ma;
            if (recomputeActivations) releaseAll(ma.tensors());
            residual = next;
        }
        act.residualOut = residual;
        act.hidden = backend.allocateUninitialized(rows, h);
        backend.rmsNorm(act.hidden, residual, weights.normF(), eps());
        if (strands.count() > 1) { // both strands' rows become one sequence's: normed is free to take them
            strands.alignStrands(backend, normed, act.hidden, batch, len);
            backend.release(act.hidden);
            act.hidden = normed;
        } else {
            backend.release(normed);
        }
        return act;
    }

    /** The LM head's backward: dHidden += dLogits head, d(head) += dLogits^T hidden. */
    public void logitsBackward(Activations act, Tensor dLogits, Tensor dHidden, Gradients grads) {
        if (strands.count() > 1)
            strands.logitsBackward(backend, dHidden, grads.weights().lmHead(), dLogits, act.hidden, weights.lmHead());
        else backend.linearBackward(dHidden, grads.weights().lmHead(), null, dLogits, act.hidden, weights.lmHead());
    }

    /**
     * The same for hidden rows [from, to) only, dLogits being those rows' logits' gradient: a loss
     * that takes the logits block by block never holds the whole (tokens, vocab) matrix.
     */
    public void logitsBackward(Activations act, int from, int to, Tensor dLogits, Tensor dHidden, Gradients grads) {
        if (strands.count() > 1) { // both strands of a position meet in its logits: the head takes every row at once
            requireAllRows(act, from, to);
            logitsBackward(act, dLogits, dHidden, grads);
            return;
        }
        backend.linearBackward(dHidden.rows(from, to), grads.weights().lmHead(), null, dLogits, act.hidden.rows(from, to),
                weights.lmHead());
    }

    /** Logits of a training forward's positions [from, to) into out (a two-strand model takes them all at once). */
    public void logits(Activations act, int from, int to, Tensor out) {
        if (strands.count() > 1) {
            requireAllRows(act, from, to);
            logits(act.hidden, out);
        } else {
            logits(act.hidden.rows(from, to), out);
        }
    }

    private void requireAllRows(Activations act, int from, int to) {
        if (from != 0 || to != act.batch * act.len)
            throw new IllegalArgumentException("a reverse-complement-sharing model's head takes all " + act.batch * act.len
                    + " positions at once, not [" + from + ", " + to + ")");
    }

    /**
     * Frees what a training forward kept (see {@link Backend#release}); act must not be used again.
     * Losses call it after {@link #backward}, so that a step's activations are gone before the next
     * step allocates its own instead of whenever the garbage collector finds them.
     */
    public void release(Activations act) {
        for (Tensor t : act.residualIn) backend.release(t);
        releaseAll(act.normedIn);
        for (Mixer.Activations ma : act.mixer) if (ma != null) releaseAll(ma.tensors());
        backend.release(act.residualOut);
        backend.release(act.hidden);
    }

    private void releaseAll(Tensor[] tensors) {
        for (Tensor t : tensors) if (t != null) backend.release(t);
    }

    // ---- the sequence-classification head: pool the final hidden states of each sequence (mean
    // ---- over positions, or the last position), then classifier.weight / classifier.bias.

    /**
     * Pooled (batch, hidden) from hidden (strands * batch * len, hidden). With two strands the pool
     * is the mean of both strands' pools (Caduceus-PS' convention of averaging the forward and
     * reverse-complement halves). "last" takes each strand's own last base: the forward strand's at
     * position len - 1, the reverse complement's at forward position 0 (it reads 3' to 5' of the
     * forward strand), so that a sequence and its reverse complement pool alike.
     */
    public Tensor pool(Tensor hidden, int batch, int len) {
        requireClassifier();
        int h = config.hiddenSize(), n = strands.count();
        Tensor pooled = backend.allocate(batch, h);
        for (int s = 0; s < n; s++)
            for (int b = 0; b < batch; b++) {
                int first = (s * batch + b) * len;
                Tensor seq = hidden.rows(first, first + len), out = pooled.rows(b, b + 1);
                int lastRow = lastRow(s, len);
                if (MambaConfig.POOL_LAST.equals(config.pooling())) backend.add(out, out, seq.rows(lastRow, lastRow + 1));
                else backend.addColumnSums(out.reshape(h), seq);
            }
        backend.scale(pooled, MambaConfig.POOL_LAST.equals(config.pooling()) ? 1f / n : 1f / (n * len));
        return pooled;
    }

    /** Backward of {@link #pool}: dHidden (batch * len, hidden) += d(pooled) spread over positions. */
    public void poolBackward(Tensor dPooled, Tensor dHidden, int batch, int len) {
        int h = config.hiddenSize(), n = strands.count();
        boolean last = MambaConfig.POOL_LAST.equals(config.pooling());
        Tensor g = backend.allocate(batch, h), spread = backend.allocate(len, h);
        backend.copy(g, dPooled);
        backend.scale(g, last ? 1f / n : 1f / (n * len));
        for (int s = 0; s < n; s++)
            for (int b = 0; b < batch; b++) {
                int first = (s * batch + b) * len;
                Tensor seq = dHidden.rows(first, first + len), gb = g.rows(b, b + 1);
                if (last) {
                    int lastRow = lastRow(s, len);
                    backend.add(seq.rows(lastRow, lastRow + 1), seq.rows(lastRow, lastRow + 1), gb);
                } else {
                    backend.broadcastRows(spread, gb.reshape(h));
                    backend.add(seq, seq, spread);
                }
            }
    }

    /** The row of strand s's last base in a sequence of the stack's output (strand 1 is aligned to forward positions). */
    private static int lastRow(int strand, int len) {
        return strand == 0 ? len - 1 : 0;
    }

    /** Class logits (batch, num_labels) of pooled hidden states. */
    public Tensor classify(Tensor pooled) {
        requireClassifier();
        Tensor out = backend.allocate(pooled.dim(0), config.numLabels());
        backend.linear(out, pooled, weights.classifier(), weights.classifierBias());
        return out;
    }

    /** Class logits (batch, num_labels) of whole sequences, on the host. */
    public float[] classify(int[] ids, int batch, int len) {
        return backend.toHost(classify(pool(backbone(ids, batch, len, null, null), batch, len)));
    }

    /** Backward of {@link #classify(Tensor)}: dPooled += dLogits W, grads of the classifier (+=). */
    public void classifyBackward(Tensor dLogits, Tensor pooled, Tensor dPooled, Gradients grads) {
        backend.linearBackward(dPooled, grads.weights().classifier(), grads.weights().classifierBias(),
                dLogits, pooled, weights.classifier());
    }

    private void requireClassifier() {
        if (!config.hasClassifier())
            throw new IllegalStateException("this model has no classification head (config.json has no ssmtk_classifier)");
    }

    /** Backpropagates dHidden (gradient of the final normalized hidden states) into grads (+=). */
    public void backward(Activations act, Tensor dHidden, Gradients grads) {
        int sb = act.stackBatch, rows = sb * act.len, h = config.hiddenSize();
        ModelWeights g = grads.weights();
        Tensor dResidual = backend.allocate(rows, h); // norm_f's backward accumulates into it
        // a layer's norm output the forward did not keep is recomputed into normed; dNormed is zeroed at
        // every layer (or first takes the aligned strands)
        boolean normsRecomputed = java.util.Arrays.stream(act.normedIn).anyMatch(java.util.Objects::isNull);
        Tensor normed = normsRecomputed ? backend.allocateUninitialized(rows, h) : null,
                dNormed = backend.allocateUninitialized(rows, h);
        if (strands.count() > 1) { // back from forward positions to the stack's order
            strands.alignStrands(backend, dNormed, dHidden, act.batch, act.len);
            dHidden = dNormed;
        }
        backend.rmsNormBackward(dResidual, g.normF(), dHidden, act.residualOut, weights.normF(), eps());
        Mixer.BackwardScratch scratch = mixers[0].newBackwardScratch(sb, act.len);
        for (int i = mixers.length - 1; i >= 0; i--) {
            Mixer.Activations ma = act.mixer[i];
            Tensor layerNormed = act.normedIn[i];
            if (layerNormed == null) {
                layerNormed = normed;
                backend.rmsNorm(normed, act.residualIn[i], weights.blocks()[i].norm(), eps());
            }
            if (ma == null) { // recomputed: the same mixer forward on the same input, without its output
                ma = mixers[i].newActivations(sb, act.len, true);
                mixers[i].forward(null, layerNormed, sb, act.len, ma, null);
            }
            backend.fill(dNormed, 0f);
            // residual_out = residual_in + mixer(norm(residual_in)): dResidual flows through unchanged and into the mixer
            mixers[i].backward(dNormed, dResidual, layerNormed, sb, act.len, ma, g.blocks()[i].mixer(), scratch);
            if (act.mixer[i] == null) releaseAll(ma.tensors());
            backend.rmsNormBackward(dResidual, g.blocks()[i].norm(), dNormed, act.residualIn[i],
                    weights.blocks()[i].norm(), eps());
            if (layerGradientsDone != null) layerGradientsDone.accept(i);
            if (strands.swapsEachLayer()) { // the exchange is its own inverse and transpose
                strands.swap(backend, dNormed, dResidual, act.batch, act.len);
                backend.copy(dResidual, dNormed);
            }
        }
        backend.embeddingBackward(g.embeddings(), act.ids, dResidual);
        releaseAll(scratch.tensors());
        releaseAll(new Tensor[]{dResidual, normed, dNormed});
    }
}
