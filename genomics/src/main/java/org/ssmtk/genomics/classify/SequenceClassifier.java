package org.ssmtk.genomics.classify;

import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.util.List;

/** Class probabilities of DNA windows through a model's classification head. */
public final class SequenceClassifier {
    private SequenceClassifier() {}

    /**
     * Softmax probabilities (windows.size() x classes) of windows that all have one length, run
     * {@code batch} at a time. With {@code rcAverage} each window's probabilities are the mean of its
     * forward and reverse-complement readings: a sequence and its reverse complement are the same
     * DNA, so the prediction should not depend on which strand the file happens to hold.
     */
    public static double[][] probabilities(MambaModel model, List<int[]> windows, int batch, boolean rcAverage) {
        int k = model.config().numLabels();
        double[][] out = new double[windows.size()][];
        for (int from = 0; from < windows.size(); from += batch) {
            int n = Math.min(batch, windows.size() - from), len = windows.get(from).length;
            int[] ids = new int[n * len];
            for (int i = 0; i < n; i++) {
                int[] w = windows.get(from + i);
                if (w.length != len) throw new IllegalArgumentException("windows of one call must share a length");
                System.arraycopy(w, 0, ids, i * len, len);
            }
            double[][] p = softmax(model.classify(ids, n, len), n, k);
            if (rcAverage) {
                for (int i = 0; i < n; i++) DnaVocabulary.reverseComplement(ids, i * len, len);
                double[][] q = softmax(model.classify(ids, n, len), n, k);
                for (int i = 0; i < n; i++)
                    for (int c = 0; c < k; c++) p[i][c] = (p[i][c] + q[i][c]) / 2;
            }
            System.arraycopy(p, 0, out, from, n);
        }
        return out;
    }

    static double[][] softmax(float[] logits, int n, int k) {
        double[][] p = new double[n][k];
        for (int i = 0; i < n; i++) {
            double max = Double.NEGATIVE_INFINITY, sum = 0;
            for (int c = 0; c < k; c++) max = Math.max(max, logits[i * k + c]);
            for (int c = 0; c < k; c++) sum += p[i][c] = Math.exp(logits[i * k + c] - max);
            for (int c = 0; c < k; c++) p[i][c] /= sum;
        }
        return p;
    }

    /**
     * Consecutive, non-overlapping windows of {@code len} ids tiling {@code regions}, at most
     * {@code max} of them spread evenly over all (so a capped evaluation still covers every contig).
     */
    public static List<int[]> tile(List<org.ssmtk.genomics.sample.Region> regions, int len, int max) {
        List<int[]> all = new java.util.ArrayList<>();
        for (var r : regions)
            for (int s = r.start(); s + len <= r.end(); s += len) {
                int[] w = new int[len];
                for (int t = 0; t < len; t++) w[t] = r.ids()[s + t];
                all.add(w);
            }
        if (all.size() <= max) return all;
        List<int[]> picked = new java.util.ArrayList<>(max);
        for (int i = 0; i < max; i++) picked.add(all.get((int) ((long) i * all.size() / max)));
        return picked;
    }

    /**
     * Probabilities (seqs.size() x classes) of whole sequences of any length (DNA ids, as from
     * {@link DnaVocabulary#encode}). A sequence of at most {@code seqLen} is read in one window; a
     * longer one in windows of exactly {@code seqLen} tiling it, the last one ending at its end
     * (overlapping its neighbour rather than being shorter: the model was trained on that length), and
     * its probabilities are the mean of its windows'. Windows of one length share forward passes.
     */
    public static double[][] meanOverWindows(MambaModel model, List<byte[]> seqs, int seqLen, int batch, boolean rcAverage) {
        if (seqLen < 1) throw new IllegalArgumentException("window length must be >= 1, got " + seqLen);
        int k = model.config().numLabels();
        java.util.Map<Integer, List<int[]>> byLength = new java.util.LinkedHashMap<>();
        java.util.Map<Integer, List<Integer>> owners = new java.util.LinkedHashMap<>();
        int[] windowsOf = new int[seqs.size()];
        for (int i = 0; i < seqs.size(); i++) {
            byte[] s = seqs.get(i);
            if (s.length == 0) throw new IllegalArgumentException("sequence " + i + " is empty");
            int len = Math.min(seqLen, s.length);
            for (int from = 0; ; from += len) {
                int start = Math.min(from, s.length - len);
                int[] w = new int[len];
                for (int t = 0; t < len; t++) w[t] = s[start + t];
                byLength.computeIfAbsent(len, x -> new java.util.ArrayList<>()).add(w);
                owners.computeIfAbsent(len, x -> new java.util.ArrayList<>()).add(i);
                windowsOf[i]++;
                if (start + len >= s.length) break;
            }
        }
        double[][] out = new double[seqs.size()][k];
        for (var e : byLength.entrySet()) {
            double[][] p = probabilities(model, e.getValue(), batch, rcAverage);
            List<Integer> own = owners.get(e.getKey());
            for (int w = 0; w < p.length; w++)
                for (int c = 0; c < k; c++) out[own.get(w)][c] += p[w][c];
        }
        for (int i = 0; i < out.length; i++)
            for (int c = 0; c < k; c++) out[i][c] /= windowsOf[i];
        return out;
    }
}
