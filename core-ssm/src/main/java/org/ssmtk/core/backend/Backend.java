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

    @Override
    void close();
}
