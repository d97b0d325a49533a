package org.ssmtk.core.nn;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.tensor.Tensor;

import java.util.List;
import java.util.Map;
import java.util.Set;
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


    /** Where this family's checkpoints keep the shared stack's tensors. */
    default StackNames stackNames(MambaConfig config) {
        return StackNames.MAMBA;
    }

    /**
     * Names a checkpoint may hold that are copies of a parameter (tied tensors that some writers store
     * twice), each mapped to the parameter it must equal. Loading accepts equal copies and drops
     * them; saving writes each parameter once, as transformers' save_pretrained does.
     */
    default Map<String, String> tiedCopies(MambaConfig config) {
        StackNames n = stackNames(config);
        return config.tieWordEmbeddings() ? Map.of(n.lmHead(), n.embeddings()) : Map.of();
    }

    /** Non-parameter tensors (buffers) a checkpoint may carry and loading ignores. */
    default Set<String> buffers(MambaConfig config) {
        return Set.of();
    }

    /**
     * How the stack reads a sequence: as itself ({@link Strands#ONE}, every family but one), or as
     * itself and its reverse complement through shared weights (Caduceus-PS).
     */
    default Strands strands(MambaConfig config) {
        return Strands.ONE;
    }

    /** The families this build knows, by model_type. */
    List<ModelFamily> KNOWN = List.of(new MambaFamily(), new Mamba2Family(), new CaduceusFamily());

    static ModelFamily of(String modelType) {
        for (ModelFamily f : KNOWN) if (f.modelType().equals(modelType)) return f;
        throw new IllegalArgumentException("model_type '" + modelType + "' is not supported (supported: "
                + String.join(", ", KNOWN.stream().map(ModelFamily::modelType).toList()) + ")");
    }
}
