package org.ssmtk.core.backend;

import org.ssmtk.core.tensor.Tensor;

import java.util.List;

/**
 * The operations a Mamba model is made of. The model code calls only these, so the same model runs
 * on any backend; a backend owns the memory of the tensors it creates and may run asynchronously
 * as long as {@link #toHost} returns finished results.
 *
 * <p>Conventions: activations are row-major {@code (tokens, features)} matrices where token
 * {@code b * L + t} is position t of sequence b; weights keep PyTorch's {@code (out, in)} layout.
 */
public interface Backend extends AutoCloseable {

    /** A short name for messages: "cpu", "cuda". */
    String name();

    /** A one-line description of what runs (device, threads, SIMD width). */
    String describe();

    // ---- memory

    /** A zero-filled tensor. */
    Tensor allocate(int... shape);

    /**
     * A tensor whose contents are unspecified until written: for buffers that the caller's next
     * operations overwrite entirely before anything reads them (never for one that an operation
     * accumulates into). A backend may skip the zeroing (CUDA does); the default is {@link #allocate}.
     */
    default Tensor allocateUninitialized(int... shape) {
        return allocate(shape);
    }

    Tensor fromHost(float[] data, int... shape);

    float[] toHost(Tensor t);

    void copy(Tensor dst, Tensor src);

    void fill(Tensor t, float value);

    /**
     * Says that t's storage is dead: t and every view of the same storage will not be used again.
     * A backend may free the memory at once instead of when the tensor becomes unreachable (the CUDA
     * backend does, in stream order, and fails any later use); the default leaves it to the garbage
     * collector. Callers release only buffers they allocated themselves and no one else holds.
     */
    default void release(Tensor t) {}

    /**
     * A hint: t's next contents will be read by matrix products ({@link #linear}'s x,
     * {@link #linearBackward}'s dy or x). A backend whose products read rounded copies of their
     * operands (CUDA under bf16) may then have the kernel that writes t write the copy as well.
     * Results do not depend on it; the default ignores it.
     */
    default void feedsProducts(Tensor t) {}

    // ---- layers

    /** out[m, n] = sum_k x[m, k] * w[n, k] + bias[n] (bias may be null): PyTorch's Linear. */
    void linear(Tensor out, Tensor x, Tensor w, Tensor bias);

    /**
     * A copy of the (rows, k) weight matrix w stored as block-scaled int8 ({@code Q8Blocks}: k a
     * multiple of 32), usable only as {@link #linear}'s weight (and row views of it): inference with a
     * quarter of the weight bytes. Backends without int8 products refuse.
     */
    default Tensor quantizeInt8(Tensor w) {
        throw new UnsupportedOperationException("--weights int8 runs on the CPU backend only (" + name() + " has no int8 products)");
    }

    /** out[i, :] = table[ids[i], :]. Ids outside the table are an IllegalArgumentException. */
    void embedding(Tensor out, int[] ids, Tensor table);

    /** out[m, :] = x[m, :] / sqrt(mean(x[m, :]^2) + eps) * weight. */
    void rmsNorm(Tensor out, Tensor x, Tensor weight, float eps);

    /** out = a + b, element-wise (out may alias a or b). */
    void add(Tensor out, Tensor a, Tensor b);

    /**
     * out[b * len + t, :] = in[b * len + (len - 1 - t), :] for every sequence b, with each row's
     * columns reversed too when {@code reverseColumns}: the flips of the bidirectional and
     * reverse-complement models (Caduceus). out must not alias in. Its own adjoint, so the backward
     * is the same call on the gradients (into a zeroed or scratch buffer, then added).
     *
     * <p>The default is {@link #embedding} used as a gather (exact, and therefore right wherever
     * embedding is): over rows, with one id per row; with reversed columns, over single elements,
     * with one id per element, which a backend that runs Caduceus at scale should replace by a
     * kernel (the CPU does).
     */
    default void reverseSequences(Tensor out, Tensor in, int batch, int len, boolean reverseColumns) {
        int n = in.cols(), rows = batch * len;
        if (in.rows2d() != rows || out.rows2d() != rows || out.cols() != n)
            throw new IllegalArgumentException("reverseSequences: " + out + " from " + in + " for batch " + batch + " x len " + len);
        if (!reverseColumns) {
            int[] ids = new int[rows];
            for (int b = 0; b < batch; b++) for (int t = 0; t < len; t++) ids[b * len + t] = b * len + len - 1 - t;
            embedding(out, ids, in);
            return;
        }
        int[] ids = new int[Math.multiplyExact(rows, n)];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < len; t++)
                for (int k = 0; k < n; k++) ids[(b * len + t) * n + k] = (b * len + len - 1 - t) * n + n - 1 - k;
        embedding(out.reshape(rows * n, 1), ids, in.reshape(rows * n, 1));
    }

    /** Every row of out (rows, n) = row (n). */
    void broadcastRows(Tensor out, Tensor row);

    /** out (n) += sum over rows of m (rows, n): the backward of {@link #broadcastRows}. */
    void addColumnSums(Tensor out, Tensor m);

    /** out = -exp(x), element-wise: A from A_log. */
    void negExp(Tensor out, Tensor x);

    /**
     * Causal depthwise conv1d followed by SiLU. x and out are (batch * len, channels), weight is
     * (channels, width), bias (channels) may be null. convState, when not null, is
     * (batch, width - 1, channels): the inputs that precede x; it is updated to the last width - 1
     * inputs so that the next call continues the sequence. Without it the sequence starts at zero.
     */
    void causalConv1dSilu(Tensor out, Tensor x, Tensor weight, Tensor bias, Tensor convState, int batch, int len);

    /**
     * The fused selective scan, for every sequence b and channel d:
     * <pre>
     *   dt  = softplus(delta[t] + deltaBias)
     *   h_t = exp(dt * A[d, :]) * h_{t-1} + dt * B[t, :] * u[t]
     *   y_t = (sum_n h_t[n] C[t, n] + D * u[t]) * silu(z[t])
     * </pre>
     * u, delta, z, y are (batch * len, channels); B and C are (batch * len, state); A is
     * (channels, state). deltaBias, D and z may be null. ssmState, when not null, is
     * (batch, channels, state): h before the first step on entry, h after the last step on exit.
     * No (len, channels, state) tensor is ever formed.
     */
    void selectiveScan(Tensor y, Tensor u, Tensor delta, Tensor deltaBias, Tensor A, Tensor B, Tensor C,
                       Tensor D, Tensor z, Tensor ssmState, int batch, int len);

    /**
     * The scan for training: as {@link #selectiveScan} from a zero state, and also keeps the state
     * entering every chunk of {@link #scanChunk()} steps in chunkStates, (batch, chunks, channels,
     * state), for {@link #selectiveScanBackward}.
     */
    void selectiveScanTraining(Tensor y, Tensor u, Tensor delta, Tensor deltaBias, Tensor A, Tensor B, Tensor C,
                               Tensor D, Tensor z, Tensor chunkStates, int batch, int len);

    /** Time steps between the states that {@link #selectiveScanTraining} keeps. */
    int scanChunk();

    // ---- backward. Every gradient output is accumulated into (+=), parameter and input alike, so
    // ---- that gradients of shared tensors and of micro-batches add up; callers zero them first.

    /** Of {@link #linear}: dx += dy w, dw += dy^T x, dBias += column sums of dy. dx, dBias may be null. */
    void linearBackward(Tensor dx, Tensor dw, Tensor dBias, Tensor dy, Tensor x, Tensor w);

    /** Of {@link #embedding}: dTable[ids[i]] += dOut[i]. */
    void embeddingBackward(Tensor dTable, int[] ids, Tensor dOut);

    /** Of {@link #rmsNorm}: dx and dWeight accumulate. */
    void rmsNormBackward(Tensor dx, Tensor dWeight, Tensor dy, Tensor x, Tensor weight, float eps);

    /** Of {@link #causalConv1dSilu} from a zero state (training). dBias may be null. */
    void causalConv1dSiluBackward(Tensor dx, Tensor dWeight, Tensor dBias, Tensor dOut, Tensor x, Tensor weight,
                                  Tensor bias, int batch, int len);

    /**
     * Of {@link #selectiveScanTraining}, recomputing states inside each chunk from chunkStates.
     * dDeltaBias, dD, dz may be null exactly when deltaBias, D, z are.
     */
    void selectiveScanBackward(Tensor du, Tensor dDelta, Tensor dDeltaBias, Tensor dA, Tensor dB, Tensor dC,
                               Tensor dD, Tensor dz, Tensor dOut, Tensor u, Tensor delta, Tensor deltaBias,
                               Tensor A, Tensor B, Tensor C, Tensor D, Tensor z, Tensor chunkStates, int batch, int len);

    /** out += a * b, element-wise: chain rules of element-wise maps (dA_log += dA * A). */
    void addProduct(Tensor out, Tensor a, Tensor b);

    /**
     * Softmax cross-entropy per row of logits against targets (rows equal to ignoreIndex count for
     * nothing). Writes dLogits = scale * (softmax - onehot), zero on ignored rows, and returns the
     * summed loss over counted rows.
     */
    double crossEntropy(Tensor logits, int[] targets, int ignoreIndex, Tensor dLogits, float scale);

    /**
     * Every row's own loss and no gradient, what scoring needs: -log softmax(row r's first width
     * logits)[targets[r]] in nats, for logits (rows, cols) and width <= cols (a padded vocabulary's
     * real part); a row whose target is negative is not scored and gets NaN. The default reads the
     * logits back and works row by row on the host in double; the CPU backend spreads the rows over
     * its threads (vector exps summed in float), and CUDA computes whole rows (width = cols) on the
     * device, so that only the losses come back (other widths take the default).
     */
    default double[] crossEntropyRows(Tensor logits, int width, int[] targets) {
        Shapes.crossEntropyRows(logits, width, targets);
        float[] host = toHost(logits);
        int cols = logits.cols();
        double[] out = new double[targets.length];
        for (int r = 0; r < out.length; r++) {
            if (targets[r] < 0) {
                out[r] = Double.NaN;
                continue;
            }
            int off = r * cols;
            double max = Double.NEGATIVE_INFINITY;
            for (int v = 0; v < width; v++) max = Math.max(max, host[off + v]);
            double sum = 0;
            for (int v = 0; v < width; v++) sum += Math.exp(host[off + v] - max);
            out[r] = max + Math.log(sum) - host[off + targets[r]];
        }
        return out;
    }

    // ---- decoding

    /**
     * One token per row of logits (rows, cols), among the first vocabSize columns, by
     * {@link TokenSampling#pick}'s rule with uniforms[r] as row r's draw (unused, and may be null,
     * at temperature 0). Only the ids come back to the host. The default reads the logits back and
     * picks on the host; the CUDA backend picks on the device (the same tokens but where a draw lies
     * within double rounding of a boundary between two tokens).
     */
    default int[] sample(Tensor logits, int vocabSize, double temperature, int topK, double[] uniforms) {
        int rows = logits.rows2d(), cols = logits.cols();
        TokenSampling.check(rows, cols, vocabSize, temperature, topK, uniforms);
        float[] host = toHost(logits);
        int[] out = new int[rows];
        for (int r = 0; r < rows; r++)
            out[r] = TokenSampling.pick(host, r * cols, vocabSize, temperature, topK, temperature == 0 ? 0 : uniforms[r]);
        return out;
    }

    /** Backend work recorded once by {@link #record}, replayed without the host's per-operation cost. */
    interface Replay extends AutoCloseable {
        /** Queues the recorded work again, reading the recording's int[] inputs as they are now. */
        void run();

        @Override
        void close();
    }

    /**
     * Records the work that body queues, for {@link Replay#run} to repeat in one launch (the CUDA
     * backend: a CUDA graph, so that a decoding step of hundreds of small kernels costs the host one
     * call). body runs once, now, and what it queues is recorded, not executed: the first run()
     * executes it. body may read host ints only from the arrays in inputs (each run() reads their
     * contents anew), must not read results back, and must release every buffer it allocates; the
     * tensors it writes that outlive it must exist before. Returns null where the backend does not
     * record (the default): the caller then runs body itself each time.
     */
    default Replay record(Runnable body, int[]... inputs) {
        return null;
    }

    /**
     * A whole decoding step as one piece of work, where the backend has one (the CPU, for any
     * number of sequences: no allocation and no dispatch per operation; CUDA, for Mamba-1 at any batch: a few
     * fused kernels per layer in a CUDA graph); null otherwise (the default), and the caller runs
     * the step operation by operation. The step takes over the plan's state tensors: they hold
     * the sequence again, in their usual layout, once it is closed.
     */
    default DecodeStep decodeStep(DecodePlan plan) {
        return null;
    }

    /** See {@link #decodeStep}. */
    interface DecodeStep extends AutoCloseable {
        /** Feeds token through the model, continuing the sequence; its logits land in the plan's logits tensor. */
        void step(int token);

        /**
         * Feeds tokens as {@link #step(int[])} does and picks every sequence's next token greedily
         * (the highest of the first vocabSize logits, {@link TokenSampling}'s rule at temperature 0)
         * in the same piece of work, so that only the ids come back; null where the step does not
         * (the default), and the caller samples the logits itself.
         */
        default int[] stepGreedy(int[] tokens, int vocabSize) {
            return null;
        }

        /** Feeds one token per sequence (the plan's logits rows); the default takes one sequence. */
        default void step(int[] tokens) {
            if (tokens.length != 1) throw new IllegalArgumentException("this decoding step takes one sequence, got " + tokens.length);
            step(tokens[0]);
        }

        /**
         * Starts sequence {@code sequence} (a logits row) anew, as a fresh state would: its conv windows and
         * recurrent state become zeros, so its slot can take the next sequence while the others go on;
         * unsupported where the step does not say otherwise (the default).
         */
        default void reset(int sequence) {
            throw new UnsupportedOperationException("this decoding step cannot restart one of its sequences");
        }

        /** Writes the state back into the plan's state tensors. */
        @Override
        void close();
    }

    // ---- optimizer support

    /** Sum of squares of all elements, in double. */
    double sumOfSquares(Tensor t);

    /** The sum of squares of every element of every tensor, in double: the squared global norm. */
    double sumOfSquares(List<Tensor> ts);

    /** t *= factor. */
    void scale(Tensor t, float factor);

    /** Every tensor of ts = 0 (the gradients before a step); a backend may do it in one launch. */
    default void zero(List<Tensor> ts) {
        for (Tensor t : ts) fill(t, 0f);
    }

    /**
     * One AdamW step on a parameter: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
     * p -= lr (m / bc1 / (sqrt(v / bc2) + eps) + weightDecay p), with bias corrections bc1, bc2.
     */
    void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
               float weightDecay, float bc1, float bc2);

    /**
     * The step above for every parameter i, with grads[i] * gradScale in place of grads[i] (the
     * clipping factor: the gradients themselves are left as they are) and weightDecay[i]; the same
     * float arithmetic as scaling the gradients first and stepping each parameter alone.
     */
    void adamW(List<Tensor> params, List<Tensor> grads, List<Tensor> m, List<Tensor> v, float[] weightDecay,
               float gradScale, float lr, float beta1, float beta2, float eps, float bc1, float bc2);

    // ---- Mamba-2 (SSD). Backends without these operations keep the defaults, which refuse with a
    // ---- message naming the backend: a Mamba-2 model checks supportsSsd() when it is built.

    /** Whether this backend implements the Mamba-2 operations below. */
    default boolean supportsSsd() {
        return false;
    }

    /**
     * Mamba-2's SSD scan, for every sequence, head h (x and y columns [h P, (h + 1) P) for P =
     * headDim), channel p and state n, with g = h / (heads / nGroups) the group whose B, C columns
     * [g N, (g + 1) N) head h reads:
     * <pre>
     *   dt_t   = clamp(softplus(dt[t, h] + dtBias[h]), dtMin, dtMax)
     *   H_t    = exp(dt_t A[h]) H_{t-1} + dt_t x_t B_t^T          (H: headDim x state per head)
     *   y[t]   = H_t C_t + D[h] x_t
     * </pre>
     * x, y (batch * len, heads * headDim); dt (batch * len, heads); A, D, dtBias (heads); B, C
     * (batch * len, nGroups * stateSize). ssmState, when not null, is (batch, heads, headDim,
     * stateSize): H before the first step on entry, after the last on exit. chunkStates, when not
     * null, receives the state entering every chunk of shape.chunk() steps, (batch, chunks, heads,
     * headDim, stateSize), for {@link #ssdScanBackward}.
     */
    default void ssdScan(Tensor y, Tensor x, Tensor dt, Tensor dtBias, Tensor A, Tensor B, Tensor C, Tensor D,
                         Tensor ssmState, Tensor chunkStates, int batch, int len, SsdShape shape) {
        throw ssdUnsupported("the SSD scan");
    }

    /** Of {@link #ssdScan} from a zero state, with the chunkStates it kept; every gradient accumulates. */
    default void ssdScanBackward(Tensor dx, Tensor dDt, Tensor dDtBias, Tensor dA, Tensor dB, Tensor dC, Tensor dD,
                                 Tensor dOut, Tensor x, Tensor dt, Tensor dtBias, Tensor A, Tensor B, Tensor C, Tensor D,
                                 Tensor chunkStates, int batch, int len, SsdShape shape) {
        throw ssdUnsupported("the SSD scan backward");
    }

    /**
     * Mamba-2's gated RMSNorm: g = x * silu(z); each run of groupSize features of a row is divided
     * by its root mean square: out = weight * g / sqrt(mean_group(g^2) + eps). x, z, out (rows, width).
     */
    default void gatedRmsNorm(Tensor out, Tensor x, Tensor z, Tensor weight, int groupSize, float eps) {
        throw ssdUnsupported("the gated RMSNorm");
    }

    /** Of {@link #gatedRmsNorm}: dx, dz and dWeight accumulate. */
    default void gatedRmsNormBackward(Tensor dx, Tensor dz, Tensor dWeight, Tensor dOut, Tensor x, Tensor z, Tensor weight,
                                      int groupSize, float eps) {
        throw ssdUnsupported("the gated RMSNorm backward");
    }

    private UnsupportedOperationException ssdUnsupported(String what) {
        return new UnsupportedOperationException("the " + name() + " backend has no Mamba-2 kernels (" + what
                + "): Mamba-2 runs on the cpu and cuda backends");
    }

    @Override
    void close();
}
