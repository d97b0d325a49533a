package org.ssmtk.core.nn;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.tensor.Tensor;
import org.ssmtk.core.train.LanguageModelLoss;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.ssmtk.core.Fixtures.assertClose;
import static org.ssmtk.core.Fixtures.relativeError;

/**
 * The CPU Mamba-2 model against transformers' Mamba2ForCausalLM in float64 (fixtures/tiny-mamba2:
 * chunk_size 8 over 37 tokens, so four full chunks and a partial one): hidden states and logits,
 * loss and every parameter's gradient, and greedy decoding through the recurrent state.
 */
class Mamba2ParityTest {
    static final double FORWARD_TOLERANCE = 1e-5, GRADIENT_TOLERANCE = 1e-4;
    static MambaCheckpoint checkpoint;
    static SafeTensorsReader reference;

    @BeforeAll
    static void load() throws Exception {
        Path dir = Fixtures.dir("tiny-mamba2");
        checkpoint = MambaCheckpoint.load(dir);
        reference = SafeTensorsReader.open(dir.resolve("reference.safetensors"));
    }

    @AfterAll
    static void close() {
        reference.close();
    }

    @ParameterizedTest(name = "{0} thread(s)")
    @ValueSource(ints = {1, 2, 3})
    void logitsAndEveryHiddenStateMatchTheReference(int threads) throws Exception {
        int[] shape = reference.info("input_ids").intShape();
        int[] ids = Fixtures.toInts(reference.longs("input_ids"));
        try (CpuBackend cpu = new CpuBackend(threads)) {
            MambaModel model = MambaModel.load(cpu, checkpoint);
            Map<Integer, float[]> hidden = new HashMap<>();
            Tensor last = model.backbone(ids, shape[0], shape[1], null, (k, h) -> hidden.put(k, cpu.toHost(h)));
            int layers = checkpoint.config().numHiddenLayers();
            assertEquals(layers + 1, hidden.size());
            for (int k = 0; k <= layers; k++) {
                double[] ref = reference.doubles("hidden_states." + k);
                System.out.printf("tiny-mamba2 hidden_states.%d rel %.2e%n", k, relativeError(hidden.get(k), ref));
                assertClose("hidden_states." + k, hidden.get(k), ref, FORWARD_TOLERANCE);
            }
            float[] logits = cpu.toHost(model.logits(last));
            System.out.printf("tiny-mamba2 logits rel %.2e%n", relativeError(logits, reference.doubles("logits")));
            assertClose("logits", logits, reference.doubles("logits"), FORWARD_TOLERANCE);
        }
    }

    @ParameterizedTest(name = "{0} thread(s)")
    @ValueSource(ints = {1, 2})
    void lossAndEveryGradientMatchTheReference(int threads) throws Exception {
        int[] shape = reference.info("input_ids").intShape();
        int batch = shape[0], len = shape[1];
        int[] ids = Fixtures.toInts(reference.longs("input_ids"));
        try (CpuBackend cpu = new CpuBackend(threads)) {
            MambaModel model = MambaModel.load(cpu, checkpoint);
            Gradients grads = model.newGradients();
            double loss = LanguageModelLoss.lossAndGradients(model, ids, batch, len, grads, 1f).loss();
            double refLoss = reference.doubles("loss")[0];
            assertEquals(refLoss, loss, 1e-5 * Math.abs(refLoss), "loss");
            int compared = 0;
            for (Map.Entry<String, Tensor> e : grads.all().entrySet()) {
                double[] ref = reference.doubles("grad." + e.getKey());
                float[] ours = cpu.toHost(e.getValue());
                if (threads == 1) System.out.printf("tiny-mamba2 grad.%s rel %.2e%n", e.getKey(), relativeError(ours, ref));
                assertClose("grad." + e.getKey(), ours, ref, GRADIENT_TOLERANCE);
                compared++;
            }
            assertEquals(reference.tensors().keySet().stream().filter(k -> k.startsWith("grad.")).count(), compared,
                    "every reference gradient has a counterpart");
        }
    }

    @ParameterizedTest(name = "{0} thread(s)")
    @ValueSource(ints = {1, 2})
    void recurrentDecodingMatchesTheReferenceStepsAndPicksTheSameTokens(int threads) throws Exception {
        int[] ids = Fixtures.toInts(reference.longs("input_ids"));
        int promptLen = (int) reference.longs("decode.prompt_len")[0];
        int[] fed = Fixtures.toInts(reference.longs("decode.fed_tokens"));
        double[] stepLogits = reference.doubles("decode.step_logits");
        int vocab = checkpoint.config().paddedVocabSize();
        assertEquals(8, fed.length);
        try (CpuBackend cpu = new CpuBackend(threads)) {
            MambaModel model = MambaModel.load(cpu, checkpoint);
            MambaState state = model.newState(1);
            float[] prompt = model.forward(Arrays.copyOfRange(ids, 0, promptLen), 1, promptLen, state);
            // greedy: the prompt's last logits pick the first fed token, each step's the next
            assertEquals(fed[0], argmax(prompt, (promptLen - 1) * vocab, vocab), "greedy token after the prompt");
            for (int s = 0; s < fed.length; s++) {
                float[] logits = model.step(new int[]{fed[s]}, state);
                double[] ref = Arrays.copyOfRange(stepLogits, s * vocab, (s + 1) * vocab);
                assertClose("decode step " + s, logits, ref, FORWARD_TOLERANCE);
                if (s + 1 < fed.length) assertEquals(fed[s + 1], argmax(logits, 0, vocab), "greedy token at step " + s);
            }
            assertEquals(promptLen + fed.length, state.position());
        }
    }

    static int argmax(float[] v, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (v[from + i] > v[from + best]) best = i;
        return best;
    }

    @Test
    void recomputedActivationsGiveTheSameBitsAsKeptOnes() throws Exception {
        int[] shape = reference.info("input_ids").intShape();
        int[] ids = Fixtures.toInts(reference.longs("input_ids"));
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, checkpoint);
            Gradients kept = model.newGradients(), recomputed = model.newGradients();
            double a = LanguageModelLoss.lossAndGradients(model, ids, shape[0], shape[1], kept, 1f).loss();
            model.recomputeActivations(true);
            double b = LanguageModelLoss.lossAndGradients(model, ids, shape[0], shape[1], recomputed, 1f).loss();
            assertEquals(a, b, 0.0, "loss");
            for (Map.Entry<String, Tensor> e : kept.all().entrySet())
                org.junit.jupiter.api.Assertions.assertArrayEquals(cpu.toHost(e.getValue()), cpu.toHost(recomputed.get(e.getKey())),
                        "grad." + e.getKey());
        }
    }

    @Test
    void aTrainingForwardKeepsTheConvOutputsTheNormOutputAndTheChunkStates() throws Exception {
        try (CpuBackend cpu = new CpuBackend(1)) {
            MambaModel model = MambaModel.load(cpu, checkpoint);
            ModelFamily family = ModelFamily.of("mamba2");
            ModelWeights weights = ModelWeights.bind(family, checkpoint.config(), model.parameters());
            Mixer mixer = family.mixer(cpu, checkpoint.config(), weights.blocks()[0].mixer());
            var training = (Mamba2Mixer.Activations) mixer.newActivations(2, 37, true);
            var inference = (Mamba2Mixer.Activations) mixer.newActivations(2, 37, false);
            // the backward reads these four as the forward wrote them (the gradient test above checks what it gets)
            for (Tensor t : new Tensor[]{training.x(), training.b(), training.c(), training.normed()})
                org.junit.jupiter.api.Assertions.assertNotNull(t, "kept by a training forward");
            org.junit.jupiter.api.Assertions.assertNotNull(training.chunkStates(), "a training forward keeps the chunk states");
            org.junit.jupiter.api.Assertions.assertNull(inference.chunkStates(), "an inference forward keeps no chunk states");
        }
    }
}
