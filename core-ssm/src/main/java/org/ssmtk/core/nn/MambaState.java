package org.ssmtk.core.nn;

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

    /** Bytes of state per sequence, summed over layers. */
    public long bytesPerSequence() {
        long n = 0;
        for (Mixer.State s : layers) for (var t : s.tensors()) n += t.size();
        return n * Float.BYTES / batch;
    }
}
