package org.ssmtk.core.nn;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ssmtk.core.RandomModels;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.MambaConfig;

import java.util.Arrays;

import static org.ssmtk.core.Fixtures.assertClose;

/** Step mode, chunked streaming and batching all compute what one full forward computes. */
class RecurrentConsistencyTest {
    /** The model every test runs; Mamba2RecurrentConsistencyTest runs them all on a Mamba-2. */
    MambaConfig config() {
        return RandomModels.smallUntied();
    }

    @ParameterizedTest(name = "length {0}")
    @ValueSource(ints = {1, 2, 3, 7, 16, 31, 53})
    void stepByStepEqualsFullForward(int len) {
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, RandomModels.create(config(), 7));
            int vocab = config().paddedVocabSize();
            int[] ids = RandomModels.randomIds(len, config().vocabSize(), len);
            float[] full = model.forward(ids, 1, len);
            MambaState state = model.newState(1);
            float[] stepped = new float[full.length];
            for (int t = 0; t < len; t++) System.arraycopy(model.step(new int[]{ids[t]}, state), 0, stepped, t * vocab, vocab);
            assertClose("steps vs full, L=" + len, stepped, full, 1e-5);
        }
    }

    @Test
    void chunksOfAnySizeContinueTheSequence() {
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, RandomModels.create(config(), 8));
            int vocab = config().paddedVocabSize();
            int len = 41;
            int[] ids = RandomModels.randomIds(2 * len, config().vocabSize(), 9);
            float[] full = model.forward(ids, 2, len);
            MambaState state = model.newState(2);
            float[] chunked = new float[full.length];
            int[] cuts = {0, 1, 3, 4, 17, 18, 40, 41}; // chunks shorter and longer than the conv window
            for (int c = 0; c + 1 < cuts.length; c++) {
                int from = cuts[c], n = cuts[c + 1] - from;
                int[] chunk = new int[2 * n];
                for (int b = 0; b < 2; b++) System.arraycopy(ids, b * len + from, chunk, b * n, n);
                float[] out = model.forward(chunk, 2, n, state);
                for (int b = 0; b < 2; b++) System.arraycopy(out, b * n * vocab, chunked, (b * len + from) * vocab, n * vocab);
            }
            assertClose("chunked vs full", chunked, full, 1e-5);
        }
    }

    @Test
    void eachRowOfABatchEqualsItsOwnBatchOfOne() {
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, RandomModels.create(config(), 10));
            int vocab = config().paddedVocabSize();
            int batch = 5, len = 29;
            int[] ids = RandomModels.randomIds(batch * len, config().vocabSize(), 11);
            float[] all = model.forward(ids, batch, len);
            for (int b = 0; b < batch; b++) {
                float[] one = model.forward(Arrays.copyOfRange(ids, b * len, (b + 1) * len), 1, len);
                assertClose("row " + b, Arrays.copyOfRange(all, b * len * vocab, (b + 1) * len * vocab), one, 1e-6);
            }
        }
    }

    @Test
    void resultsAreBitForBitReproducibleForAThreadCount() {
        int[] ids = RandomModels.randomIds(3 * 37, config().vocabSize(), 12);
        float[] first, second;
        try (CpuBackend cpu = new CpuBackend(3)) {
            first = MambaModel.load(cpu, RandomModels.create(config(), 13)).forward(ids, 3, 37);
        }
        try (CpuBackend cpu = new CpuBackend(3)) {
            second = MambaModel.load(cpu, RandomModels.create(config(), 13)).forward(ids, 3, 37);
        }
        org.junit.jupiter.api.Assertions.assertArrayEquals(first, second);
    }
}
