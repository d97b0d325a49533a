package org.ssmtk.core.nn;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.tensor.Tensor;

/**
 * What a Mamba model remembers of the tokens it has consumed, per layer: the last conv_kernel - 1
 * inputs of the causal conv (batch, width - 1, d_inner) and the SSM state h (batch, d_inner,
 * d_state). Its size does not depend on how many tokens were consumed, which is what makes
 * streaming and generation O(1) in memory per token.
 */
public final class MambaState {
    private final int batch;
    private final Tensor[] conv;
    private final Tensor[] ssm;
    private long position;

    MambaState(Backend backend, MambaConfig c, int batch) {
        if (batch < 1) throw new IllegalArgumentException("batch must be at least 1");
        this.batch = batch;
        int layers = c.numHiddenLayers(), di = c.intermediateSize();
        conv = new Tensor[layers];
        ssm = new Tensor[layers];
        for (int i = 0; i < layers; i++) {
            conv[i] = backend.allocate(batch, c.convKernel() - 1, di);
            ssm[i] = backend.allocate(batch, di, c.stateSize());
        }
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

    Tensor conv(int layer) {
        return conv[layer];
    }

    Tensor ssm(int layer) {
        return ssm[layer];
    }

    /** Bytes of state per sequence, summed over layers. */
    public long bytesPerSequence() {
        long n = 0;
        for (int i = 0; i < conv.length; i++) n += conv[i].size() + ssm[i].size();
        return n * Float.BYTES / batch;
    }
}
