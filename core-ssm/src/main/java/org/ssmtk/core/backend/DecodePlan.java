package org.ssmtk.core.backend;

import org.ssmtk.core.tensor.Tensor;

import java.util.List;

/**
 * Everything one decoding step of a batch of sequences reads and writes, by role, for a backend that runs
 * the whole step itself ({@link Backend#decodeStep}): the stack (embedding, per layer
 * {@code x = x + mixer(rmsnorm(x))}, norm_f, LM head into {@code logits}) and each layer's mixer
 * weights and recurrent state. The state tensors are the model's own, in their usual layouts: the
 * step takes them over when it starts and gives them back when it is closed.
 *
 * @param logits (sequences, padded vocab): where every step leaves its logits
 */
public record DecodePlan(Tensor embeddings, Tensor normF, Tensor lmHead, float eps, Tensor logits, List<Layer> layers) {

    /** One residual block: its RMSNorm weight and its mixer. */
    public sealed interface Layer permits Mamba1, Mamba2 {
        Tensor norm();
    }

    /**
     * A Mamba-1 block (see MambaMixer for the math). Nullable: the biases; xProjDt, xProjB, xProjC
     * and dtWeight in the non-selective ablation, which has bConst and cConst instead (else null).
     * convState (sequences, kernel - 1, d_inner), oldest row first; ssmState (sequences, d_inner, d_state).
     */
    public record Mamba1(Tensor norm, Tensor inX, Tensor inZ, Tensor inBiasX, Tensor inBiasZ, Tensor conv, Tensor convBias,
                         Tensor xProjDt, Tensor xProjB, Tensor xProjC, Tensor dtWeight, Tensor dtBias, Tensor aLog, Tensor d,
                         Tensor out, Tensor outBias, Tensor bConst, Tensor cConst, Tensor convState, Tensor ssmState)
            implements Layer {}

    /**
     * A Mamba-2 block (see Mamba2Mixer): in_proj's five row views, the x/B/C convs, per-head aLog, d,
     * dtBias, the gated RMSNorm's weight over groups of normGroup features, out_proj. Nullable: the
     * biases. convX/convB/convC states (sequences, kernel - 1, width), ssmState (sequences, heads, head_dim, state).
     */
    public record Mamba2(Tensor norm, Tensor inZ, Tensor inX, Tensor inB, Tensor inC, Tensor inDt,
                         Tensor inBiasZ, Tensor inBiasX, Tensor inBiasB, Tensor inBiasC, Tensor inBiasDt,
                         Tensor convX, Tensor convB, Tensor convC, Tensor convBiasX, Tensor convBiasB, Tensor convBiasC,
                         Tensor aLog, Tensor d, Tensor dtBias, Tensor gateNorm, int normGroup, Tensor out, Tensor outBias,
                         SsdShape shape, Tensor convStateX, Tensor convStateB, Tensor convStateC, Tensor ssmState)
            implements Layer {}
}
