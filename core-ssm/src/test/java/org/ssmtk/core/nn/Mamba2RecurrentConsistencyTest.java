package org.ssmtk.core.nn;

import org.ssmtk.core.RandomModels;
import org.ssmtk.core.config.MambaConfig;

/**
 * RecurrentConsistencyTest's checks on a Mamba-2 (three groups, chunks of 16): steps, streamed
 * chunks that cut SSD chunks anywhere, and batches compute what one full forward computes.
 */
class Mamba2RecurrentConsistencyTest extends RecurrentConsistencyTest {
    @Override
    MambaConfig config() {
        return RandomModels.smallUntiedMamba2();
    }
}
