package org.ssmtk.core.nn;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.ssmtk.core.RandomModels;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.config.Presets;
import org.ssmtk.core.tensor.Tensor;

import java.util.Arrays;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * The CPU's fused decoding step over B sequences at once against B separate one-sequence steps:
 * every sequence's logits are the same bits however many sequences share its step (the products'
 * four-row kernels keep the one-row kernel's sums; a matrix product would change kernel at 64
 * rows), on two threads against one (the scans split by sequence), with the state written back and
 * taken up again half way, and with a sequence restarted in its slot while the others go on.
 * Against the op-by-op step and transformers the one-sequence step is checked in FusedDecodeStepTest.
 */
class BatchedDecodeStepTest {
    private static final int STEPS = 6;

    static Stream<Arguments> cases() {
        Supplier<MambaCheckpoint> dna = () -> Initializer.reference(Presets.get("dna"), 6),
                dna2 = () -> Initializer.reference(Presets.get("dna-mamba2"), 7);
        Stream<Arguments> presets = Stream.of(WeightFormat.FP32, WeightFormat.INT8).flatMap(f -> Stream.of(1, 3, 7, 70)
                .flatMap(b -> Stream.of(Arguments.of("dna", dna, f, b), Arguments.of("dna-mamba2", dna2, f, b))));
        // odd widths (vector padding), biases, B/C groups, a head_dim under one vector; the non-selective ablation's shared B and C
        Stream<Arguments> small = Stream.of(WeightFormat.FP32, WeightFormat.INT8).flatMap(f -> Stream.of(
                Arguments.of("small-untied", (Supplier<MambaCheckpoint>) () -> RandomModels.create(RandomModels.smallUntied(), 3), f, 5),
                Arguments.of("small-untied-mamba2", (Supplier<MambaCheckpoint>) () -> RandomModels.create(RandomModels.smallUntiedMamba2(), 4), f, 5),
                Arguments.of("non-selective", (Supplier<MambaCheckpoint>) () -> RandomModels.create(
                        MambaConfig.of(40, 64, 8, 2).withSelective(false), 5), f, 5)));
        return Stream.concat(presets, small);
    }

    @ParameterizedTest(name = "{0} {2} batch {3}")
    @MethodSource("cases")
    void aBatchedStepGivesEachSequenceTheBitsOfItsOwnStep(String name, Supplier<MambaCheckpoint> source, WeightFormat format, int batch) {
        MambaCheckpoint ckpt = source.get();
        int vocab = ckpt.config().paddedVocabSize(), real = ckpt.config().vocabSize();
        int[][] ids = new int[batch][];
        for (int b = 0; b < batch; b++) ids[b] = RandomModels.randomIds(STEPS, real, 100 + b);
        float[][][] single = new float[batch][STEPS][];
        try (CpuBackend cpu = new CpuBackend(1)) {
            MambaModel model = MambaModel.load(cpu, ckpt, format);
            Tensor logits = cpu.allocate(1, vocab);
            for (int b = 0; b < batch; b++)
                try (Backend.DecodeStep step = model.decodeStep(model.newState(1), logits)) {
                    for (int t = 0; t < STEPS; t++) {
                        step.step(ids[b][t]);
                        single[b][t] = cpu.toHost(logits);
                    }
                }
        }
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, ckpt, format);
            MambaState state = model.newState(batch);
            Tensor logits = cpu.allocate(batch, vocab);
            int[] tokens = new int[batch];
            for (int half = 0; half < 2; half++) // closed half way: the state goes back to its tensors and is taken up again
                try (Backend.DecodeStep step = model.decodeStep(state, logits)) {
                    assertNotNull(step, "the CPU has a fused step for " + batch + " sequences");
                    for (int t = half * STEPS / 2; t < (half + 1) * STEPS / 2; t++) {
                        for (int b = 0; b < batch; b++) tokens[b] = ids[b][t];
                        step.step(tokens);
                        float[] got = cpu.toHost(logits);
                        for (int b = 0; b < batch; b++)
                            assertArrayEquals(single[b][t], Arrays.copyOfRange(got, b * vocab, (b + 1) * vocab),
                                    name + " " + format + ": sequence " + b + " of " + batch + " at step " + t);
                    }
                }
        }
    }

    /** A finished sequence's slot takes a new one: it starts from zeros, and the others are untouched. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("restartCases")
    void aRestartedSlotStartsAFreshSequenceAndLeavesTheOthersAlone(String preset, WeightFormat format) {
        MambaCheckpoint ckpt = Initializer.reference(Presets.get(preset), 8);
        int vocab = ckpt.config().paddedVocabSize(), real = ckpt.config().vocabSize(), batch = 5, restart = 4;
        int[][] ids = new int[batch][];
        for (int b = 0; b < batch; b++) ids[b] = RandomModels.randomIds(2 * STEPS, real, 200 + b);
        int[] fresh = RandomModels.randomIds(2 * STEPS - restart, real, 300);
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, ckpt, format);
            // what each sequence alone gives: slots 1 and 3 restart at step `restart` with `fresh`
            float[][][] want = new float[batch][2 * STEPS][];
            Tensor one = cpu.allocate(1, vocab);
            for (int b = 0; b < batch; b++)
                try (Backend.DecodeStep step = model.decodeStep(model.newState(1), one)) {
                    for (int t = 0; t < 2 * STEPS; t++) {
                        if (t == restart && (b == 1 || b == 3)) break;
                        step.step(ids[b][t]);
                        want[b][t] = cpu.toHost(one);
                    }
                }
            float[][] freshWant = new float[fresh.length][];
            try (Backend.DecodeStep step = model.decodeStep(model.newState(1), one)) {
                for (int t = 0; t < fresh.length; t++) {
                    step.step(fresh[t]);
                    freshWant[t] = cpu.toHost(one);
                }
            }
            Tensor logits = cpu.allocate(batch, vocab);
            int[] tokens = new int[batch];
            try (Backend.DecodeStep step = model.decodeStep(model.newState(batch), logits)) {
                for (int t = 0; t < 2 * STEPS; t++) {
                    if (t == restart) {
                        step.reset(1);
                        step.reset(3);
                    }
                    for (int b = 0; b < batch; b++) tokens[b] = t >= restart && (b == 1 || b == 3) ? fresh[t - restart] : ids[b][t];
                    step.step(tokens);
                    float[] got = cpu.toHost(logits);
                    for (int b = 0; b < batch; b++) {
                        float[] w = t >= restart && (b == 1 || b == 3) ? freshWant[t - restart] : want[b][t];
                        assertArrayEquals(w, Arrays.copyOfRange(got, b * vocab, (b + 1) * vocab),
                                preset + ": sequence " + b + " at step " + t);
                    }
                }
            }
        }
    }

    static Stream<Arguments> restartCases() {
        return Stream.of("dna", "dna-mamba2").flatMap(p -> Stream.of(Arguments.of(p, WeightFormat.FP32), Arguments.of(p, WeightFormat.INT8)));
    }

    /** Generation of several sequences on the CPU now runs the fused step; it samples what the op-by-op step samples. */
    @Test
    void batchedGenerationSamplesTheSameTokensFusedAndOpByOp() {
        MambaCheckpoint ckpt = RandomModels.create(RandomModels.smallUntied(), 9);
        int vocab = ckpt.config().vocabSize(), batch = 3;
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, ckpt);
            int[][][] out = new int[2][40][];
            for (int pass = 0; pass < 2; pass++) {
                MambaState state = model.newState(batch);
                model.forward(new int[]{1, 2, 3, 5, 6, 7, 9, 10, 11}, batch, 3, state);
                int[] token = {4, 8, 12};
                try (Generator.Decoder d = new Generator.Decoder(model, state, token, new Sampler(vocab, 0.9, 6, 21), pass == 0)) {
                    org.junit.jupiter.api.Assertions.assertEquals(pass == 0, d.fused());
                    for (int s = 0; s < out[pass].length; s++) out[pass][s] = d.step().clone();
                }
            }
            for (int s = 0; s < out[0].length; s++) assertArrayEquals(out[1][s], out[0][s], "step " + s);
        }
    }
}
