package org.ssmtk.core.nn;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.tensor.Tensor;

/**
 * What a model remembers of the tokens it has consumed: one {@link Mixer.State} per layer (for
 * Mamba-1 the last conv_kernel - 1 conv inputs and the SSM state h). Its size does not depend on how
 * many tokens were consumed, which is what makes streaming and generation O(1) in memory per token.
 */
public final class MambaState {
    private final int batch;
    private final Mixer.State[] layers;
    private long position;

    MambaState(Mixer[] mixers, int batch) {
        if (batch < 1) throw new IllegalArgumentException("batch must be at least 1");
        this.batch = batch;
        layers = new Mixer.State[mixers.length];
        for (int i = 0; i < mixers.length; i++) layers[i] = mixers[i].newState(batch);
    }

    public int batch() {
        return batch;
    }

    /** Tokens consumed per sequence so far. */
    public long position() {
        return position;
    }

    void advance(int tokens) {
        position += tokens;
    }

    Mixer.State layer(int i) {
        return layers[i];
    }

    /**
     * Copies sequence fromRow of from (a state of the same model) into sequence row of this one:
     * what batching sequences that read prompts of different lengths needs. The batch's
     * {@link #position} stays this state's own count.
     */
    public void copySequence(Backend backend, int row, MambaState from, int fromRow) {
        if (from.layers.length != layers.length) throw new IllegalArgumentException("states of models of different depths");
        if (row < 0 || row >= batch || fromRow < 0 || fromRow >= from.batch)
            throw new IndexOutOfBoundsException("sequence " + fromRow + " of " + from.batch + " into " + row + " of " + batch);
        for (int i = 0; i < layers.length; i++) {
            Tensor[] to = layers[i].tensors(), src = from.layers[i].tensors();
            for (int j = 0; j < to.length; j++) backend.copy(to[j].rows(row, row + 1), src[j].rows(fromRow, fromRow + 1));
        }
    }

    /** Gives the state's memory back to the backend now (it is not used after). */
    public void release(Backend backend) {
        for (Mixer.State s : layers) for (Tensor t : s.tensors()) backend.release(t);
    }

    /** Bytes of state per sequence, summed over layers. */
    public long bytesPerSequence() {
        long n = 0;
        for (Mixer.State s : layers) for (var t : s.tensors()) n += t.size();
        return n * Float.BYTES / batch;
    }
}
