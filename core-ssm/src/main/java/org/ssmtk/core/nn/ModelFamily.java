package org.ssmtk.core.nn;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.tensor.Tensor;

import java.util.List;
import java.util.function.Function;

/**
 * What distinguishes one architecture of the Mamba family from another inside the shared residual
 * stack: the tensors of a layer's mixer (names relative to {@code backbone.layers.i.mixer.}, and
 * shapes) and the {@link Mixer} that computes with them. Chosen by config.json's {@code model_type}.
 */
public interface ModelFamily {

    /** config.json's {@code model_type}. */
    String modelType();

    /** The mixer's parameters of one layer, named under {@code prefix}, in checkpoint order. */
    List<ParameterSpec.Entry> mixerParameters(MambaConfig config, String prefix);

    /** The mixer's tensors under {@code prefix}, typed: parameters, or gradients bound the same way. */
    Mixer.Weights bind(MambaConfig config, Function<String, Tensor> tensors, String prefix);

    Mixer mixer(Backend backend, MambaConfig config, Mixer.Weights weights);

    /**
     * Refuses, in one line, a backend that lacks this family's operations: called before any
     * parameter is placed on the backend.
     */
    default void checkBackend(Backend backend) {}

    /** The families this build knows, by model_type. */
    List<ModelFamily> KNOWN = List.of(new MambaFamily(), new Mamba2Family());

    static ModelFamily of(String modelType) {
        for (ModelFamily f : KNOWN) if (f.modelType().equals(modelType)) return f;
        throw new IllegalArgumentException("model_type '" + modelType + "' is not supported (supported: "
                + String.join(", ", KNOWN.stream().map(ModelFamily::modelType).toList()) + ")");
    }
}
