package org.ssmtk.core.tensor;

/** Memory that a backend owns (a Java array, a device allocation). Tensors are views of it. */
public interface Storage {
    /** Capacity in float32 elements. */
    long capacity();
}
