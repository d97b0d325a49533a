package org.ssmtk.core.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Arrays;
import java.util.List;

/**
 * Accuracy, per-class precision and recall, the confusion matrix (rows: true class, columns:
 * predicted) and, for two classes, ROC-AUC of the second class's probability. The prediction is
 * the most probable class (the first on ties).
 */
public record ClassificationMetrics(List<String> classes, long[][] confusion, double rocAuc) {

    public static ClassificationMetrics of(List<String> classes, int[] truth, double[][] probabilities) {
        int k = classes.size();
        long[][] confusion = new long[k][k];
        for (int i = 0; i < truth.length; i++) confusion[truth[i]][argmax(probabilities[i])]++;
        double auc = Double.NaN;
        if (k == 2) {
            double[] score = new double[truth.length];
            boolean[] positive = new boolean[truth.length];
            for (int i = 0; i < truth.length; i++) {
                score[i] = probabilities[i][1];
                positive[i] = truth[i] == 1;
            }
            auc = rocAuc(score, positive);
        }
        return new ClassificationMetrics(List.copyOf(classes), confusion, auc);
    }

    public static int argmax(double[] p) {
        int best = 0;
        for (int c = 1; c < p.length; c++) if (p[c] > p[best]) best = c;
        return best;
    }

    /**
     * Mann-Whitney form: the probability that a random positive scores above a random negative,
     * ties counting one half (average ranks). NaN when one of the two groups is empty.
     */
    public static double rocAuc(double[] score, boolean[] positive) {
        int n = score.length;
        Integer[] order = new Integer[n];
        for (int i = 0; i < n; i++) order[i] = i;
        Arrays.sort(order, (a, b) -> Double.compare(score[a], score[b]));
        double rankSum = 0;
        long pos = 0;
        for (int i = 0; i < n; ) {
            int j = i;
            while (j + 1 < n && score[order[j + 1]] == score[order[i]]) j++;
            double rank = (i + j) / 2.0 + 1;
            for (int t = i; t <= j; t++) if (positive[order[t]]) { rankSum += rank; pos++; }
            i = j + 1;
        }
        long neg = n - pos;
        if (pos == 0 || neg == 0) return Double.NaN;
        return (rankSum - pos * (pos + 1) / 2.0) / ((double) pos * neg);
    }

    public long total() {
        long t = 0;
        for (long[] row : confusion) for (long v : row) t += v;
        return t;
    }

    public double accuracy() {
        long right = 0;
        for (int c = 0; c < confusion.length; c++) right += confusion[c][c];
        return total() == 0 ? Double.NaN : (double) right / total();
    }

    /** NaN when nothing was predicted as class c. */
    public double precision(int c) {
        long predicted = 0;
        for (long[] row : confusion) predicted += row[c];
        return predicted == 0 ? Double.NaN : (double) confusion[c][c] / predicted;
    }

    /** NaN when class c has no examples. */
    public double recall(int c) {
        long actual = Arrays.stream(confusion[c]).sum();
        return actual == 0 ? Double.NaN : (double) confusion[c][c] / actual;
    }

    /** F1 of class c: the harmonic mean of its precision and recall (NaN when both are undefined or zero). */
    public double f1(int c) {
        double p = precision(c), r = recall(c);
        return Double.isNaN(p) || Double.isNaN(r) || p + r == 0 ? Double.NaN : 2 * p * r / (p + r);
    }

    /**
     * Mean F1 over the classes that occur (as truth or as prediction), as scikit-learn computes it: a
     * class that occurs without an F1 (never predicted, or never right) counts 0, so one bad class cannot hide.
     */
    public double macroF1() {
        double sum = 0;
        int n = 0;
        for (int c = 0; c < classes.size(); c++) {
            if (Double.isNaN(precision(c)) && Double.isNaN(recall(c))) continue;
            double f = f1(c);
            sum += Double.isNaN(f) ? 0 : f;
            n++;
        }
        return n == 0 ? Double.NaN : sum / n;
    }

    /** NaN becomes JSON null, so an undefined value is not mistaken for a number. */
    public ObjectNode toJson() {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("examples", total());
        number(n, "accuracy", accuracy());
        number(n, "macro_f1", macroF1());
        ObjectNode per = n.putObject("per_class");
        for (int c = 0; c < classes.size(); c++) {
            ObjectNode o = per.putObject(classes.get(c));
            o.put("examples", Arrays.stream(confusion[c]).sum());
            number(o, "precision", precision(c));
            number(o, "recall", recall(c));
            number(o, "f1", f1(c));
        }
        ObjectNode cm = n.putObject("confusion_matrix");
        classes.forEach(cm.putArray("classes")::add);
        cm.put("rows", "true class").put("columns", "predicted class");
        ArrayNode rows = cm.putArray("counts");
        for (long[] row : confusion) {
            ArrayNode r = rows.addArray();
            for (long v : row) r.add(v);
        }
        if (classes.size() == 2) {
            number(n, "roc_auc", rocAuc);
            n.put("roc_auc_positive_class", classes.get(1));
        }
        return n;
    }

    private static void number(ObjectNode n, String key, double v) {
        if (Double.isNaN(v)) n.putNull(key);
        else n.put(key, v);
    }
}
