package org.ssmtk.core.backend;

/**
 * The dimensions of a Mamba-2 SSD scan that its tensors' shapes cannot carry alone: heads of
 * headDim channels each, nGroups groups of B and C (of stateSize each; head h reads group
 * h / (heads / nGroups)), the chunk length of the chunked algorithm (and of the states training
 * keeps), and transformers' time_step_limit clamp of dt.
 */
public record SsdShape(int heads, int headDim, int nGroups, int stateSize, int chunk, float dtMin, float dtMax) {
    public SsdShape {
        if (heads < 1 || headDim < 1 || nGroups < 1 || stateSize < 1 || chunk < 1)
            throw new IllegalArgumentException("SSD dimensions must be positive: " + heads + " heads of " + headDim
                    + ", " + nGroups + " groups, state " + stateSize + ", chunk " + chunk);
        if (heads % nGroups != 0) throw new IllegalArgumentException(heads + " heads do not split into " + nGroups + " groups");
        if (!(dtMin <= dtMax)) throw new IllegalArgumentException("dt limit [" + dtMin + ", " + dtMax + "] is empty");
    }

    /** x and y width. */
    public int channels() {
        return heads * headDim;
    }

    /** B and C width. */
    public int groupStates() {
        return nGroups * stateSize;
    }

    public int headsPerGroup() {
        return heads / nGroups;
    }

    public int chunks(int len) {
        return (len + chunk - 1) / chunk;
    }
}
