package org.ssmtk.core.nn;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.tensor.Tensor;

/**
 * How the shared stack reads a sequence: as itself ({@link #ONE}), or as itself and its reverse
 * complement through the same weights (Caduceus-PS, reverse-complement parameter sharing).
 *
 * <p>Caduceus' RCPS modules carry a (batch, len, 2 d) tensor whose second half is a strand flipped
 * along both length and channels, and apply each module's weights to the first half and to the
 * flipped-back second half. Undoing that flip once at the embedding and once at the head leaves two
 * strands that every block treats alike: the sequence, and its reverse complement read 5' to 3'
 * (the embedding of {@code complement[ids]} reversed). So the stack runs them as one batch of
 * 2 * batch sequences, strand-major: rows [0, batch * len) are the forward strand, the rest the
 * reverse-complement strand. Only two things are not per strand:
 * <ul>
 * <li>the head: logits[t] = W a[t] + W[complement] b[len - 1 - t], which the RCPS LM head computes;
 * <li>with fused_add_norm, Caduceus' RCPS block hands the add+norm the reverse-complement half in the
 *     forward slot and the forward half in the other (its unfused wrapper does not). In strand terms
 *     each layer first exchanges the strands, each flipped along length and channels:
 *     (a, b) -> (F b, F a). {@link #swapsEachLayer} says when; the exchange is a permutation that is
 *     its own inverse, so its backward is the same exchange.
 * </ul>
 * The final hidden states the stack returns hold the reverse-complement strand re-aligned to forward
 * positions (row batch * len + b * len + t is strand b at the base of forward position t, channels in
 * that strand's order), so that heads and pooling read both strands of a position side by side.
 */
public final class Strands {
    /** One strand: the stack reads the sequence as it is. */
    public static final Strands ONE = new Strands(null, false);

    private final int[] complement;
    private final boolean swapEachLayer;

    private Strands(int[] complement, boolean swapEachLayer) {
        this.complement = complement;
        this.swapEachLayer = swapEachLayer;
    }

    static Strands reverseComplement(int[] complement, boolean swapEachLayer) {
        return new Strands(complement.clone(), swapEachLayer);
    }

    /** 1, or 2 under reverse-complement parameter sharing. */
    public int count() {
        return complement == null ? 1 : 2;
    }

    boolean swapsEachLayer() {
        return swapEachLayer;
    }

    /** The ids the stack embeds: the input, then (two strands) each sequence's reverse complement. */
    int[] ids(int[] ids, int batch, int len) {
        if (complement == null) return ids;
        int[] out = new int[2 * ids.length];
        System.arraycopy(ids, 0, out, 0, ids.length);
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < len; t++) {
                int id = ids[b * len + len - 1 - t];
                if (id < 0 || id >= complement.length)
                    throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + complement.length + ")");
                out[ids.length + b * len + t] = complement[id];
            }
        return out;
    }

    /** out = (F b, F a) of in = (a, b), each strand batch sequences of len rows. */
    void swap(Backend backend, Tensor out, Tensor in, int batch, int len) {
        int rows = batch * len, all = 2 * rows;
        backend.reverseSequences(out.rows(0, rows), in.rows(rows, all), batch, len, true);
        backend.reverseSequences(out.rows(rows, all), in.rows(0, rows), batch, len, true);
    }

    /**
     * out = in with the reverse-complement strand's positions reversed: stack order to forward
     * positions, and (being its own inverse) back; the backward of that is the same call.
     */
    void alignStrands(Backend backend, Tensor out, Tensor in, int batch, int len) {
        int rows = batch * len, all = 2 * rows;
        backend.copy(out.rows(0, rows), in.rows(0, rows));
        backend.reverseSequences(out.rows(rows, all), in.rows(rows, all), batch, len, false);
    }

    /** W[complement]: the head's rows for the reverse-complement strand. */
    Tensor complementRows(Backend backend, Tensor head) {
        Tensor out = backend.allocate(head.shape());
        backend.embedding(out, complement, head);
        return out;
    }

    /** logits (rows, vocab) = W a + W[complement] b of aligned hidden (2 rows, hidden). */
    void logits(Backend backend, Tensor out, Tensor hidden, Tensor head) {
        int rows = hidden.rows2d() / 2;
        backend.linear(out, hidden.rows(0, rows), head, null);
        Tensor rc = backend.allocate(out.shape());
        backend.linear(rc, hidden.rows(rows, 2 * rows), complementRows(backend, head), null);
        backend.add(out, out, rc);
    }

    /** Backward of {@link #logits}: dHidden (2 rows, hidden) += ..., dHead += ... (its rows permuted back). */
    void logitsBackward(Backend backend, Tensor dHidden, Tensor dHead, Tensor dLogits, Tensor hidden, Tensor head) {
        int rows = hidden.rows2d() / 2;
        backend.linearBackward(dHidden.rows(0, rows), dHead, null, dLogits, hidden.rows(0, rows), head);
        Tensor dRc = backend.allocate(head.shape());
        backend.linearBackward(dHidden.rows(rows, 2 * rows), dRc, null, dLogits, hidden.rows(rows, 2 * rows),
                complementRows(backend, head));
        backend.embeddingBackward(dHead, complement, dRc);
    }
}
