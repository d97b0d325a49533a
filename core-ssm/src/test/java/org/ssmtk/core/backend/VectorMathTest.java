package org.ssmtk.core.backend;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;
import org.ssmtk.core.backend.cpu.VectorMath;

import java.util.SplittableRandom;
import java.util.function.DoubleUnaryOperator;
import java.util.function.UnaryOperator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The hand-written vector exp/log1p/softplus against double-precision java.lang.Math. */
class VectorMathTest {
    static final VectorSpecies<Float> S = org.ssmtk.core.backend.cpu.VectorMath.S;

    /** Largest error in units of the float ulp of the exact (double) value, over xs. */
    static double maxUlp(float[] xs, UnaryOperator<FloatVector> f, DoubleUnaryOperator exact) {
        double worst = 0;
        float[] out = new float[S.length()];
        for (int i = 0; i + S.length() <= xs.length; i += S.length()) {
            f.apply(FloatVector.fromArray(S, xs, i)).intoArray(out, 0);
            for (int l = 0; l < out.length; l++) {
                double e = exact.applyAsDouble(xs[i + l]);
                double err = Math.abs(out[l] - e) / Math.ulp((float) e);
                if (!(err <= worst)) worst = Double.isNaN(err) ? Double.POSITIVE_INFINITY : err;
            }
        }
        return worst;
    }

    static float[] uniform(int n, double lo, double hi, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (lo + (hi - lo) * r.nextDouble());
        return v;
    }

    @Test
    void expIsWithinTwoUlpOverTheNormalRange() {
        assertTrue(maxUlp(uniform(1 << 16, -87, 88, 1), VectorMath::exp, Math::exp) <= 2.0);
        assertTrue(maxUlp(uniform(1 << 16, -1e-3, 1e-3, 2), VectorMath::exp, Math::exp) <= 2.0);
        // subnormal results: gradual underflow, within an ulp of the subnormal grid
        assertTrue(maxUlp(uniform(1 << 12, -103, -88, 7), VectorMath::exp, Math::exp) <= 1.0);
        assertTrue(maxUlp(uniform(1 << 12, 88, 88.72, 8), VectorMath::exp, Math::exp) <= 2.0);
    }

    /** The scan's exp of dt A (never positive) is exp's arithmetic less its upper clamp: the same bits. */
    @Test
    void expOfNonPositiveInputsIsExpBitForBit() {
        float[] xs = uniform(1 << 16, -120, 0, 9);
        xs[0] = -0f;
        xs[1] = 0f;
        xs[2] = Float.NaN;
        xs[3] = Float.NEGATIVE_INFINITY;
        xs[4] = -Float.MIN_VALUE;
        xs[5] = -104f;
        for (int i = 0; i + S.length() <= xs.length; i += S.length()) {
            FloatVector x = FloatVector.fromArray(S, xs, i);
            float[] want = VectorMath.exp(x).toArray(), got = VectorMath.expNonPositive(x).toArray();
            for (int l = 0; l < want.length; l++)
                assertEquals(Float.floatToRawIntBits(want[l]), Float.floatToRawIntBits(got[l]), "exp(" + xs[i + l] + ")");
        }
    }

    @Test
    void expHandlesTheEdges() {
        float[] x = new float[S.length()];
        java.util.Arrays.fill(x, -1000f);
        x[1] = 0f;
        x[2] = Float.NaN;
        x[3 % x.length] = 1000f;
        float[] y = VectorMath.exp(FloatVector.fromArray(S, x, 0)).toArray();
        assertEquals(0f, y[0]);
        assertEquals(1f, y[1]);
        if (x.length > 3) {
            assertTrue(Float.isNaN(y[2]));
            assertEquals(Float.POSITIVE_INFINITY, y[3]);
        }
    }

    @Test
    void log1pIsAccurateForTinyAndLargeArguments() {
        float[] tiny = uniform(1 << 14, 0, 1e-6, 3), unit = uniform(1 << 16, 0, 1, 4), big = uniform(1 << 14, 1, 1e6, 5);
        for (float[] xs : new float[][]{tiny, unit, big}) {
            double ulp = maxUlp(xs, VectorMath::log1p, Math::log1p);
            assertTrue(ulp <= 3.0, "log1p off by " + ulp + " ulp on [" + xs[0] + ", ...]");
        }
    }

    @Test
    void softplusMatchesTheDoubleFormula() {
        double worst = maxUlp(uniform(1 << 16, -30, 30, 6), VectorMath::softplus,
                x -> x > 20 ? x : Math.log1p(Math.exp(x)));
        assertTrue(worst <= 4.0, "softplus off by " + worst + " ulp");
    }

    @Test
    void sumAddsEveryLane() {
        float[] v = new float[S.length()];
        double want = 0;
        for (int i = 0; i < v.length; i++) want += v[i] = i + 0.25f;
        assertEquals(want, VectorMath.sum(FloatVector.fromArray(S, v, 0)), 0.0);
    }
}
