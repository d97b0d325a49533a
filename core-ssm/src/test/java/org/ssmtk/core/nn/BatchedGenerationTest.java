package org.ssmtk.core.nn;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.RandomModels;
import org.ssmtk.core.backend.cpu.CpuBackend;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * {@link Generator#generate(int[][], int, Sampler, int)}: prompts of different lengths in one batch
 * give, greedy, each the tokens its prompt gives alone (the CPU's batched step computes every row as
 * its one-sequence step does), and each sequence stops at the stop token on its own.
 */
class BatchedGenerationTest {
    private static final int[][] PROMPTS = {{3, 1, 4, 1, 5, 9, 2, 6, 5}, {7}, {2, 7, 1, 8, 2}};

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tiny-mamba", "tiny-mamba2"})
    void greedyRowsEqualEachPromptGeneratedAlone(String fixture) throws IOException {
        MambaCheckpoint ckpt = MambaCheckpoint.load(Fixtures.dir(fixture));
        int vocab = ckpt.config().vocabSize();
        try (CpuBackend cpu = new CpuBackend(2)) {
            Generator g = new Generator(MambaModel.load(cpu, ckpt));
            int[][] batched = g.generate(PROMPTS, 12, new Sampler(vocab, 0, 0, 1), -1);
            assertEquals(PROMPTS.length, batched.length);
            for (int b = 0; b < PROMPTS.length; b++)
                assertArrayEquals(g.generate(PROMPTS[b], 12, new Sampler(vocab, 0, 0, 1), -1, null), batched[b], "prompt " + b);
        }
    }

    @Test
    void eachSequenceStopsAtTheStopTokenOnItsOwn() {
        MambaCheckpoint ckpt = RandomModels.create(RandomModels.smallUntied(), 3);
        int vocab = ckpt.config().vocabSize();
        try (CpuBackend cpu = new CpuBackend(1)) {
            Generator g = new Generator(MambaModel.load(cpu, ckpt));
            int[] first = g.generate(PROMPTS[0], 10, new Sampler(vocab, 0, 0, 1), -1, null);
            // the stop token is what the first prompt makes third (and may appear anywhere in the others)
            int stop = first[2];
            int[][] batched = g.generate(PROMPTS, 10, new Sampler(vocab, 0, 0, 1), stop);
            for (int b = 0; b < PROMPTS.length; b++)
                assertArrayEquals(g.generate(PROMPTS[b], 10, new Sampler(vocab, 0, 0, 1), stop, null), batched[b], "prompt " + b);
            assertEquals(stop, batched[0][batched[0].length - 1]);
            assertEquals(true, batched[0].length <= 3);
        }
    }

    @Test
    void noNewTokensAndEmptyPrompts() {
        MambaCheckpoint ckpt = RandomModels.create(RandomModels.smallUntied(), 3);
        int vocab = ckpt.config().vocabSize();
        try (CpuBackend cpu = new CpuBackend(1)) {
            Generator g = new Generator(MambaModel.load(cpu, ckpt));
            int[][] none = g.generate(PROMPTS, 0, new Sampler(vocab, 0, 0, 1), -1);
            for (int[] row : none) assertEquals(0, row.length);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> g.generate(new int[][]{{1, 2}, {}}, 3, new Sampler(vocab, 0, 0, 1), -1));
            assertEquals("prompt 2 has no tokens", e.getMessage());
        }
    }
}
