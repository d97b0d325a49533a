package org.ssmtk.core.classify;

import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.nn.MambaModel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Class probabilities of token windows through a model's classification head, whatever the tokens stand for. */
public final class SequenceClassifier {
    private SequenceClassifier() {}

    /**
     * A second reading of the same sequence that must get the same class, rewriting ids in place
     * (DNA: the reverse complement, since a sequence and its reverse complement are the same
     * molecule). Probabilities are averaged over both readings.
     */
    @FunctionalInterface
    public interface Reading {
        void rewrite(int[] ids, int from, int len);
    }

    /**
     * Softmax probabilities (windows.size() x classes) of windows that all have one length, run
     * {@code batch} at a time; with {@code twin} (null: none) each window's probabilities are the mean
     * of its own and its twin reading's.
     */
    public static double[][] probabilities(MambaModel model, List<int[]> windows, int batch, Reading twin) {
        int k = model.config().numLabels();
        double[][] out = new double[windows.size()][];
        for (int from = 0; from < windows.size(); from += batch) {
            int n = Math.min(batch, windows.size() - from), len = windows.get(from).length;
            int rows = paddedWindows(n, len, batch);
            int[] ids = new int[rows * len];
            for (int i = 0; i < rows; i++) {
                int[] w = windows.get(from + Math.min(i, n - 1)); // padding: copies of the last window, their outputs dropped
                if (w.length != len) throw new IllegalArgumentException("windows of one call must share a length");
                System.arraycopy(w, 0, ids, i * len, len);
            }
            double[][] p = softmax(model.classify(ids, rows, len), n, k);
            if (twin != null) {
                for (int i = 0; i < rows; i++) twin.rewrite(ids, i * len, len);
                double[][] q = softmax(model.classify(ids, rows, len), n, k);
                for (int i = 0; i < n; i++)
                    for (int c = 0; c < k; c++) p[i][c] = (p[i][c] + q[i][c]) / 2;
            }
            System.arraycopy(p, 0, out, from, n);
        }
        return out;
    }

    /**
     * How many windows a forward pass of {@code n} windows of {@code len} tokens runs, padding included,
     * so that a window's probabilities are the same bits whatever it shares the pass with: the CPU
     * matmuls switch kernels at {@link CpuBackend#MATMUL_KERNEL_ROWS} rows (which sum in different
     * orders), and a pass's token rows (windows x len, the backbone's) are kept at or above that, its
     * window rows (the head's) below it unless {@code batch} itself reaches it. Then the reads of a
     * scattered classify-reads shard get the unsplit run's numbers byte for byte, however the shards cut
     * its passes. Padding costs little: only passes of few, short windows grow.
     */
    static int paddedWindows(int n, int len, int batch) {
        int rows = Math.max(n, (CpuBackend.MATMUL_KERNEL_ROWS + len - 1) / len);
        return batch >= CpuBackend.MATMUL_KERNEL_ROWS ? Math.max(rows, CpuBackend.MATMUL_KERNEL_ROWS) : rows;
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
     * Probabilities (seqs.size() x classes) of whole sequences of any length. A sequence of at most
     * {@code seqLen} is read in one window; a longer one in windows of exactly {@code seqLen} tiling
     * it, the last one ending at its end (overlapping its neighbour rather than being shorter: the
     * model was trained on that length), and its probabilities are the mean of its windows'. Windows
     * of one length share forward passes.
     */
    public static double[][] meanOverWindows(MambaModel model, List<int[]> seqs, int seqLen, int batch, Reading twin) {
        int k = model.config().numLabels();
        Tiling t = Tiling.of(seqs, seqLen);
        double[][] out = new double[seqs.size()][k];
        for (var e : t.byLength.entrySet()) {
            double[][] p = probabilities(model, e.getValue(), batch, twin);
            t.addUp(e.getKey(), p, out);
        }
        t.divide(out);
        return out;
    }

    /** Class probabilities and the pooled hidden state the head reads (the embedding), each sequence's the mean of its windows'. */
    public record Readout(double[][] probabilities, double[][] embeddings) {}

    /**
     * {@link #meanOverWindows} (without a twin reading) that also keeps each window's pooled hidden
     * state, the input of the classification head: what a Fréchet distance between sets of
     * sequences is computed on.
     */
    public static Readout readOut(MambaModel model, List<int[]> seqs, int seqLen, int batch) {
        int k = model.config().numLabels(), h = model.config().hiddenSize();
        Tiling t = Tiling.of(seqs, seqLen);
        double[][] prob = new double[seqs.size()][k], emb = new double[seqs.size()][h];
        for (var e : t.byLength.entrySet()) {
            List<int[]> windows = e.getValue();
            int len = e.getKey();
            double[][] p = new double[windows.size()][], v = new double[windows.size()][h];
            for (int from = 0; from < windows.size(); from += batch) {
                int n = Math.min(batch, windows.size() - from);
                int[] ids = new int[n * len];
                for (int i = 0; i < n; i++) System.arraycopy(windows.get(from + i), 0, ids, i * len, len);
                var backend = model.backend();
                var hidden = model.backbone(ids, n, len, null, null);
                var pooled = model.pool(hidden, n, len);
                var logits = model.classify(pooled);
                float[] pooledHost = backend.toHost(pooled), logitsHost = backend.toHost(logits);
                backend.release(logits);
                backend.release(pooled);
                backend.release(hidden);
                System.arraycopy(softmax(logitsHost, n, k), 0, p, from, n);
                for (int i = 0; i < n; i++)
                    for (int j = 0; j < h; j++) v[from + i][j] = pooledHost[i * h + j];
            }
            t.addUp(len, p, prob);
            t.addUp(len, v, emb);
        }
        t.divide(prob);
        t.divide(emb);
        return new Readout(prob, emb);
    }

    /**
     * Windows of sequences grouped by length: a sequence of at most seqLen is one window, a longer
     * one is tiled by windows of exactly seqLen, the last ending at its end.
     */
    private record Tiling(Map<Integer, List<int[]>> byLength, Map<Integer, List<Integer>> owners, int[] windowsOf) {
        static Tiling of(List<int[]> seqs, int seqLen) {
            if (seqLen < 1) throw new IllegalArgumentException("window length must be >= 1, got " + seqLen);
            Map<Integer, List<int[]>> byLength = new LinkedHashMap<>();
            Map<Integer, List<Integer>> owners = new LinkedHashMap<>();
            int[] windowsOf = new int[seqs.size()];
            for (int i = 0; i < seqs.size(); i++) {
                int[] s = seqs.get(i);
                if (s.length == 0) throw new IllegalArgumentException("sequence " + i + " is empty");
                int len = Math.min(seqLen, s.length);
                for (int from = 0; ; from += len) {
                    int start = Math.min(from, s.length - len);
                    byLength.computeIfAbsent(len, x -> new ArrayList<>()).add(java.util.Arrays.copyOfRange(s, start, start + len));
                    owners.computeIfAbsent(len, x -> new ArrayList<>()).add(i);
                    windowsOf[i]++;
                    if (start + len >= s.length) break;
                }
            }
            return new Tiling(byLength, owners, windowsOf);
        }

        /** Adds window rows of the windows of length len into their sequences' rows. */
        void addUp(int len, double[][] windowRows, double[][] out) {
            List<Integer> own = owners.get(len);
            for (int w = 0; w < windowRows.length; w++)
                for (int c = 0; c < windowRows[w].length; c++) out[own.get(w)][c] += windowRows[w][c];
        }

        void divide(double[][] out) {
            for (int i = 0; i < out.length; i++)
                for (int c = 0; c < out[i].length; c++) out[i][c] /= windowsOf[i];
        }
    }

    /**
     * At most {@code max} of {@code all}, spread evenly (so a capped evaluation still covers every
     * contig or file), in order.
     */
    public static List<int[]> spread(List<int[]> all, int max) {
        if (all.size() <= max) return all;
        List<int[]> picked = new ArrayList<>(max);
        for (int i = 0; i < max; i++) picked.add(all.get((int) ((long) i * all.size() / max)));
        return picked;
    }
}
