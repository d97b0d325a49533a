package org.ssmtk.core.eval;

/**
 * Eigenvalues and eigenvectors of a real symmetric matrix by cyclic Jacobi rotations. Each rotation
 * zeroes one off-diagonal pair exactly and never makes the sum of squares off the diagonal larger,
 * so the sweeps converge (quadratically near the end) and the vectors stay orthonormal to rounding.
 * O(n^3) per sweep with 6-10 sweeps: right for the few-hundred-dimensional covariances of classifier
 * embeddings, and needing no linear-algebra library.
 */
public final class SymmetricEigen {
    /** values[i] belongs to the column vectors[.][i]. */
    public final double[] values;
    public final double[][] vectors;

    private SymmetricEigen(double[] values, double[][] vectors) {
        this.values = values;
        this.vectors = vectors;
    }

    public static SymmetricEigen of(double[][] symmetric) {
        int n = symmetric.length;
        double[][] a = new double[n][];
        for (int i = 0; i < n; i++) {
            if (symmetric[i].length != n) throw new IllegalArgumentException("matrix is not square: row " + i + " has " + symmetric[i].length + " of " + n);
            a[i] = symmetric[i].clone();
        }
        double[][] v = new double[n][n];
        for (int i = 0; i < n; i++) v[i][i] = 1;
        double scale = 0;
        for (double[] row : a) for (double x : row) scale += x * x;
        for (int sweep = 0; sweep < 100; sweep++) {
            double off = 0;
            for (int p = 0; p < n; p++) for (int q = p + 1; q < n; q++) off += a[p][q] * a[p][q];
            if (off <= 1e-30 * scale || off == 0) break;
            for (int p = 0; p < n; p++)
                for (int q = p + 1; q < n; q++) {
                    double apq = a[p][q];
                    if (apq == 0) continue;
                    // The rotation angle that zeroes a[p][q]: t = tan(theta), the smaller root, for stability.
                    double theta = (a[q][q] - a[p][p]) / (2 * apq);
                    double t = Math.signum(theta) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
                    if (theta == 0) t = 1;
                    double c = 1 / Math.sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++) { // columns p and q
                        double akp = a[k][p], akq = a[k][q];
                        a[k][p] = c * akp - s * akq;
                        a[k][q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++) { // rows p and q
                        double apk = a[p][k], aqk = a[q][k];
                        a[p][k] = c * apk - s * aqk;
                        a[q][k] = s * apk + c * aqk;
                    }
                    a[p][q] = a[q][p] = 0;
                    for (int k = 0; k < n; k++) {
                        double vkp = v[k][p], vkq = v[k][q];
                        v[k][p] = c * vkp - s * vkq;
                        v[k][q] = s * vkp + c * vkq;
                    }
                }
        }
        double[] values = new double[n];
        for (int i = 0; i < n; i++) values[i] = a[i][i];
        return new SymmetricEigen(values, v);
    }

    /**
     * The symmetric positive semi-definite square root V diag(sqrt(max(l, 0))) V^T. Eigenvalues a
     * covariance gets slightly below zero from rounding are taken as zero.
     */
    public static double[][] sqrtPsd(double[][] symmetric) {
        SymmetricEigen e = of(symmetric);
        int n = symmetric.length;
        double[][] out = new double[n][n];
        for (int k = 0; k < n; k++) {
            double r = Math.sqrt(Math.max(e.values[k], 0));
            if (r == 0) continue;
            for (int i = 0; i < n; i++) {
                double vi = e.vectors[i][k] * r;
                for (int j = 0; j < n; j++) out[i][j] += vi * e.vectors[j][k];
            }
        }
        return out;
    }
}
