package org.ssmtk.core.backend.cuda;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.nn.Gradients;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.tensor.Tensor;
import org.ssmtk.core.train.LanguageModelLoss;

import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Caduceus on the cuda backend against Caduceus' own code in float64 (fixtures/caduceus-*): MLM
 * logits, loss and every gradient. The flips run through Backend's default reverseSequences (a
 * gather through embedding), since the cuda backend has no kernel of its own for them.
 */
class CudaCaduceusParityTest {

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"caduceus-ph-add", "caduceus-ph-ewm", "caduceus-ps-add", "caduceus-ps-ewm", "caduceus-ps-add-unfused"})
    void logitsLossAndGradientsMatchCaduceus(String name) throws Exception {
        CudaBackend gpu = Gpu.backend();
        Path dir = Fixtures.dir(name);
        MambaCheckpoint ck = MambaCheckpoint.load(dir);
        try (SafeTensorsReader ref = SafeTensorsReader.open(dir.resolve("reference.safetensors"))) {
            int[] shape = ref.info("input_ids").intShape();
            int batch = shape[0], len = shape[1];
            int[] ids = Fixtures.toInts(ref.longs("input_ids")), targets = Fixtures.toInts(ref.longs("labels"));
            for (int i = 0; i < targets.length; i++) if (targets[i] == ck.config().padTokenId()) targets[i] = LanguageModelLoss.IGNORE;
            MambaModel model = MambaModel.load(gpu, ck);
            Gpu.close(name + " logits", model.forward(ids, batch, len), ref.doubles("logits"), 1e-5);
            Gradients grads = model.newGradients();
            var result = LanguageModelLoss.lossAndGradients(model, ids, targets, batch, len, grads, 1f);
            double refLoss = ref.doubles("loss")[0];
            assertEquals(refLoss, result.loss(), 1e-5 * Math.abs(refLoss), name + " loss");
            for (Map.Entry<String, Tensor> e : grads.all().entrySet())
                Gpu.close(name + " grad." + e.getKey(), gpu.toHost(e.getValue()), ref.doubles("grad." + e.getKey()), 1e-4);
        }
    }
}
