package org.ssmtk.core.nn;

/**
 * How a model holds its matrices for inference. FP32 is the checkpoint's own numbers and the only
 * format that trains; INT8 stores every linear layer's weight (the {@code *_proj.weight} matrices and
 * the LM head) as block-scaled int8 when its rows are whole 32-value blocks, on backends that have
 * int8 products; norms, A, D, the conv, biases and embeddings stay fp32.
 */
public enum WeightFormat {
    FP32, INT8;

    /** A linear layer's weight by HuggingFace's naming: what INT8 quantizes. */
    static boolean isLinearWeight(String name) {
        return name.endsWith("_proj.weight") || name.equals(ParameterSpec.LM_HEAD) || name.equals(ParameterSpec.CLASSIFIER_WEIGHT);
    }
}
