package org.ssmtk.core;

import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/** The HuggingFace reference fixtures (copied from shared/fixtures) and comparison helpers. */
public final class Fixtures {
    private Fixtures() {}

    public static Path dir(String name) {
        URL url = Fixtures.class.getResource("/fixtures/" + name);
        if (url == null) fail("fixture " + name + " is missing from the test resources");
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** ||ours - ref|| / ||ref|| (||ours|| when ref is exactly zero), NaN when either side has a NaN. */
    public static double relativeError(float[] ours, double[] ref) {
        if (ours.length != ref.length) fail("length " + ours.length + " vs reference " + ref.length);
        double num = 0, den = 0;
        for (int i = 0; i < ours.length; i++) {
            double d = ours[i] - ref[i];
            num += d * d;
            den += ref[i] * ref[i];
        }
        return den == 0 ? Math.sqrt(num) : Math.sqrt(num / den);
    }

    public static double relativeError(float[] ours, float[] ref) {
        double[] r = new double[ref.length];
        for (int i = 0; i < r.length; i++) r[i] = ref[i];
        return relativeError(ours, r);
    }

    public static void assertClose(String what, float[] ours, double[] ref, double tolerance) {
        double err = relativeError(ours, ref);
        assertTrue(err < tolerance, what + ": relative error " + err + " is not below " + tolerance);
    }

    public static void assertClose(String what, float[] ours, float[] ref, double tolerance) {
        double err = relativeError(ours, ref);
        assertTrue(err < tolerance, what + ": relative error " + err + " is not below " + tolerance);
    }

    public static int[] toInts(long[] v) {
        int[] out = new int[v.length];
        for (int i = 0; i < v.length; i++) out[i] = Math.toIntExact(v[i]);
        return out;
    }
}
