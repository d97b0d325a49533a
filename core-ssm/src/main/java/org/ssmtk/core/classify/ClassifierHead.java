package org.ssmtk.core.classify;

import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.ParameterSpec;
import org.ssmtk.core.tensor.HostTensor;

import java.util.LinkedHashMap;
import java.util.Map;

/** Puts a fresh sequence-classification head on a (pretrained) checkpoint, for fine-tuning. */
public final class ClassifierHead {
    private ClassifierHead() {}

    /**
     * The checkpoint's weights with a new {@code classifier.weight}/{@code classifier.bias} for
     * {@code numLabels} classes. The head comes from {@link Initializer#reference}, which seeds each
     * parameter by its name, so it is exactly the head a from-scratch model with this seed gets; any
     * head the checkpoint already had is dropped, since its classes are not these.
     */
    public static MambaCheckpoint attach(MambaCheckpoint base, int numLabels, String pooling, long seed) {
        MambaCheckpoint fresh = Initializer.reference(base.config().withClassifier(numLabels, pooling), seed);
        Map<String, HostTensor> params = new LinkedHashMap<>(fresh.parameters());
        base.parameters().forEach((name, t) -> {
            if (!name.equals(ParameterSpec.CLASSIFIER_WEIGHT) && !name.equals(ParameterSpec.CLASSIFIER_BIAS)) params.replace(name, t);
        });
        return new MambaCheckpoint(fresh.config(), params);
    }
}
