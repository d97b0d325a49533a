package org.ssmtk.audio.baseline;

import java.util.Arrays;

/**
 * Multinomial logistic regression on standardized features, fitted by full-batch gradient descent
 * with Nesterov momentum on the mean cross-entropy plus {@code l2/2 * |W|^2} (no penalty on the
 * bias). The objective is convex, so the fit depends only on the data, l2 and the iteration count.
 */
public final class SoftmaxRegression {
    private final double[] mean, scale;
    private final double[][] w; // classes x (features + 1), last column the bias

    private SoftmaxRegression(double[] mean, double[] scale, double[][] w) {
        this.mean = mean;
        this.scale = scale;
        this.w = w;
    }

    public int classes() {
        return w.length;
    }

    public static SoftmaxRegression fit(double[][] x, int[] y, int classes, double l2, int iterations) {
        if (x.length == 0 || x.length != y.length) throw new IllegalArgumentException("need as many labels as rows, and rows: " + x.length + " vs " + y.length);
        if (classes < 2) throw new IllegalArgumentException("need at least 2 classes, got " + classes);
        int n = x.length, d = x[0].length;
        double[] mean = new double[d], scale = new double[d];
        for (double[] r : x) {
            if (r.length != d) throw new IllegalArgumentException("rows of different lengths: " + d + " and " + r.length);
            for (int j = 0; j < d; j++) mean[j] += r[j] / n;
        }
        for (double[] r : x) for (int j = 0; j < d; j++) scale[j] += (r[j] - mean[j]) * (r[j] - mean[j]) / n;
        for (int j = 0; j < d; j++) scale[j] = scale[j] > 1e-24 ? 1 / Math.sqrt(scale[j]) : 0; // constant features carry nothing
        double[][] z = new double[n][];
        for (int i = 0; i < n; i++) {
            if (y[i] < 0 || y[i] >= classes) throw new IllegalArgumentException("label " + y[i] + " of row " + i + " is not in [0, " + classes + ")");
            z[i] = standardize(x[i], mean, scale);
        }
        double[][] w = new double[classes][d + 1], v = new double[classes][d + 1], look = new double[classes][d + 1], g = new double[classes][d + 1];
        // Standardized inputs bound the Hessian's largest eigenvalue by about (d + 1) / 2 + l2; the step stays below its inverse.
        double lr = 1.0 / ((d + 1) / 2.0 + l2), momentum = 0.9;
        double[] p = new double[classes];
        for (int it = 0; it < iterations; it++) {
            for (int c = 0; c < classes; c++) {
                for (int j = 0; j <= d; j++) look[c][j] = w[c][j] + momentum * v[c][j];
                Arrays.fill(g[c], 0);
            }
            for (int i = 0; i < n; i++) {
                probabilities(look, z[i], p);
                for (int c = 0; c < classes; c++) {
                    double r = (p[c] - (c == y[i] ? 1 : 0)) / n;
                    double[] gc = g[c];
                    for (int j = 0; j < d; j++) gc[j] += r * z[i][j];
                    gc[d] += r;
                }
            }
            for (int c = 0; c < classes; c++)
                for (int j = 0; j <= d; j++) {
                    double grad = g[c][j] + (j < d ? l2 * look[c][j] : 0);
                    v[c][j] = momentum * v[c][j] - lr * grad;
                    w[c][j] += v[c][j];
                }
        }
        return new SoftmaxRegression(mean, scale, w);
    }

    public double[] probabilities(double[] features) {
        double[] p = new double[w.length];
        probabilities(w, standardize(features, mean, scale), p);
        return p;
    }

    private static double[] standardize(double[] r, double[] mean, double[] scale) {
        double[] z = new double[r.length];
        for (int j = 0; j < r.length; j++) z[j] = (r[j] - mean[j]) * scale[j];
        return z;
    }

    private static void probabilities(double[][] w, double[] z, double[] p) {
        int d = z.length;
        double max = Double.NEGATIVE_INFINITY;
        for (int c = 0; c < w.length; c++) {
            double s = w[c][d];
            for (int j = 0; j < d; j++) s += w[c][j] * z[j];
            p[c] = s;
            max = Math.max(max, s);
        }
        double sum = 0;
        for (int c = 0; c < w.length; c++) sum += p[c] = Math.exp(p[c] - max);
        for (int c = 0; c < w.length; c++) p[c] /= sum;
    }
}
