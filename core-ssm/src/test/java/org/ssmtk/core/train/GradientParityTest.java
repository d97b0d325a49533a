package org.ssmtk.core.train;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.nn.Gradients;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.tensor.Tensor;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssmtk.core.Fixtures.assertClose;

/** Loss and every parameter's gradient against transformers' autograd in float64 (tiny-mamba). */
class GradientParityTest {

    @ParameterizedTest(name = "{0} thread(s)")
    @ValueSource(ints = {1, 2})
    void lossAndEveryGradientMatchTheReference(int threads) throws Exception {
        var dir = Fixtures.dir("tiny-mamba");
        try (SafeTensorsReader ref = SafeTensorsReader.open(dir.resolve("reference.safetensors"));
             CpuBackend cpu = new CpuBackend(threads)) {
            int[] shape = ref.info("input_ids").intShape();
            int[] ids = Fixtures.toInts(ref.longs("input_ids"));
            MambaModel model = MambaModel.load(cpu, MambaCheckpoint.load(dir));
            Gradients grads = model.newGradients();
            var result = LanguageModelLoss.lossAndGradients(model, ids, shape[0], shape[1], grads, 1f);
            double refLoss = ref.doubles("loss")[0];
            assertEquals(refLoss, result.loss(), 1e-5 * Math.abs(refLoss), "loss");
            int compared = 0;
            for (Map.Entry<String, Tensor> e : grads.all().entrySet()) {
                assertClose("grad." + e.getKey(), cpu.toHost(e.getValue()), ref.doubles("grad." + e.getKey()), 1e-4);
                compared++;
            }
            assertEquals(grads.all().size(), compared);
            assertEquals(ref.tensors().keySet().stream().filter(k -> k.startsWith("grad.")).count(), compared,
                    "every reference gradient has a counterpart");
        }
    }

    /** The LM head, loss and head backward taken in blocks of rows that do not divide the rows: still transformers' numbers. */
    @ParameterizedTest(name = "blocks of {0} rows")
    @ValueSource(ints = {1, 3, 7})
    void logitsInBlocksMatchTheReference(int blockRows) throws Exception {
        var dir = Fixtures.dir("tiny-mamba");
        try (SafeTensorsReader ref = SafeTensorsReader.open(dir.resolve("reference.safetensors"));
             CpuBackend cpu = new CpuBackend(2)) {
            int[] shape = ref.info("input_ids").intShape();
            int[] ids = Fixtures.toInts(ref.longs("input_ids"));
            assertTrue(shape[0] * shape[1] > blockRows, "several blocks");
            MambaModel model = MambaModel.load(cpu, MambaCheckpoint.load(dir));
            Gradients grads = model.newGradients();
            var result = LanguageModelLoss.lossAndGradients(model, ids,
                    LanguageModelLoss.nextTokenTargets(ids, shape[0], shape[1], LanguageModelLoss.IGNORE), shape[0], shape[1],
                    grads, 1f, blockRows);
            double refLoss = ref.doubles("loss")[0];
            assertEquals(refLoss, result.loss(), 1e-5 * Math.abs(refLoss), "loss");
            for (Map.Entry<String, Tensor> e : grads.all().entrySet())
                assertClose("grad." + e.getKey(), cpu.toHost(e.getValue()), ref.doubles("grad." + e.getKey()), 1e-4);
        }
    }

    @org.junit.jupiter.api.Test
    void recomputedActivationsGiveTheSameBitsAsKeptOnes() throws Exception {
        var dir = Fixtures.dir("tiny-mamba");
        try (SafeTensorsReader ref = SafeTensorsReader.open(dir.resolve("reference.safetensors"));
             CpuBackend cpu = new CpuBackend(2)) {
            int[] shape = ref.info("input_ids").intShape();
            int[] ids = Fixtures.toInts(ref.longs("input_ids"));
            MambaModel model = MambaModel.load(cpu, MambaCheckpoint.load(dir));
            Gradients kept = model.newGradients(), recomputed = model.newGradients();
            var a = LanguageModelLoss.lossAndGradients(model, ids, shape[0], shape[1], kept, 1f);
            model.recomputeActivations(true);
            var b = LanguageModelLoss.lossAndGradients(model, ids, shape[0], shape[1], recomputed, 1f);
            assertEquals(a.loss(), b.loss(), 0.0, "loss");
            for (Map.Entry<String, Tensor> e : kept.all().entrySet())
                org.junit.jupiter.api.Assertions.assertArrayEquals(cpu.toHost(e.getValue()), cpu.toHost(recomputed.get(e.getKey())),
                        "grad." + e.getKey());
            // and still transformers' gradients
            for (Map.Entry<String, Tensor> e : recomputed.all().entrySet())
                assertClose("grad." + e.getKey(), cpu.toHost(e.getValue()), ref.doubles("grad." + e.getKey()), 1e-4);
        }
    }
}
