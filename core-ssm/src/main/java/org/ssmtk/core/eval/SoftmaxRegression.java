package org.ssmtk.core.eval;

import java.util.List;

/**
 * Multinomial logistic regression (softmax over classes, weights + bias, L2 on the weights) on
 * sparse feature vectors, fitted by full-batch Adam on the mean cross-entropy. Deterministic: the
 * weights start at zero and every sum runs in a fixed order. The baseline every domain's learned
 * classifier is measured against (DNA k-mer counts, audio MFCC statistics), so deliberately plain.
 */
public final class SoftmaxRegression {
    private final int classes, dims;
    private final double[] weights; // classes x dims
    private final double[] bias;

    private SoftmaxRegression(int classes, int dims) {
        this.classes = classes;
        this.dims = dims;
        this.weights = new double[classes * dims];
        this.bias = new double[classes];
    }

    /** A feature vector: the values at the given indices, every other feature zero. */
    public record Features(int[] index, float[] value) {
        /** All of v, as one index per element. */
        public static Features dense(double[] v) {
            int[] index = new int[v.length];
            float[] value = new float[v.length];
            for (int i = 0; i < v.length; i++) {
                index[i] = i;
                value[i] = (float) v[i];
            }
            return new Features(index, value);
        }
    }

    /** One fitting iteration's result, for progress reports. */
    public interface Progress {
        void iteration(int iteration, double loss);
    }

    /**
     * @param x      training vectors (indices below {@code dims})
     * @param y      their classes in [0, classes)
     * @param l2     weight decay: the loss adds l2/2 * |W|^2
     */
    public static SoftmaxRegression fit(List<Features> x, int[] y, int classes, int dims, int iterations, double lr, double l2,
                                        Progress progress) {
        if (x.size() != y.length) throw new IllegalArgumentException(x.size() + " vectors but " + y.length + " labels");
        if (x.isEmpty()) throw new IllegalArgumentException("no training vectors");
        if (classes < 2) throw new IllegalArgumentException("need at least 2 classes, got " + classes);
        SoftmaxRegression m = new SoftmaxRegression(classes, dims);
        int params = classes * dims + classes;
        double[] grad = new double[params], mom = new double[params], vel = new double[params];
        double b1 = 0.9, b2 = 0.999, eps = 1e-8;
        double[] p = new double[classes];
        for (int it = 1; it <= iterations; it++) {
            java.util.Arrays.fill(grad, 0);
            double loss = 0;
            for (int i = 0; i < x.size(); i++) {
                Features v = x.get(i);
                m.logits(v, p);
                loss += softmaxInPlace(p, y[i]);
                p[y[i]] -= 1; // d loss / d logit
                for (int c = 0; c < classes; c++) {
                    double g = p[c];
                    if (g == 0) continue;
                    int row = c * dims;
                    for (int j = 0; j < v.index().length; j++) grad[row + v.index()[j]] += g * v.value()[j];
                    grad[classes * dims + c] += g;
                }
            }
            double n = x.size(), wsq = 0;
            for (double w : m.weights) wsq += w * w;
            loss = loss / n + l2 / 2 * wsq;
            for (int q = 0; q < params; q++) {
                double g = grad[q] / n + (q < classes * dims ? l2 * m.weights[q] : 0);
                mom[q] = b1 * mom[q] + (1 - b1) * g;
                vel[q] = b2 * vel[q] + (1 - b2) * g * g;
                double step = lr * (mom[q] / (1 - Math.pow(b1, it))) / (Math.sqrt(vel[q] / (1 - Math.pow(b2, it))) + eps);
                if (q < classes * dims) m.weights[q] -= step;
                else m.bias[q - classes * dims] -= step;
            }
            if (progress != null) progress.iteration(it, loss);
        }
        return m;
    }

    private void logits(Features v, double[] out) {
        for (int c = 0; c < classes; c++) {
            double s = bias[c];
            int row = c * dims;
            for (int j = 0; j < v.index().length; j++) s += weights[row + v.index()[j]] * v.value()[j];
            out[c] = s;
        }
    }

    /** Turns logits into probabilities in place; returns -log p[label] (label < 0: not needed). */
    private static double softmaxInPlace(double[] p, int label) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (double v : p) max = Math.max(max, v);
        for (int c = 0; c < p.length; c++) sum += p[c] = Math.exp(p[c] - max);
        double nll = label < 0 ? 0 : -(Math.log(p[label]) - Math.log(sum));
        for (int c = 0; c < p.length; c++) p[c] /= sum;
        return nll;
    }

    /** Class probabilities of one vector. */
    public double[] probabilities(Features v) {
        double[] p = new double[classes];
        logits(v, p);
        softmaxInPlace(p, -1);
        return p;
    }

    public int classes() {
        return classes;
    }
}
