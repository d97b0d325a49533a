package org.ssmtk.core.backend.cuda;

import java.util.Arrays;

/**
 * The arguments of one launch, added in the kernel's parameter order through typed methods (a
 * double cannot reach {@link #f32} without a cast, an int address cannot reach {@link #ptr}). Each
 * addition is checked against the kernel's declaration, so a launcher that passes the wrong kind or
 * number of arguments fails at its first launch with the kernel's name, not inside the kernel.
 */
final class Args {
    private final Kernel kernel;
    private final long[] bits;
    private int count;

    Args(Kernel kernel) {
        this.kernel = kernel;
        this.bits = new long[kernel.params().size()];
    }

    Kernel kernel() {
        return kernel;
    }

    /** A device address; 0 passes a null pointer. */
    Args ptr(long address) {
        return add(Kernel.Param.PTR, address);
    }

    Args i64(long v) {
        return add(Kernel.Param.I64, v);
    }

    Args i32(int v) {
        return add(Kernel.Param.I32, v);
    }

    Args f32(float v) {
        return add(Kernel.Param.F32, Float.floatToRawIntBits(v));
    }

    private Args add(Kernel.Param kind, long value) {
        if (count >= bits.length)
            throw new IllegalStateException(kernel.name() + " takes " + bits.length + " arguments; launched with more");
        Kernel.Param want = kernel.params().get(count);
        if (want != kind)
            throw new IllegalStateException(kernel.name() + " parameter " + count + " is " + want + ", launched with " + kind);
        bits[count++] = value;
        return this;
    }

    /** The values in order, each as the low 32 or all 64 bits of a long; checks that none is missing. */
    long[] values() {
        if (count != bits.length)
            throw new IllegalStateException(kernel.name() + " takes " + bits.length + " arguments; launched with " + count);
        return Arrays.copyOf(bits, count);
    }
}
