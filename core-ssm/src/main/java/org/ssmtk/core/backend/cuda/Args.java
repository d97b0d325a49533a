package org.ssmtk.core.backend.cuda;

import java.util.Arrays;

/**
 * The arguments of one launch, added in the kernel's parameter order through typed methods. Each
 * addition is checked against the kernel's declaration, so a launcher that passes the wrong kind or
 * number of arguments fails at its first launch with the kernel's name, not inside the kernel (and
 * in CudaPtxSignatureTest, which drives every launcher without a GPU). Java would widen an int or
 * long to float, and a double cannot narrow by itself but a cast hides it: the overloads of
 * {@link #f32} for those types and of {@link #ptr} for int refuse, so only a float reaches a float
 * parameter and only a long an address.
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

    Args f32(double v) {
        throw refused("a double", "float");
    }

    Args f32(int v) {
        throw refused("an int", "float");
    }

    Args f32(long v) {
        throw refused("a long", "float");
    }

    Args ptr(int v) {
        throw refused("an int", "device address (long)");
    }

    private IllegalStateException refused(String given, String wanted) {
        return new IllegalStateException(kernel.name() + " parameter " + count + ": " + given + " given where a " + wanted
                + " is taken; convert it explicitly");
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
