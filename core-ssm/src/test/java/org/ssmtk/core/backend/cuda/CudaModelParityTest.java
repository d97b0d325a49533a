package org.ssmtk.core.backend.cuda;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.nn.Gradients;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.nn.MambaState;
import org.ssmtk.core.tensor.Tensor;
import org.ssmtk.core.train.LanguageModelLoss;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The whole model on the cuda backend against transformers in float64 (fixtures/tiny-mamba). */
class CudaModelParityTest {

    @Test
    void forwardDecodingAndGradientsMatchTheReference() throws Exception {
        CudaBackend gpu = Gpu.backend();
        Path dir = Fixtures.dir("tiny-mamba");
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
                Gpu.close("model hidden_states." + k, hidden.get(k), ref.doubles("hidden_states." + k), 1e-5);
            Gpu.close("model logits", gpu.toHost(model.logits(last)), ref.doubles("logits"), 1e-5);

            int promptLen = (int) ref.longs("decode.prompt_len")[0];
            int[] fed = Fixtures.toInts(ref.longs("decode.fed_tokens"));
            double[] stepLogits = ref.doubles("decode.step_logits");
            int vocab = checkpoint.config().paddedVocabSize();
            MambaState state = model.newState(1);
            model.forward(Arrays.copyOfRange(ids, 0, promptLen), 1, promptLen, state);
            for (int s = 0; s < fed.length; s++)
                Gpu.close("model decode step " + s, model.step(new int[]{fed[s]}, state),
                        Arrays.copyOfRange(stepLogits, s * vocab, (s + 1) * vocab), 1e-5);

            Gradients grads = model.newGradients();
            var result = LanguageModelLoss.lossAndGradients(model, ids, batch, len, grads, 1f);
            double refLoss = ref.doubles("loss")[0];
            double lossErr = Math.abs(result.loss() - refLoss) / Math.abs(refLoss);
            System.out.printf("parity %-58s rel.err %.3e (tolerance 1e-05)%n", "model loss", lossErr);
            assertEquals(refLoss, result.loss(), 1e-5 * Math.abs(refLoss), "loss");
            int compared = 0;
            for (Map.Entry<String, Tensor> e : grads.all().entrySet()) {
                Gpu.close("model grad." + e.getKey(), gpu.toHost(e.getValue()), ref.doubles("grad." + e.getKey()), 1e-4);
                compared++;
            }
            assertEquals(ref.tensors().keySet().stream().filter(k -> k.startsWith("grad.")).count(), compared);
        }
    }
}
