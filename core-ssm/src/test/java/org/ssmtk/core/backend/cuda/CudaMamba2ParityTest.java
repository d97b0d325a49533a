package org.ssmtk.core.backend.cuda;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.RandomModels;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.nn.Gradients;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.nn.MambaState;
import org.ssmtk.core.tensor.Tensor;
import org.ssmtk.core.train.LanguageModelLoss;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

/**
 * Mamba-2 on the cuda backend as a whole model: against transformers' Mamba2ForCausalLM in float64
 * (fixtures/tiny-mamba2: chunks of 8 over 37 tokens) for hidden states, logits, the decoding steps
 * (op by op and replayed as a CUDA graph) and greedy tokens, the loss and every gradient; and
 * against the CPU backend's Mamba-2 on a model unlike the fixture (three groups of B and C, biases
 * everywhere, an untied head, chunks of 16) for logits, gradients and a prompt streamed through the
 * state in two pieces. Forward within 1e-5 relative error, gradients within 1e-4. Skips where no
 * GPU works.
 */
class CudaMamba2ParityTest {
    static final double FWD = 1e-5, GRAD = 1e-4;

    static int argmax(float[] v, int from, int n) {
        int best = 0;
        for (int i = 1; i < n; i++) if (v[from + i] > v[from + best]) best = i;
        return best;
    }

    @Test
    void forwardDecodingAndGradientsMatchTheReference() throws Exception {
        CudaBackend gpu = Gpu.backend();
        Path dir = Fixtures.dir("tiny-mamba2");
        MambaCheckpoint checkpoint = MambaCheckpoint.load(dir);
        try (SafeTensorsReader ref = SafeTensorsReader.open(dir.resolve("reference.safetensors"))) {
            int[] shape = ref.info("input_ids").intShape();
            int batch = shape[0], len = shape[1];
            int[] ids = Fixtures.toInts(ref.longs("input_ids"));
            MambaModel model = MambaModel.load(gpu, checkpoint);

            Map<Integer, float[]> hidden = new HashMap<>();
            Tensor last = model.backbone(ids, batch, len, null, (k, h) -> hidden.put(k, gpu.toHost(h)));
            int layers = checkpoint.config().numHiddenLayers();
            assertEquals(layers + 1, hidden.size());
            for (int k = 0; k <= layers; k++)
                Gpu.close("mamba2 hidden_states." + k, hidden.get(k), ref.doubles("hidden_states." + k), FWD);
            Gpu.close("mamba2 logits", gpu.toHost(model.logits(last)), ref.doubles("logits"), FWD);

            int promptLen = (int) ref.longs("decode.prompt_len")[0];
            int[] fed = Fixtures.toInts(ref.longs("decode.fed_tokens"));
            double[] stepLogits = ref.doubles("decode.step_logits");
            int vocab = checkpoint.config().paddedVocabSize();
            MambaState state = model.newState(1);
            float[] prompt = model.forward(Arrays.copyOfRange(ids, 0, promptLen), 1, promptLen, state);
            assertEquals(fed[0], argmax(prompt, (promptLen - 1) * vocab, vocab), "greedy token after the prompt");
            for (int s = 0; s < fed.length; s++) {
                float[] logits = model.step(new int[]{fed[s]}, state);
                Gpu.close("mamba2 decode step " + s, logits, Arrays.copyOfRange(stepLogits, s * vocab, (s + 1) * vocab), FWD);
                if (s + 1 < fed.length) assertEquals(fed[s + 1], argmax(logits, 0, vocab), "greedy token at step " + s);
            }

            Gradients grads = model.newGradients();
            var result = LanguageModelLoss.lossAndGradients(model, ids, batch, len, grads, 1f);
            double refLoss = ref.doubles("loss")[0];
            System.out.printf("parity %-58s rel.err %.3e (tolerance 1e-05)%n", "mamba2 loss",
                    Math.abs(result.loss() - refLoss) / Math.abs(refLoss));
            assertEquals(refLoss, result.loss(), 1e-5 * Math.abs(refLoss), "loss");
            int compared = 0;
            for (Map.Entry<String, Tensor> e : grads.all().entrySet()) {
                Gpu.close("mamba2 grad." + e.getKey(), gpu.toHost(e.getValue()), ref.doubles("grad." + e.getKey()), GRAD);
                compared++;
            }
            assertEquals(ref.tensors().keySet().stream().filter(k -> k.startsWith("grad.")).count(), compared,
                    "every reference gradient has a counterpart");
        }
    }

    @Test
    void aReplayedMamba2StepGivesTheReferenceLogits() throws Exception {
        CudaBackend gpu = Gpu.backend();
        Path dir = Fixtures.dir("tiny-mamba2");
        MambaCheckpoint checkpoint = MambaCheckpoint.load(dir);
        try (SafeTensorsReader ref = SafeTensorsReader.open(dir.resolve("reference.safetensors"))) {
            int[] ids = Fixtures.toInts(ref.longs("input_ids"));
            MambaModel model = MambaModel.load(gpu, checkpoint);
            int promptLen = (int) ref.longs("decode.prompt_len")[0];
            int[] fed = Fixtures.toInts(ref.longs("decode.fed_tokens"));
            double[] stepLogits = ref.doubles("decode.step_logits");
            int vocab = checkpoint.config().paddedVocabSize();
            MambaState state = model.newState(1);
            model.forward(Arrays.copyOfRange(ids, 0, promptLen), 1, promptLen, state);
            int[] token = {fed[0]};
            Tensor logits = gpu.allocate(1, vocab);
            try (Backend.Replay step = gpu.record(() -> {
                Tensor h = model.backbone(token, 1, 1, state, null);
                model.logits(h, logits);
                gpu.release(h);
            }, token)) {
                assertNotNull(step, "the cuda backend records");
                for (int s = 0; s < fed.length; s++) {
                    token[0] = fed[s];
                    step.run();
                    Gpu.close("mamba2 replayed decode step " + s, gpu.toHost(logits),
                            Arrays.copyOfRange(stepLogits, s * vocab, (s + 1) * vocab), FWD);
                }
            }
        }
    }

    @Test
    void groupedBiasedUntiedModelMatchesTheCpuForwardStreamingAndGradients() {
        CudaBackend gpu = Gpu.backend();
        MambaCheckpoint checkpoint = RandomModels.create(RandomModels.smallUntiedMamba2(), 17);
        int batch = 2, len = 37, split = 21, vocab = checkpoint.config().paddedVocabSize();
        int[] ids = RandomModels.randomIds(batch * len, checkpoint.config().vocabSize(), 5);
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel onCpu = MambaModel.load(cpu, checkpoint), onGpu = MambaModel.load(gpu, checkpoint);
            float[] ref = onCpu.forward(ids, batch, len);
            Gpu.close("mamba2 3 groups logits vs cpu", onGpu.forward(ids, batch, len), ref, FWD);
            // the same sequences streamed through the state in two pieces (one crossing a chunk boundary)
            MambaState state = onGpu.newState(batch);
            float[] first = onGpu.forward(slice(ids, batch, len, 0, split), batch, split, state);
            float[] second = onGpu.forward(slice(ids, batch, len, split, len), batch, len - split, state);
            float[] streamed = new float[ref.length];
            for (int b = 0; b < batch; b++) {
                System.arraycopy(first, b * split * vocab, streamed, b * len * vocab, split * vocab);
                System.arraycopy(second, b * (len - split) * vocab, streamed, (b * len + split) * vocab, (len - split) * vocab);
            }
            Gpu.close("mamba2 3 groups streamed in two pieces vs cpu", streamed, ref, FWD);

            Gradients gc = onCpu.newGradients(), gg = onGpu.newGradients();
            double lc = LanguageModelLoss.lossAndGradients(onCpu, ids, batch, len, gc, 1f).loss();
            double lg = LanguageModelLoss.lossAndGradients(onGpu, ids, batch, len, gg, 1f).loss();
            assertEquals(lc, lg, 1e-5 * Math.abs(lc), "loss");
            for (Map.Entry<String, Tensor> e : gc.all().entrySet())
                Gpu.close("mamba2 3 groups grad." + e.getKey() + " vs cpu", gpu.toHost(gg.get(e.getKey())), cpu.toHost(e.getValue()), GRAD);
        }
    }

    /** Positions [from, to) of every sequence. */
    static int[] slice(int[] ids, int batch, int len, int from, int to) {
        int[] out = new int[batch * (to - from)];
        for (int b = 0; b < batch; b++) System.arraycopy(ids, b * len + from, out, b * (to - from), to - from);
        return out;
    }
}
