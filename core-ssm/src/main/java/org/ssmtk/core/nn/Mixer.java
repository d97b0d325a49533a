package org.ssmtk.core.nn;

import org.ssmtk.core.backend.DecodePlan;
import org.ssmtk.core.tensor.Tensor;

/**
 * The sequence mixer of one residual block: the part a model family swaps (Mamba-1's selective
 * scan today; Mamba-2's SSD and Caduceus' bidirectional pair slot in beside it). The model around
 * it is the same for every family: embedding, then per layer {@code x = x + mixer(rmsnorm(x))},
 * then norm_f and a head.
 *
 * <p>One forward serves inference and training. What differs is the {@link Activations} it writes
 * into: inference passes one set of buffers reused by every layer (memory independent of depth) and
 * may continue sequences held in a {@link State}; training passes a fresh set per layer and keeps
 * it for {@link #backward}. Gradients have the parameters' type: {@code backward} accumulates into a
 * {@link Weights} of the same class as the mixer's own, bound over the gradient tensors.
 */
public interface Mixer {

    /** A mixer's parameters (or, bound over gradient tensors, their gradients). */
    interface Weights {}

    /** The buffers one forward writes: inference scratch, or what a training backward reads. */
    interface Activations {
        /**
         * Every buffer (nulls allowed), for releasing them once dead: on the GPU nothing else frees them
         * before a garbage collection, and a recorded decoding step refuses buffers left unreleased.
         */
        Tensor[] tensors();
    }

    /** Gradient buffers one backward reuses for every layer (zeroed by the mixer before each use). */
    interface BackwardScratch {
        /**
         * Every buffer (nulls allowed), for releasing them once dead: on the GPU nothing else frees them
         * before a garbage collection, and a recorded decoding step refuses buffers left unreleased.
         */
        Tensor[] tensors();
    }

    /** What the mixer remembers of consumed tokens, per sequence; constant size whatever was consumed. */
    interface State {
        /** Every tensor of the state, for sizing and resetting. */
        Tensor[] tensors();
    }

    /**
     * Buffers for rows = batch * len. {@code training}: kept for {@link #backward} (the mixer
     * cannot continue a {@link State} then); otherwise scratch that any layer of this model may reuse.
     */
    Activations newActivations(int batch, int len, boolean training);

    /**
     * out = mixer(in), rows batch * len of hidden_size. {@code out} may be {@code in} (inference
     * reuses the normed buffer), or null when only the activations are wanted (a backward that
     * recomputes them skips the output projection). With a state the call continues its sequences and leaves it after
     * the last token; training activations take no state.
     */
    void forward(Tensor out, Tensor in, int batch, int len, Activations act, State state);

    /**
     * Given dOut, accumulates dIn (+=) and this layer's parameter gradients (+=) into {@code grads},
     * bound like the mixer's own weights. {@code in} is the forward's input (the block recomputes it).
     */
    void backward(Tensor dIn, Tensor dOut, Tensor in, int batch, int len, Activations act, Weights grads,
                  BackwardScratch scratch);

    BackwardScratch newBackwardScratch(int batch, int len);

    State newState(int batch);

    /**
     * This layer as a {@link DecodePlan} layer over one sequence's state (batch 1), for a backend
     * that runs a whole decoding step itself; null when the mixer has no such description (the
     * step then runs op by op).
     */
    default DecodePlan.Layer decodeLayer(Tensor norm, State state) {
        return null;
    }

    /** Bytes of the inference {@link Activations} per token (what grows with L). */
    long activationBytesPerToken();
}
