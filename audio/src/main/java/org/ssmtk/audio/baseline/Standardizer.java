package org.ssmtk.audio.baseline;

import org.ssmtk.core.eval.SoftmaxRegression;

/**
 * Per-feature standardization fitted on the training rows: (x - mean) / std, so that features on
 * very different scales (MFCC c0 against the others, means against standard deviations) reach the
 * regression on one scale. A feature constant in training maps to 0.
 */
public record Standardizer(double[] mean, double[] scale) {
    public static Standardizer fit(double[][] x) {
        if (x.length == 0) throw new IllegalArgumentException("no rows to standardize");
        int n = x.length, d = x[0].length;
        double[] mean = new double[d], scale = new double[d];
        for (double[] r : x) {
            if (r.length != d) throw new IllegalArgumentException("rows of different lengths: " + d + " and " + r.length);
            for (int j = 0; j < d; j++) mean[j] += r[j] / n;
        }
        for (double[] r : x) for (int j = 0; j < d; j++) scale[j] += (r[j] - mean[j]) * (r[j] - mean[j]) / n;
        for (int j = 0; j < d; j++) scale[j] = scale[j] > 1e-24 ? 1 / Math.sqrt(scale[j]) : 0;
        return new Standardizer(mean, scale);
    }

    public int dimensions() {
        return mean.length;
    }

    /** One row standardized, as the regression's (dense) feature vector. */
    public SoftmaxRegression.Features apply(double[] row) {
        if (row.length != mean.length) throw new IllegalArgumentException(row.length + " features, fitted on " + mean.length);
        double[] z = new double[row.length];
        for (int j = 0; j < row.length; j++) z[j] = (row[j] - mean[j]) * scale[j];
        return SoftmaxRegression.Features.dense(z);
    }
}
