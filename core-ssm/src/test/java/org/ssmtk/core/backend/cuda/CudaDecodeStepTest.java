package org.ssmtk.core.backend.cuda;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.RandomModels;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.TokenSampling;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.config.Presets;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.nn.Generator;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.nn.MambaState;
import org.ssmtk.core.nn.Sampler;
import org.ssmtk.core.tensor.Tensor;

import java.util.Arrays;
import java.util.function.Supplier;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The GPU's fused Mamba-1 decoding step ({@link CudaDecoder}) against the op-by-op step
 * ({@link MambaModel#step}) token after token, at one sequence and at a few (decode.cu's two
 * kernels a layer) and at more than {@link DecodeKernels#maxBatch} (cuBLAS products around
 * decode_conv, decode_gemv and decode_scan); then against transformers' decoding steps on the fixture.
 */
class CudaDecodeStepTest {
    static final double TOLERANCE = 1e-5;

    /**
     * The fixture; odd widths with biases everywhere and an untied head (hidden 24, d_inner 48,
     * d_state 5, dt rank 2: rows that are not whole float4 and B/C views off 16 bytes); the
     * non-selective ablation; the DNA preset (whole float4 rows, 8 layers).
     */
    static Stream<Arguments> cases() {
        Stream<Arguments> models = Stream.of(
                Arguments.of("tiny-mamba", (Supplier<MambaCheckpoint>) () -> load("tiny-mamba")),
                Arguments.of("small-untied", (Supplier<MambaCheckpoint>) () -> RandomModels.create(RandomModels.smallUntied(), 3)),
                Arguments.of("non-selective", (Supplier<MambaCheckpoint>) () -> RandomModels.create(
                        MambaConfig.of(40, 64, 8, 2).withSelective(false), 5)),
                Arguments.of("dna", (Supplier<MambaCheckpoint>) () -> Initializer.reference(Presets.get("dna"), 6)));
        // 70 sequences of the DNA preset: enough for the scan kernel's 4 lanes a channel
        Supplier<MambaCheckpoint> dna = () -> Initializer.reference(Presets.get("dna"), 6);
        return Stream.concat(models.flatMap(m -> Stream.of(1, 3, 6).map(b -> Arguments.of(m.get()[0], m.get()[1], b))),
                Stream.of(Arguments.of("dna", dna, 70)));
    }

    private static MambaCheckpoint load(String fixture) {
        try {
            return MambaCheckpoint.load(Fixtures.dir(fixture));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @ParameterizedTest(name = "{0} batch {2}")
    @MethodSource("cases")
    void fusedStepsEqualOpByOpSteps(String name, Supplier<MambaCheckpoint> source, int batch) {
        CudaBackend gpu = Gpu.backend();
        MambaCheckpoint ckpt = source.get();
        MambaConfig c = ckpt.config();
        int vocab = c.paddedVocabSize(), prompt = 5, steps = 24;
        MambaModel model = MambaModel.load(gpu, ckpt);
        int[] ids = RandomModels.randomIds(batch * (prompt + steps), c.vocabSize(), 11);
        int[] promptIds = Arrays.copyOf(ids, batch * prompt);
        MambaState ops = model.newState(batch), fused = model.newState(batch);
        model.forward(promptIds, batch, prompt, ops);
        model.forward(promptIds, batch, prompt, fused);
        Tensor logits = gpu.allocate(batch, vocab);
        double worst = 0;
        try (Backend.DecodeStep step = model.decodeStep(fused, logits)) {
            assertNotNull(step, "the cuda backend has a fused step for " + name);
            for (int t = 0; t < steps; t++) {
                int[] tokens = Arrays.copyOfRange(ids, batch * (prompt + t), batch * (prompt + t + 1));
                // every other step picks greedily inside the step: the ids it returns are the logits' argmax
                int[] picked = t % 2 == 1 ? step.stepGreedy(tokens, c.vocabSize()) : null;
                if (t % 2 == 0) step.step(tokens);
                float[] got = gpu.toHost(logits), want = model.step(tokens, ops);
                if (picked != null)
                    for (int b = 0; b < batch; b++)
                        assertEquals(TokenSampling.pick(got, b * vocab, c.vocabSize(), 0, 0, 0), picked[b], name + " greedy pick " + b);
                Fixtures.assertClose(name + " batch " + batch + " fused vs op-by-op step " + t, got, want, TOLERANCE);
                worst = Math.max(worst, Fixtures.relativeError(got, want));
            }
        }
        System.out.printf("parity %-58s rel.err %.3e (tolerance %.0e)%n", "fused decode step, " + name + ", batch " + batch,
                worst, TOLERANCE);
        // the state was updated in place, in the model's layout: op-by-op steps continue it as their own
        int[] more = RandomModels.randomIds(batch, c.vocabSize(), 12);
        Fixtures.assertClose(name + " op-by-op step after the fused ones", model.step(more, fused), model.step(more, ops), TOLERANCE);
        gpu.release(logits);
    }

    @Test
    void fusedStepsMatchTransformersDecodingSteps() throws Exception {
        CudaBackend gpu = Gpu.backend();
        MambaCheckpoint ckpt = load("tiny-mamba");
        try (SafeTensorsReader ref = SafeTensorsReader.open(Fixtures.dir("tiny-mamba").resolve("reference.safetensors"))) {
            int[] ids = Fixtures.toInts(ref.longs("input_ids"));
            int promptLen = (int) ref.longs("decode.prompt_len")[0];
            int[] fed = Fixtures.toInts(ref.longs("decode.fed_tokens"));
            double[] stepLogits = ref.doubles("decode.step_logits");
            int vocab = ckpt.config().paddedVocabSize();
            MambaModel model = MambaModel.load(gpu, ckpt);
            MambaState state = model.newState(1);
            model.forward(Arrays.copyOf(ids, promptLen), 1, promptLen, state);
            int[] token = {fed[0]};
            try (Generator.Decoder d = new Generator.Decoder(model, state, token, new Sampler(ckpt.config().vocabSize(), 0, 0, 1))) {
                assertTrue(d.fused(), "the cuda decoder runs the fused step");
                for (int s = 0; s < fed.length; s++) {
                    token[0] = fed[s];
                    d.step();
                    Gpu.close("fused decode step " + s + " vs transformers", gpu.toHost(d.logits()),
                            Arrays.copyOfRange(stepLogits, s * vocab, (s + 1) * vocab), TOLERANCE);
                }
            }
            assertEquals(promptLen + fed.length, state.position());
        }
    }

    @Test
    void mamba2KeepsTheRecordedOpByOpStep() {
        CudaBackend gpu = Gpu.backend();
        MambaModel model = MambaModel.load(gpu, RandomModels.create(RandomModels.smallUntiedMamba2(), 4));
        Tensor logits = gpu.allocate(1, model.config().paddedVocabSize());
        assertNull(model.decodeStep(model.newState(1), logits));
        gpu.release(logits);
    }
}
