package org.ssmtk.core.nn;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.tensor.Tensor;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One gradient tensor per parameter, same names and shapes, accumulated by backward passes. The
 * backward reads them through {@link #weights()}: the model's own {@link ModelWeights} type bound
 * over these tensors, so a layer's gradients have its parameters' type (llm.c's ParameterTensors).
 */
public final class Gradients {
    private final Backend backend;
    private final Map<String, Tensor> byName = new LinkedHashMap<>();
    private final ModelWeights weights;
    /** Every gradient, in one list that stays the same (a backend may keep a table of it). */
    private final List<Tensor> zeroList;

    Gradients(Backend backend, Map<String, Tensor> parameters, java.util.function.Function<Map<String, Tensor>, ModelWeights> bind) {
        this.backend = backend;
        parameters.forEach((name, p) -> byName.put(name, backend.allocate(p.shape())));
        this.weights = bind.apply(byName);
        zeroList = List.copyOf(byName.values());
    }

    ModelWeights weights() {
        return weights;
    }

    /** The gradient of a parameter by its checkpoint name (optimizer, checkpoints, tests). */
    public Tensor get(String name) {
        Tensor t = byName.get(name);
        if (t == null) throw new IllegalArgumentException("no gradient for " + name);
        return t;
    }

    public Map<String, Tensor> all() {
        return byName;
    }

    public void zero() {
        backend.zero(zeroList);
    }

    /** sqrt of the sum of squares of every gradient (one backend call for all of them). */
    public double globalNorm() {
        return Math.sqrt(backend.sumOfSquares(List.copyOf(byName.values())));
    }

    public void scale(float factor) {
        for (Tensor t : byName.values()) backend.scale(t, factor);
    }
}
