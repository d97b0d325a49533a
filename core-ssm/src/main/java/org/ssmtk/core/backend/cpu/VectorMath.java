package org.ssmtk.core.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * exp, log1p, sigmoid, softplus and a lane sum built only from IEEE add, mul, fma, compare and
 * bit operations. The Vector API's own EXP/LOG1P and reduceLanes(ADD) give results that depend
 * on whether a method is interpreted, C1- or C2-compiled (a Java fallback versus SVML, a serial
 * versus a tree sum), which breaks bit-for-bit reproducible training; these do not, in any tier.
 * exp and log1p are Cody-Waite range reduction plus a minimax polynomial: within 2 ulp of the
 * correctly rounded float for exp, 3 for log1p, over the ranges the model uses (VectorMathTest).
 */
public final class VectorMath {
    private VectorMath() {}

    /**
     * The float species of every CPU kernel, and every function here takes and returns vectors of
     * it: species and shuffles must be compile-time constants for C2 to intrinsify the operations
     * instead of boxing each vector. The machine's widest, or the width the system property
     * ssmtk.cpu.vectorBits gives (128, 256, 512): tests run the kernels at widths this machine
     * lacks (core-ssm's pom), which the Vector API runs, slowly, in its Java fallback.
     */
    public static final VectorSpecies<Float> S = Integer.getInteger("ssmtk.cpu.vectorBits") == null ? FloatVector.SPECIES_PREFERRED
            : VectorSpecies.of(float.class, jdk.incubator.vector.VectorShape.forBitSize(Integer.getInteger("ssmtk.cpu.vectorBits")));
    private static final int LANES = S.length();

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    /**
     * Inputs are clamped to where e^x is between the smallest subnormal and overflow, and 2^n is
     * applied as two normal factors 2^(n/2) 2^(n - n/2), so that both gradual underflow to 0 and
     * overflow to +inf come out of the arithmetic itself, with no masks (a masked blend here was
     * not intrinsified by C2 and made the scan three times slower).
     */
    private static final float EXP_MIN = -104f, EXP_MAX = 89f;
    /** 1.5 * 2^23: adding and subtracting it rounds a float of magnitude < 2^22 to the nearest integer. */
    private static final float ROUND_MAGIC = 12582912f;

    public static FloatVector exp(FloatVector x) {
        return expOfClamped(x.max(EXP_MIN).min(EXP_MAX));
    }

    /**
     * exp(x) for x <= 0 (or NaN): {@link #exp} without the upper clamp, which cannot act there, so the
     * same bits. The scan's exp(dt A) is such (dt >= 0, A = -exp(A_log)), and a Java-semantics vector
     * min is several instructions: the scan's update ran 23% faster without it.
     */
    public static FloatVector expNonPositive(FloatVector x) {
        return expOfClamped(x.max(EXP_MIN));
    }

    /** exp of x already inside [EXP_MIN, EXP_MAX]: 2^n times a polynomial of the remainder. */
    private static FloatVector expOfClamped(FloatVector xc) {
        FloatVector shifted = xc.mul(LOG2E).add(ROUND_MAGIC);
        FloatVector n = shifted.sub(ROUND_MAGIC);
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), xc);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(S, 1.9875691500e-4f);
        p = p.fma(r, FloatVector.broadcast(S, 1.3981999507e-3f));
        p = p.fma(r, FloatVector.broadcast(S, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(S, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(S, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(S, 5.0000001201e-1f));
        p = p.mul(r.mul(r)).add(r).add(1f);
        // 2^n from the integer n sitting in the low mantissa bits of `shifted`
        IntVector n2 = shifted.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND_MAGIC));
        IntVector half = n2.lanewise(VectorOperators.ASHR, 1);
        FloatVector scale1 = half.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector scale2 = n2.sub(half).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return p.mul(scale1).mul(scale2); // NaN needs no mask either: it survives max, min and the polynomial
    }

    /**
     * log(1 + y) for y >= 0, accurate for tiny y: log(u) for u = 1 + y rounded, plus the first-order
     * correction (y - (u - 1)) / u for the rounding (exactly y when u rounds to 1).
     */
    public static FloatVector log1p(FloatVector y) {
        FloatVector u = y.add(1f);
        FloatVector correction = y.sub(u.sub(1f)).div(u);
        return logNormalPositive(u).add(correction);
    }

    /**
     * Natural log of positive normal floats: x = 2^k (1 + f) with 1 + f in [sqrt(1/2), sqrt(2)),
     * found by integer arithmetic on the bits (no masks, which C2 does not always intrinsify),
     * then log(1 + f) by a minimax polynomial.
     */
    static FloatVector logNormalPositive(FloatVector x) {
        IntVector ix = x.reinterpretAsInts().add(ONE_BITS - SQRT_HALF_BITS);
        IntVector k = ix.lanewise(VectorOperators.ASHR, 23).sub(127);
        FloatVector f = ix.and(0x007FFFFF).add(SQRT_HALF_BITS).reinterpretAsFloats().sub(1f);
        FloatVector ef = (FloatVector) k.convert(VectorOperators.I2F, 0);
        FloatVector z = f.mul(f);
        FloatVector p = FloatVector.broadcast(S, 7.0376836292e-2f);
        p = p.fma(f, FloatVector.broadcast(S, -1.1514610310e-1f));
        p = p.fma(f, FloatVector.broadcast(S, 1.1676998740e-1f));
        p = p.fma(f, FloatVector.broadcast(S, -1.2420140846e-1f));
        p = p.fma(f, FloatVector.broadcast(S, 1.4249322787e-1f));
        p = p.fma(f, FloatVector.broadcast(S, -1.6668057665e-1f));
        p = p.fma(f, FloatVector.broadcast(S, 2.0000714765e-1f));
        p = p.fma(f, FloatVector.broadcast(S, -2.4999993993e-1f));
        p = p.fma(f, FloatVector.broadcast(S, 3.3333331174e-1f));
        FloatVector r = p.mul(f).mul(z);
        r = ef.fma(FloatVector.broadcast(S, LN2_LO), r);
        r = z.fma(FloatVector.broadcast(S, -0.5f), r);
        return f.add(r).add(ef.mul(LN2_HI));
    }

    private static final int ONE_BITS = Float.floatToRawIntBits(1f), SQRT_HALF_BITS = Float.floatToRawIntBits(0.70710678f);

    public static FloatVector sigmoid(FloatVector x) {
        FloatVector one = FloatVector.broadcast(S, 1f);
        return one.div(one.add(exp(x.neg())));
    }

    /**
     * softplus(x) = max(x, 0) + log1p(e^-|x|). PyTorch returns x itself above its threshold of 20;
     * there log1p(e^-x) < 2.1e-9 is below half an ulp of x, so this returns exactly x as well,
     * without a mask.
     */
    public static FloatVector softplus(FloatVector x) {
        return x.max(0f).add(log1p(exp(x.abs().neg())));
    }

    /** Sum of the lanes by a fixed pairwise tree: the same bits whatever compiled it. */
    public static float sum(FloatVector v) {
        if (LANES >= 16) v = v.add(v.rearrange(HALF_8));
        if (LANES >= 8) v = v.add(v.rearrange(HALF_4));
        if (LANES >= 4) v = v.add(v.rearrange(HALF_2));
        if (LANES >= 2) v = v.add(v.rearrange(HALF_1));
        return v.lane(0);
    }

    /**
     * {@link #sum} of the vector stored at a[o, o + lanes), in the same pairwise tree, one lane at a
     * time: the same bits. For kernels so large that C2 leaves sum's call out of line and boxes its
     * vector (MatVec's four-row dot products: about 100 bytes a call).
     */
    static float sumLanes(float[] a, int o) {
        for (int h = LANES / 2; h >= 1; h /= 2)
            for (int i = 0; i < h; i++) a[o + i] = a[o + i] + a[o + i + h];
        return a[o];
    }

    private static final VectorShuffle<Float> HALF_8 = rotation(8), HALF_4 = rotation(4), HALF_2 = rotation(2), HALF_1 = rotation(1);

    private static VectorShuffle<Float> rotation(int by) {
        // iota shuffles compile to one permute; fromOp ones were ten times slower
        return by >= LANES ? null : VectorShuffle.iota(S, by, 1, true);
    }
}
