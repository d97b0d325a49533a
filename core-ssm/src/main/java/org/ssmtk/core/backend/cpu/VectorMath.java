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

    private static final float LOG2E = 1.44269504088896341f;
    private static final float LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    /**
     * Below EXP_MIN e^x is under the smallest normal float and is flushed to 0 (decays of long gaps);
     * above EXP_MAX (where 2^n would need exponent 128) the result is +inf, which the callers
     * (sigmoid of a very negative input) turn into the right 0.
     */
    private static final float EXP_MIN = -87.33654f, EXP_MAX = 88.0f;
    /** 1.5 * 2^23: adding and subtracting it rounds a float of magnitude < 2^22 to the nearest integer. */
    private static final float ROUND_MAGIC = 12582912f;
    private static final float SQRT_HALF = 0.707106781186547524f;

    public static FloatVector exp(FloatVector x) {
        VectorSpecies<Float> s = x.species();
        FloatVector xc = x.max(EXP_MIN).min(EXP_MAX);
        FloatVector shifted = xc.mul(LOG2E).add(ROUND_MAGIC);
        FloatVector n = shifted.sub(ROUND_MAGIC);
        FloatVector r = n.fma(FloatVector.broadcast(s, -LN2_HI), xc);
        r = n.fma(FloatVector.broadcast(s, -LN2_LO), r);
        FloatVector p = FloatVector.broadcast(s, 1.9875691500e-4f);
        p = p.fma(r, FloatVector.broadcast(s, 1.3981999507e-3f));
        p = p.fma(r, FloatVector.broadcast(s, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(s, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(s, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(s, 5.0000001201e-1f));
        p = p.mul(r.mul(r)).add(r).add(1f);
        // 2^n from the integer n sitting in the low mantissa bits of `shifted`
        IntVector bits = shifted.reinterpretAsInts().sub(Float.floatToRawIntBits(ROUND_MAGIC)).add(127).lanewise(VectorOperators.LSHL, 23);
        FloatVector result = p.mul(bits.reinterpretAsFloats());
        result = result.blend(0f, x.compare(VectorOperators.LT, EXP_MIN));
        result = result.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, EXP_MAX));
        return result.blend(x, x.test(VectorOperators.IS_NAN));
    }

    /** log(1 + y) for y >= 0, accurate for tiny y (log(u) * y / (u - 1) with u = 1 + y rounded). */
    public static FloatVector log1p(FloatVector y) {
        FloatVector u = y.add(1f);
        FloatVector um1 = u.sub(1f);
        FloatVector logU = logNormalPositive(u);
        FloatVector corrected = logU.mul(y.div(um1));
        return corrected.blend(y, um1.compare(VectorOperators.EQ, 0f));
    }

    /** Natural log of positive normal floats. */
    static FloatVector logNormalPositive(FloatVector x) {
        VectorSpecies<Float> s = x.species();
        IntVector bits = x.reinterpretAsInts();
        IntVector e = bits.lanewise(VectorOperators.LSHR, 23).sub(126);
        // mantissa in [0.5, 1)
        FloatVector m = bits.and(0x807FFFFF).or(0x3F000000).reinterpretAsFloats();
        var small = m.compare(VectorOperators.LT, SQRT_HALF);
        FloatVector zero = FloatVector.zero(s);
        FloatVector ef = ((FloatVector) e.convert(VectorOperators.I2F, 0)).sub(zero.blend(1f, small));
        FloatVector f = m.add(zero.blend(m, small)).sub(1f); // m < sqrt(1/2): 2m - 1 and one less in the exponent
        FloatVector z = f.mul(f);
        FloatVector p = FloatVector.broadcast(s, 7.0376836292e-2f);
        p = p.fma(f, FloatVector.broadcast(s, -1.1514610310e-1f));
        p = p.fma(f, FloatVector.broadcast(s, 1.1676998740e-1f));
        p = p.fma(f, FloatVector.broadcast(s, -1.2420140846e-1f));
        p = p.fma(f, FloatVector.broadcast(s, 1.4249322787e-1f));
        p = p.fma(f, FloatVector.broadcast(s, -1.6668057665e-1f));
        p = p.fma(f, FloatVector.broadcast(s, 2.0000714765e-1f));
        p = p.fma(f, FloatVector.broadcast(s, -2.4999993993e-1f));
        p = p.fma(f, FloatVector.broadcast(s, 3.3333331174e-1f));
        FloatVector r = p.mul(f).mul(z);
        r = ef.fma(FloatVector.broadcast(s, LN2_LO), r);
        r = z.fma(FloatVector.broadcast(s, -0.5f), r);
        return f.add(r).add(ef.mul(LN2_HI));
    }

    public static FloatVector sigmoid(FloatVector x) {
        FloatVector one = FloatVector.broadcast(x.species(), 1f);
        return one.div(one.add(exp(x.neg())));
    }

    /** softplus(x) = max(x, 0) + log1p(e^-|x|), and x itself above threshold, as PyTorch does. */
    public static FloatVector softplus(FloatVector x, float threshold) {
        FloatVector soft = x.max(0f).add(log1p(exp(x.abs().neg())));
        return soft.blend(x, x.compare(VectorOperators.GT, threshold));
    }

    /** Sum of the lanes by a fixed pairwise tree: the same bits whatever compiled it. */
    public static float sum(FloatVector v) {
        VectorShuffle<Float>[] steps = shuffles(v.species());
        for (VectorShuffle<Float> sh : steps) v = v.add(v.rearrange(sh));
        return v.lane(0);
    }

    private static final VectorSpecies<Float> PREFERRED = FloatVector.SPECIES_PREFERRED;
    private static final VectorShuffle<Float>[] PREFERRED_SHUFFLES = buildShuffles(PREFERRED);

    private static VectorShuffle<Float>[] shuffles(VectorSpecies<Float> s) {
        return s == PREFERRED ? PREFERRED_SHUFFLES : buildShuffles(s);
    }

    @SuppressWarnings("unchecked")
    private static VectorShuffle<Float>[] buildShuffles(VectorSpecies<Float> s) {
        int lanes = s.length(), count = Integer.numberOfTrailingZeros(lanes);
        VectorShuffle<Float>[] out = new VectorShuffle[count];
        for (int i = 0, half = lanes / 2; half >= 1; i++, half /= 2) {
            final int h = half;
            out[i] = VectorShuffle.fromOp(s, lane -> (lane + h) % lanes);
        }
        return out;
    }
}
