package org.ssmtk.core.backend;

import org.ssmtk.core.tensor.Tensor;

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

    Tensor fromHost(float[] data, int... shape);

    float[] toHost(Tensor t);

    void copy(Tensor dst, Tensor src);

    void fill(Tensor t, float value);

    // ---- layers

    /** out[m, n] = sum_k x[m, k] * w[n, k] + bias[n] (bias may be null): PyTorch's Linear. */
    void linear(Tensor out, Tensor x, Tensor w, Tensor bias);

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

    // ---- optimizer support

    /** Sum of squares of all elements, in double. */
    double sumOfSquares(Tensor t);

    /** t *= factor. */
    void scale(Tensor t, float factor);

    /**
     * One AdamW step on a parameter: m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2,
     * p -= lr (m / bc1 / (sqrt(v / bc2) + eps) + weightDecay p), with bias corrections bc1, bc2.
     */
    void adamW(Tensor param, Tensor grad, Tensor m, Tensor v, float lr, float beta1, float beta2, float eps,
               float weightDecay, float bc1, float bc2);

    @Override
    void close();
}
