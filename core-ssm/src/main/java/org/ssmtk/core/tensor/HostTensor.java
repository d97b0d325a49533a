package org.ssmtk.core.tensor;

import java.util.Arrays;

/** A float32 array in Java memory with a shape: what is read from and written to files. */
public record HostTensor(float[] data, int[] shape) {
    public HostTensor {
        long n = 1;
        for (int d : shape) n *= d;
        if (n != data.length)
            throw new IllegalArgumentException(data.length + " values for shape " + Arrays.toString(shape));
    }

    public long size() {
        return data.length;
    }
}
