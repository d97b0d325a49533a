package org.ssmtk.core.nn;

/**
 * Where a family's checkpoints keep the tensors of the stack every family shares: the embeddings,
 * each layer's norm and mixer prefix, norm_f and the LM head. transformers' Mamba names them
 * {@code backbone.*}; Caduceus' CaduceusForMaskedLM {@code caduceus.backbone.*}, with RCPS wrappers
 * adding a level ({@code .embedding.}, {@code .submodule.}).
 *
 * @param layers    the prefix of layer i's tensors is {@code layers + i + "."}
 * @param layerNorm a layer's norm weight, relative to its prefix
 * @param mixer     a layer's mixer prefix, relative to its prefix
 */
public record StackNames(String embeddings, String layers, String layerNorm, String mixer, String normF, String lmHead) {

    public static final StackNames MAMBA = new StackNames(ParameterSpec.EMBEDDINGS, "backbone.layers.", "norm.weight",
            "mixer.", ParameterSpec.NORM_F, ParameterSpec.LM_HEAD);

    public String layerNorm(int i) {
        return layers + i + "." + layerNorm;
    }

    public String mixer(int i) {
        return layers + i + "." + mixer;
    }
}
