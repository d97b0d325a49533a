package org.ssmtk.core.nn;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.RandomModels;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.config.Presets;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.tensor.Tensor;

import java.util.Arrays;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssmtk.core.Fixtures.assertClose;

/**
 * The CPU's fused decoding step ({@link MambaModel#decodeStep}) against the op-by-op step
 * ({@link MambaModel#step}) and the full forward's positions, token after token, for Mamba-1 and
 * Mamba-2, fp32 and int8 (int8 against the int8 op-by-op path and forward: the same quantized
 * weights, within {@link #INT8_PATHS}), at one
 * and two threads; and against transformers' own decoding steps (the fixtures).
 */
class FusedDecodeStepTest {
    static final double TOLERANCE = 1e-5;
    /**
     * int8 paths against each other: each quantizes its activations per block of 32, and where two
     * paths compute an activation in other orders (chunked scans, fused kernels) its last bits
     * differ, so now and then it rounds to the next byte, a step of amax / 127 in its block.
     * dna-mamba2's reference initialization (int8 costs it 4e-2 against fp32) showed 2.0e-2 against
     * the forward and 1.0e-2 against the op-by-op step, at one position each. The kernels themselves
     * are held to the quantization's definition at 1e-5 (Q8GemmTest, HugePagesTest).
     */
    static final double INT8_PATHS = 5e-2;

    /**
     * Shapes that reach every branch: the fixtures; odd widths that leave vector padding (hidden 24,
     * d_inner 48), biases everywhere, three B/C groups and a head_dim under one vector; the
     * non-selective ablation; and the DNA presets, whose products are big enough to be split among
     * threads and whose rows are whole int8 blocks. The presets get transformers' initialization:
     * RandomModels' weights (std 0.2 whatever the width) make 8 layers of width 256 so sensitive that
     * the op-by-op step and the full forward of a Mamba-2 already differ by 6.5e-6 there.
     */
    static Stream<Arguments> models() {
        Supplier<MambaCheckpoint> tiny = () -> load("tiny-mamba"), tiny2 = () -> load("tiny-mamba2");
        return Stream.of(
                Arguments.of("tiny-mamba", tiny),
                Arguments.of("tiny-mamba2", tiny2),
                Arguments.of("small-untied", (Supplier<MambaCheckpoint>) () -> RandomModels.create(RandomModels.smallUntied(), 3)),
                Arguments.of("small-untied-mamba2", (Supplier<MambaCheckpoint>) () -> RandomModels.create(RandomModels.smallUntiedMamba2(), 4)),
                Arguments.of("non-selective", (Supplier<MambaCheckpoint>) () -> RandomModels.create(
                        MambaConfig.of(40, 64, 8, 2).withSelective(false), 5)),
                Arguments.of("dna", (Supplier<MambaCheckpoint>) () -> Initializer.reference(Presets.get("dna"), 6)),
                Arguments.of("dna-mamba2", (Supplier<MambaCheckpoint>) () -> Initializer.reference(Presets.get("dna-mamba2"), 7)));
    }

    static Stream<Arguments> cases() {
        return models().flatMap(m -> Stream.of(WeightFormat.FP32, WeightFormat.INT8).flatMap(f -> Stream.of(1, 2)
                .map(t -> Arguments.of(m.get()[0], m.get()[1], f, t))));
    }

    private static MambaCheckpoint load(String fixture) {
        try {
            return MambaCheckpoint.load(Fixtures.dir(fixture));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @ParameterizedTest(name = "{0} {2} {3} thread(s)")
    @MethodSource("cases")
    void fusedStepsEqualOpByOpStepsAndTheFullForward(String name, Supplier<MambaCheckpoint> source, WeightFormat format, int threads) {
        MambaCheckpoint ckpt = source.get();
        MambaConfig c = ckpt.config();
        int vocab = c.paddedVocabSize(), prompt = 5, steps = 37;
        double tolerance = format == WeightFormat.INT8 ? INT8_PATHS : TOLERANCE;
        int[] ids = RandomModels.randomIds(prompt + steps, c.vocabSize(), 11);
        try (CpuBackend cpu = new CpuBackend(threads)) {
            MambaModel model = MambaModel.load(cpu, ckpt, format);
            float[] full = model.forward(ids, 1, ids.length);
            MambaState ops = model.newState(1), fused = model.newState(1);
            model.forward(Arrays.copyOf(ids, prompt), 1, prompt, ops);
            model.forward(Arrays.copyOf(ids, prompt), 1, prompt, fused);
            Tensor logits = cpu.allocate(1, vocab);
            double worstOps = 0, worstFull = 0;
            try (Backend.DecodeStep step = model.decodeStep(fused, logits)) {
                assertNotNull(step, "the CPU backend has a fused step for " + name);
                for (int t = prompt; t < ids.length; t++) {
                    step.step(ids[t]);
                    float[] got = cpu.toHost(logits), want = model.step(new int[]{ids[t]}, ops);
                    float[] row = Arrays.copyOfRange(full, t * vocab, (t + 1) * vocab);
                    assertClose(name + " fused vs op-by-op step at " + t, got, want, tolerance);
                    assertClose(name + " fused step vs full forward at " + t, got, row, tolerance);
                    worstOps = Math.max(worstOps, Fixtures.relativeError(got, want));
                    worstFull = Math.max(worstFull, Fixtures.relativeError(got, row));
                }
            }
            System.out.printf("%s %s %d thread(s): fused vs op-by-op %.2e, vs full forward %.2e%n", name, format, threads,
                    worstOps, worstFull);
            // closing wrote the state back in the model's layout: op-by-op steps continue it as their own
            int[] more = RandomModels.randomIds(4, c.vocabSize(), 12);
            for (int t : more)
                assertClose(name + " op-by-op steps after the fused ones", model.step(new int[]{t}, fused),
                        model.step(new int[]{t}, ops), tolerance);
        }
    }

    /**
     * Every row of the products is summed by one task, and a lone sequence's Mamba-1 scan is split
     * by whole channels (three chunks of the dna preset's 256 at three threads), so the thread count
     * changes no bit.
     */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("presetsAndFormats")
    void fusedStepsGiveTheSameBitsForAnyThreadCount(String preset, WeightFormat format) {
        MambaCheckpoint ckpt = RandomModels.create(Presets.get(preset), 8);
        int[] ids = RandomModels.randomIds(20, ckpt.config().vocabSize(), 13);
        float[][] runs = new float[2][];
        for (int r = 0; r < 2; r++) {
            try (CpuBackend cpu = new CpuBackend(r == 0 ? 1 : 3)) {
                MambaModel model = MambaModel.load(cpu, ckpt, format);
                Tensor logits = cpu.allocate(1, ckpt.config().paddedVocabSize());
                try (Backend.DecodeStep step = model.decodeStep(model.newState(1), logits)) {
                    for (int id : ids) step.step(id);
                }
                runs[r] = cpu.toHost(logits);
            }
        }
        assertArrayEquals(runs[0], runs[1]);
    }

    static Stream<Arguments> presetsAndFormats() {
        return Stream.of("dna", "dna-mamba2").flatMap(p -> Stream.of(WeightFormat.FP32, WeightFormat.INT8).map(f -> Arguments.of(p, f)));
    }

    /** An independent reference: transformers' float64 decoding steps on the fixtures, through the Generator's decoder. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"tiny-mamba", "tiny-mamba2"})
    void fusedStepsMatchTransformersDecodingSteps(String fixture) throws Exception {
        MambaCheckpoint ckpt = load(fixture);
        try (SafeTensorsReader ref = SafeTensorsReader.open(Fixtures.dir(fixture).resolve("reference.safetensors"));
             CpuBackend cpu = new CpuBackend(2)) {
            int[] ids = Fixtures.toInts(ref.longs("input_ids"));
            int promptLen = (int) ref.longs("decode.prompt_len")[0];
            int[] fed = Fixtures.toInts(ref.longs("decode.fed_tokens"));
            double[] stepLogits = ref.doubles("decode.step_logits");
            int vocab = ckpt.config().paddedVocabSize();
            MambaModel model = MambaModel.load(cpu, ckpt);
            MambaState state = model.newState(1);
            model.forward(Arrays.copyOf(ids, promptLen), 1, promptLen, state);
            int[] token = {fed[0]};
            try (Generator.Decoder d = new Generator.Decoder(model, state, token, new Sampler(ckpt.config().vocabSize(), 0, 0, 1))) {
                assertTrue(d.fused(), "the CPU decoder runs the fused step");
                for (int s = 0; s < fed.length; s++) {
                    token[0] = fed[s];
                    d.step();
                    assertClose(fixture + " fused decode step " + s, cpu.toHost(d.logits()),
                            Arrays.copyOfRange(stepLogits, s * vocab, (s + 1) * vocab), TOLERANCE);
                }
            }
            assertEquals(promptLen + fed.length, state.position());
        }
    }

    /** Sampling is unchanged: the fused decoder draws the same tokens as the op-by-op one. */
    @Test
    void generationSamplesTheSameTokensFusedAndOpByOp() {
        MambaCheckpoint ckpt = RandomModels.create(RandomModels.smallUntied(), 9);
        int vocab = ckpt.config().vocabSize();
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, ckpt);
            int[][] out = new int[2][40];
            for (int pass = 0; pass < 2; pass++) {
                MambaState state = model.newState(1);
                model.forward(new int[]{1, 2, 3}, 1, 3, state);
                int[] token = {4};
                try (Generator.Decoder d = new Generator.Decoder(model, state, token, new Sampler(vocab, 0.9, 6, 21), pass == 0)) {
                    assertEquals(pass == 0, d.fused());
                    for (int s = 0; s < out[pass].length; s++) out[pass][s] = d.step()[0];
                }
            }
            assertArrayEquals(out[1], out[0]);
            int[] generated = new Generator(model).generate(new int[]{1, 2, 3, 4}, 40, new Sampler(vocab, 0.9, 6, 21), -1, null);
            assertArrayEquals(out[1], generated);
        }
    }
}
