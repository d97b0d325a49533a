package org.ssmtk.core.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.InputStream;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Inception Score, modified IS and the Fréchet distance against numpy/scipy (values computed once by
 * test-data/fixtures/generation-scores/make_generation_scores.py beside its generation_scores.json; the Fréchet distance there goes through
 * scipy's sqrtm of S1 S2, not an eigen-decomposition) and against closed forms.
 */
class GenerationScoresTest {
    static JsonNode reference() throws Exception {
        try (InputStream in = GenerationScoresTest.class.getResourceAsStream("/fixtures/generation-scores/generation_scores.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    static double[][] matrix(JsonNode n) {
        double[][] m = new double[n.size()][];
        for (int i = 0; i < m.length; i++) {
            m[i] = new double[n.get(i).size()];
            for (int j = 0; j < m[i].length; j++) m[i][j] = n.get(i).get(j).asDouble();
        }
        return m;
    }

    static void assertRelative(double want, double got, double tol, String what) {
        assertEquals(want, got, tol * Math.abs(want), what + ": want " + want + ", got " + got);
    }

    @Test
    void matchesNumpyAndScipy() throws Exception {
        JsonNode ref = reference();
        double[][] p = matrix(ref.get("probabilities"));
        assertRelative(ref.get("inception_score").asDouble(), GenerationScores.inceptionScore(p), 1e-12, "IS");
        assertRelative(ref.get("modified_inception_score").asDouble(), GenerationScores.modifiedInceptionScore(p), 1e-12, "mIS");
        GenerationScores.Gaussian a = GenerationScores.Gaussian.fit(matrix(ref.get("embeddings_a")));
        GenerationScores.Gaussian b = GenerationScores.Gaussian.fit(matrix(ref.get("embeddings_b")));
        assertRelative(ref.get("covariance_a_0_1").asDouble(), a.covariance()[0][1], 1e-12, "unbiased covariance");
        assertRelative(ref.get("frechet_distance").asDouble(), GenerationScores.frechetDistance(a, b), 1e-9, "Frechet distance");
        assertRelative(ref.get("frechet_distance").asDouble(), GenerationScores.frechetDistance(b, a), 1e-9, "Frechet distance is symmetric");
    }

    @Test
    void closedFormsOfGaussians() {
        // Commuting covariances R diag(a) R^T and R diag(b) R^T: FD = |m1 - m2|^2 + sum (sqrt a_i - sqrt b_i)^2.
        int d = 6;
        double[][] rot = SymmetricEigen.of(randomSymmetric(d, new Random(1))).vectors; // an orthonormal basis
        double[] av = {4, 1, 0.25, 9, 2, 0.5}, bv = {1, 1, 1, 4, 8, 0.5};
        double[] m1 = {1, 0, 0, 0, 0, 2}, m2 = {0, 0, 3, 0, 0, 2};
        double want = 1 + 9;
        for (int i = 0; i < d; i++) want += Math.pow(Math.sqrt(av[i]) - Math.sqrt(bv[i]), 2);
        double got = GenerationScores.frechetDistance(new GenerationScores.Gaussian(m1, rotate(rot, av)), new GenerationScores.Gaussian(m2, rotate(rot, bv)));
        assertEquals(want, got, 1e-10 * want);
        // S1 = I and any S2 (not diagonal): FD = sum (1 - sqrt l_i)^2 over S2's eigenvalues l_i.
        double[][] s2 = rotate(SymmetricEigen.of(randomSymmetric(d, new Random(2))).vectors, new double[]{0.1, 0.5, 1, 2, 3, 7});
        double[][] eye = new double[d][d];
        for (int i = 0; i < d; i++) eye[i][i] = 1;
        want = 0;
        for (double l : new double[]{0.1, 0.5, 1, 2, 3, 7}) want += Math.pow(1 - Math.sqrt(l), 2);
        got = GenerationScores.frechetDistance(new GenerationScores.Gaussian(new double[d], eye), new GenerationScores.Gaussian(new double[d], s2));
        assertEquals(want, got, 1e-10 * want);
        // A Gaussian is at distance 0 from itself, also when its covariance is singular (rank 3 of 6).
        double[][] singular = rotate(rot, new double[]{1, 0, 2, 0, 3, 0});
        assertEquals(0, GenerationScores.frechetDistance(new GenerationScores.Gaussian(m1, singular), new GenerationScores.Gaussian(m1, singular)), 1e-7);
    }

    @Test
    void inceptionScoresOfExtremeClassifiers() {
        int k = 10, n = 40;
        double[][] confidentEven = new double[n][k], undecided = new double[n][k];
        for (int i = 0; i < n; i++) {
            confidentEven[i][i % k] = 1;
            java.util.Arrays.fill(undecided[i], 1.0 / k);
        }
        assertEquals(k, GenerationScores.inceptionScore(confidentEven), 1e-9); // the maximum: every class, each sure
        assertEquals(1, GenerationScores.inceptionScore(undecided), 1e-12);
        assertEquals(1, GenerationScores.modifiedInceptionScore(undecided), 1e-12);
        // All samples confidently one class: IS 1 (no diversity), mIS 1 (every pair agrees).
        double[][] collapsed = new double[n][k];
        for (double[] row : collapsed) row[3] = 1;
        assertEquals(1, GenerationScores.inceptionScore(collapsed), 1e-12);
        assertEquals(1, GenerationScores.modifiedInceptionScore(collapsed), 1e-12);
    }

    @Test
    void eigenDecompositionReconstructsTheMatrix() {
        for (int d : new int[]{1, 2, 7, 64}) {
            double[][] a = randomSymmetric(d, new Random(d));
            SymmetricEigen e = SymmetricEigen.of(a);
            double[][] back = rotate(e.vectors, e.values);
            for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++) {
                    assertEquals(a[i][j], back[i][j], 1e-10, "V L V^T at " + i + "," + j + " (d " + d + ")");
                    double dot = 0;
                    for (int k = 0; k < d; k++) dot += e.vectors[k][i] * e.vectors[k][j];
                    assertEquals(i == j ? 1 : 0, dot, 1e-10, "orthonormal columns");
                }
        }
        double[][] psd = rotate(SymmetricEigen.of(randomSymmetric(5, new Random(9))).vectors, new double[]{4, 1, 0, 9, 0.25});
        double[][] r = SymmetricEigen.sqrtPsd(psd), rr = GenerationScores.multiply(r, r);
        for (int i = 0; i < 5; i++) for (int j = 0; j < 5; j++) assertEquals(psd[i][j], rr[i][j], 1e-10);
    }

    static double[][] randomSymmetric(int d, Random r) {
        double[][] a = new double[d][d];
        for (int i = 0; i < d; i++)
            for (int j = i; j < d; j++) a[i][j] = a[j][i] = r.nextGaussian();
        return a;
    }

    /** V diag(l) V^T. */
    static double[][] rotate(double[][] v, double[] l) {
        int d = l.length;
        double[][] out = new double[d][d];
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++)
                for (int k = 0; k < d; k++) out[i][j] += v[i][k] * l[k] * v[j][k];
        return out;
    }

    /** A set listed class by class (as a digits manifest is: every voice says "zero" to "nine" in turn). */
    @Test
    void halvesOfASetListedInClassOrderAreDrawnAtRandomNotByPosition() {
        Random random = new Random(7);
        int n = 400, d = 3;
        double[][] x = new double[n][d];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) x[i][j] = (i % 2 == 0 ? 0 : 10) + random.nextGaussian();
        // Odd against even rows would be two classes 10 apart in every dimension: a distance near 3 x 100.
        double[][] even = new double[n / 2][], odd = new double[n / 2][];
        for (int i = 0; i < n; i++) (i % 2 == 0 ? even : odd)[i / 2] = x[i];
        double byPosition = GenerationScores.frechetDistance(GenerationScores.Gaussian.fit(even), GenerationScores.Gaussian.fit(odd));
        assertEquals(300, byPosition, 30);
        double halves = GenerationScores.halvesDistance(x, 1);
        assertEquals(0, halves, 5, "two random halves of one set are close: " + halves);
        assertEquals(halves, GenerationScores.halvesDistance(x, 1), 0, "seeded");
    }
}
