package org.ssmtk.core.tensor;

import java.util.Arrays;

/**
 * A dense row-major float32 array on some backend: a storage, an element offset into it and a
 * shape. Tensors are cheap views; {@link #rows} and {@link #reshape} share storage. The model only
 * passes tensors to its {@link org.ssmtk.core.backend.Backend}, which alone looks inside storage.
 */
public final class Tensor {
    private final Storage storage;
    private final long offset;
    private final int[] shape;
    private final long size;

    public Tensor(Storage storage, long offset, int... shape) {
        this.storage = storage;
        this.offset = offset;
        this.shape = shape.clone();
        long n = 1;
        for (int d : shape) {
            if (d < 0) throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
            n *= d;
        }
        this.size = n;
        if (offset < 0 || offset + n > storage.capacity())
            throw new IllegalArgumentException("view " + Arrays.toString(shape) + " at " + offset
                    + " exceeds storage of " + storage.capacity());
    }

    public Storage storage() {
        return storage;
    }

    public long offset() {
        return offset;
    }

    public int[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int i) {
        return shape[i < 0 ? shape.length + i : i];
    }

    public long size() {
        return size;
    }

    /** Number of elements in one index of the leading dimension. */
    public long rowSize() {
        return shape.length == 0 ? 1 : size / Math.max(1, shape[0]);
    }

    /** Treats the tensor as a matrix: all leading dimensions flattened into rows. */
    public int rows2d() {
        return Math.toIntExact(size / Math.max(1, shape[shape.length - 1]));
    }

    public int cols() {
        return shape[shape.length - 1];
    }

    /** The contiguous sub-tensor of leading indices [from, to). */
    public Tensor rows(int from, int to) {
        if (from < 0 || to > shape[0] || from > to)
            throw new IndexOutOfBoundsException("rows [" + from + ", " + to + ") of " + Arrays.toString(shape));
        int[] s = shape.clone();
        s[0] = to - from;
        return new Tensor(storage, offset + from * rowSize(), s);
    }

    public Tensor reshape(int... newShape) {
        long n = 1;
        for (int d : newShape) n *= d;
        if (n != size)
            throw new IllegalArgumentException("cannot reshape " + Arrays.toString(shape) + " to " + Arrays.toString(newShape));
        return new Tensor(storage, offset, newShape);
    }

    public boolean sameShape(int... other) {
        return Arrays.equals(shape, other);
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape);
    }
}
