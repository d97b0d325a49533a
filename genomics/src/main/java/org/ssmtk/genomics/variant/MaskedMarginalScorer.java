package org.ssmtk.genomics.variant;

import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.nn.MambaModel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Variant scores under a masked (bidirectional) DNA model, Caduceus: the masked marginal. The
 * window's REF span is replaced by [MASK] once, one forward reads it, and at each masked position t
 * the score adds ln p(ALT base at t) - ln p(REF base at t). Both terms share the softmax of row t,
 * so the difference is that of the two logits: the normaliser (the whole vocabulary or A/C/G/T
 * only) does not matter, which is why the logits are read directly.
 * <p>
 * Strands: a Caduceus-PS head already sums both strands at every position (W a[t] + W[complement]
 * b[t]), so its score is that of the reverse complement too (tested) and {@code rcAverage} adds
 * nothing there. For other models {@code rcAverage} also scores the reverse-complement window,
 * masked at the mirrored span, with complemented bases, and averages the two.
 * <p>
 * A bidirectional model sees every position, so windows cannot be padded: one forward holds
 * windows of one length only (all of them but those on contigs shorter than the window).
 */
public final class MaskedMarginalScorer {
    /**
     * One variant record: its window (model ids), where REF starts in it, REF's ids and, per ALT,
     * ids of REF's length (null: that ALT is not scored here).
     */
    public record Query(int[] window, int offset, int[] ref, int[][] alts) {
        public Query {
            if (offset < 0 || offset + ref.length > window.length)
                throw new IllegalArgumentException("REF [" + offset + ", " + (offset + ref.length) + ") outside a window of " + window.length);
            for (int[] a : alts)
                if (a != null && a.length != ref.length)
                    throw new IllegalArgumentException("an ALT of " + a.length + " bases for a REF of " + ref.length + ": masked marginals score substitutions");
        }
    }

    private final MambaModel model;
    private final int mask;
    private final int[] complement;
    private final int batch;
    private final boolean rcRows;
    private long bases;

    /**
     * @param mask       the model's [MASK] id
     * @param complement the model's complement map (config.json's complement_map), used for the reverse-complement rows
     * @param rcAverage  average with the reverse-complement window (a no-op, and not run, on a two-strand model)
     */
    public MaskedMarginalScorer(MambaModel model, int mask, int[] complement, int batch, boolean rcAverage) {
        if (batch < 1) throw new IllegalArgumentException("batch must be >= 1, got " + batch);
        this.model = model;
        this.mask = mask;
        this.complement = complement.clone();
        this.batch = batch;
        this.rcRows = rcAverage && model.strands() == 1;
    }

    /** True when scores average a separate reverse-complement forward (rcAverage on a one-strand model). */
    public boolean runsReverseComplement() {
        return rcRows;
    }

    /** Per query, per ALT: the score (NaN for an ALT given as null). */
    public double[][] score(List<Query> queries) {
        double[][] out = new double[queries.size()][];
        for (int q = 0; q < queries.size(); q++) {
            out[q] = new double[queries.get(q).alts().length];
            java.util.Arrays.fill(out[q], Double.NaN);
        }
        Map<Integer, List<Integer>> byLength = new LinkedHashMap<>();
        for (int q = 0; q < queries.size(); q++) {
            boolean any = false;
            for (int[] a : queries.get(q).alts()) any |= a != null;
            if (any) byLength.computeIfAbsent(queries.get(q).window().length, k -> new ArrayList<>()).add(q);
        }
        int per = rcRows ? 2 : 1, stride = model.config().paddedVocabSize();
        int queriesPerForward = Math.max(1, batch / per);
        for (var e : byLength.entrySet()) {
            int len = e.getKey();
            List<Integer> group = e.getValue();
            for (int from = 0; from < group.size(); from += queriesPerForward) {
                int n = Math.min(queriesPerForward, group.size() - from), rows = n * per;
                // at least CpuBackend.MATMUL_KERNEL_ROWS token rows (copies of the last rows added), as in
                // CausalWindowScorer: a query's score must not depend on how many share its forward
                int run = Math.max(rows, ((CpuBackend.MATMUL_KERNEL_ROWS + len - 1) / len + per - 1) / per * per);
                int[] ids = new int[run * len];
                for (int i = 0; i < n; i++) {
                    Query q = queries.get(group.get(from + i));
                    int row = i * per * len;
                    System.arraycopy(q.window(), 0, ids, row, len);
                    for (int t = 0; t < q.ref().length; t++) ids[row + q.offset() + t] = mask;
                    if (rcRows) // the same masked window read from the other strand
                        for (int t = 0; t < len; t++) ids[row + len + t] = complement[ids[row + len - 1 - t]];
                }
                for (int r = rows; r < run; r++) System.arraycopy(ids, (r - per) * len, ids, r * len, len);
                float[] logits = model.forward(ids, run, len);
                bases += (long) run * len;
                for (int i = 0; i < n; i++) {
                    int qi = group.get(from + i);
                    Query q = queries.get(qi);
                    long row = (long) i * per * len;
                    for (int a = 0; a < q.alts().length; a++) {
                        int[] alt = q.alts()[a];
                        if (alt == null) continue;
                        double s = 0;
                        for (int t = 0; t < alt.length; t++) {
                            long at = (row + q.offset() + t) * stride;
                            s += (double) logits[(int) (at + alt[t])] - logits[(int) (at + q.ref()[t])];
                        }
                        if (rcRows) {
                            double r = 0;
                            for (int t = 0; t < alt.length; t++) {
                                long at = (row + len + len - 1 - (q.offset() + t)) * stride;
                                r += (double) logits[(int) (at + complement[alt[t]])] - logits[(int) (at + complement[q.ref()[t]])];
                            }
                            s = 0.5 * (s + r);
                        }
                        out[qi][a] = s;
                    }
                }
            }
        }
        return out;
    }

    /** Positions run through the model so far: the work done, for throughput. */
    public long bases() {
        return bases;
    }
}
