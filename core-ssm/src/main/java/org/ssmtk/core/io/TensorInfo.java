package org.ssmtk.core.io;

import java.util.Arrays;

/** One entry of a safetensors header: name, element type, shape and byte range in the data section. */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

    public long elementCount() {
        long n = 1;
        for (long d : shape) n *= d;
        return n;
    }

    public int[] intShape() {
        int[] s = new int[shape.length];
        for (int i = 0; i < s.length; i++) s[i] = Math.toIntExact(shape[i]);
        return s;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }
}
