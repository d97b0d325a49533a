package org.ssmtk.core.nn;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.tensor.Tensor;
import org.ssmtk.core.train.LanguageModelLoss;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.ssmtk.core.Fixtures.assertClose;

/**
 * The CPU model against Caduceus' own CaduceusForMaskedLM in float64 (fixtures/caduceus-*, see
 * README-caduceus.md): MLM logits, every hidden state, the backbone's output, the loss over masked
 * positions and every parameter's gradient, for Ph and PS, add and ew_multiply, fused and unfused
 * add+norm; and the reverse complement's logits.
 */
class CaduceusParityTest {
    static final double FORWARD = 1e-5, GRADIENT = 1e-4;

    /**
     * Our stack's rows (strands * rows, d) in Caduceus' layout (rows, strands * d): PS keeps the
     * reverse-complement strand in the second half flipped along length and channels.
     * {@code aligned}: the second strand's rows are already in forward positions (the backbone's output).
     */
    static float[] caduceusLayout(float[] stack, int strands, int batch, int len, int d, boolean aligned) {
        if (strands == 1) return stack;
        int rows = batch * len;
        float[] out = new float[rows * 2 * d];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < len; t++) {
                int r = b * len + t, src = rows + b * len + (aligned ? t : len - 1 - t);
                for (int k = 0; k < d; k++) {
                    out[r * 2 * d + k] = stack[r * d + k];
                    out[r * 2 * d + d + k] = stack[src * d + d - 1 - k];
                }
            }
        return out;
    }

    /**
     * Backend's default reverseSequences (a gather through embedding: what a backend without its own
     * kernel, CUDA included, runs) on the CPU's other ops: the same logits and gradients as the
     * CPU's own kernel, which the reference checks above.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"caduceus-ph-ewm", "caduceus-ps-add"})
    void theDefaultReversalGivesTheSameResults(String name) throws Exception {
        Path dir = Fixtures.dir(name);
        MambaCheckpoint ck = MambaCheckpoint.load(dir);
        try (SafeTensorsReader ref = SafeTensorsReader.open(dir.resolve("reference.safetensors"));
             CpuBackend cpu = new CpuBackend(2)) {
            Backend gather = (Backend) java.lang.reflect.Proxy.newProxyInstance(Backend.class.getClassLoader(),
                    new Class<?>[]{Backend.class}, (proxy, m, args) -> {
                        if (m.getName().equals("reverseSequences")) return java.lang.reflect.InvocationHandler.invokeDefault(proxy, m, args);
                        try {
                            return m.invoke(cpu, args);
                        } catch (java.lang.reflect.InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
            int[] shape = ref.info("input_ids").intShape();
            int[] ids = Fixtures.toInts(ref.longs("input_ids")), targets = Fixtures.toInts(ref.longs("labels"));
            for (int i = 0; i < targets.length; i++) if (targets[i] == ck.config().padTokenId()) targets[i] = LanguageModelLoss.IGNORE;
            MambaModel own = MambaModel.load(cpu, ck), viaGather = MambaModel.load(gather, ck);
            org.junit.jupiter.api.Assertions.assertArrayEquals(own.forward(ids, shape[0], shape[1]), viaGather.forward(ids, shape[0], shape[1]));
            Gradients a = own.newGradients(), b = viaGather.newGradients();
            LanguageModelLoss.lossAndGradients(own, ids, targets, shape[0], shape[1], a, 1f);
            LanguageModelLoss.lossAndGradients(viaGather, ids, targets, shape[0], shape[1], b, 1f);
            for (var e : a.all().entrySet())
                org.junit.jupiter.api.Assertions.assertArrayEquals(cpu.toHost(e.getValue()), cpu.toHost(b.get(e.getKey())), e.getKey());
        }
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"caduceus-ph-add", "caduceus-ph-ewm", "caduceus-ps-add", "caduceus-ps-ewm", "caduceus-ps-add-unfused"})
    void logitsHiddenStatesLossAndGradientsMatchCaduceus(String name) throws Exception {
        Path dir = Fixtures.dir(name);
        MambaCheckpoint ck = MambaCheckpoint.load(dir);
        try (SafeTensorsReader ref = SafeTensorsReader.open(dir.resolve("reference.safetensors"));
             CpuBackend cpu = new CpuBackend(2)) {
            int[] shape = ref.info("input_ids").intShape();
            int batch = shape[0], len = shape[1], d = ck.config().hiddenSize(), layers = ck.config().numHiddenLayers();
            int[] ids = Fixtures.toInts(ref.longs("input_ids"));
            MambaModel model = MambaModel.load(cpu, ck);
            int strands = model.strands();
            assertEquals(ck.config().caduceus().rcps() ? 2 : 1, strands);

            Map<Integer, float[]> inputs = new HashMap<>();
            Tensor last = model.backbone(ids, batch, len, null, new MambaModel.HiddenStateSink() {
                @Override
                public void accept(int index, Tensor hidden) {}

                @Override
                public void layerInput(int layer, Tensor hidden) {
                    inputs.put(layer, cpu.toHost(hidden));
                }
            });
            for (int i = 0; i < layers; i++)
                assertClose(name + " hidden_states." + i, caduceusLayout(inputs.get(i), strands, batch, len, d, false),
                        ref.doubles("hidden_states." + i), FORWARD);
            float[] lastHidden = caduceusLayout(cpu.toHost(last), strands, batch, len, d, true);
            assertClose(name + " last_hidden_state", lastHidden, ref.doubles("last_hidden_state"), FORWARD);
            if (ck.config().caduceus().fusedAddNorm()) // the fused path also lists norm_f's output
                assertClose(name + " hidden_states." + layers, lastHidden, ref.doubles("hidden_states." + layers), FORWARD);
            assertClose(name + " logits", cpu.toHost(model.logits(last)), ref.doubles("logits"), FORWARD);
            assertClose(name + " rc.logits", model.forward(Fixtures.toInts(ref.longs("rc.input_ids")), batch, len),
                    ref.doubles("rc.logits"), FORWARD);

            // the MLM loss: labels carry [PAD] (the config's pad_token_id) where nothing is predicted
            int[] targets = Fixtures.toInts(ref.longs("labels"));
            int pad = ck.config().padTokenId();
            for (int i = 0; i < targets.length; i++) if (targets[i] == pad) targets[i] = LanguageModelLoss.IGNORE;
            Gradients grads = model.newGradients();
            var result = LanguageModelLoss.lossAndGradients(model, ids, targets, batch, len, grads, 1f);
            double refLoss = ref.doubles("loss")[0];
            assertEquals(refLoss, result.loss(), FORWARD * Math.abs(refLoss), name + " loss");
            int compared = 0;
            double worstGrad = 0;
            for (var e : grads.all().entrySet()) {
                worstGrad = Math.max(worstGrad, Fixtures.relativeError(cpu.toHost(e.getValue()), ref.doubles("grad." + e.getKey())));
                assertClose(name + " grad." + e.getKey(), cpu.toHost(e.getValue()), ref.doubles("grad." + e.getKey()), GRADIENT);
                compared++;
            }
            System.out.printf("%s: logits %.2e, last hidden %.2e, loss %.2e, worst gradient %.2e (relative)%n", name,
                    Fixtures.relativeError(cpu.toHost(model.logits(model.backbone(ids, batch, len, null, null))), ref.doubles("logits")),
                    Fixtures.relativeError(lastHidden, ref.doubles("last_hidden_state")),
                    Math.abs(result.loss() - refLoss) / Math.abs(refLoss), worstGrad);
            long expected = ref.tensors().keySet().stream().filter(k -> k.startsWith("grad.")).count();
            assertTrue(compared == expected, name + ": " + compared + " gradients compared, the reference has " + expected);
        }
    }
}
