package org.ssmtk.core.nn;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.tensor.Tensor;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.ssmtk.core.Fixtures.assertClose;

/** The CPU model against transformers' MambaForCausalLM in float64 (fixtures/tiny-mamba). */
class ReferenceParityTest {
    static final double FORWARD_TOLERANCE = 1e-5;
    static MambaCheckpoint checkpoint;
    static SafeTensorsReader reference;

    @BeforeAll
    static void load() throws Exception {
        Path dir = Fixtures.dir("tiny-mamba");
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
        int batch = shape[0], len = shape[1];
        int[] ids = Fixtures.toInts(reference.longs("input_ids"));
        try (CpuBackend cpu = new CpuBackend(threads)) {
            MambaModel model = MambaModel.load(cpu, checkpoint);
            Map<Integer, float[]> hidden = new HashMap<>();
            Tensor last = model.backbone(ids, batch, len, null, (k, h) -> hidden.put(k, cpu.toHost(h)));
            int layers = checkpoint.config().numHiddenLayers();
            assertEquals(layers + 1, hidden.size());
            for (int k = 0; k <= layers; k++)
                assertClose("hidden_states." + k, hidden.get(k), reference.doubles("hidden_states." + k), FORWARD_TOLERANCE);
            float[] logits = cpu.toHost(model.logits(last));
            assertClose("logits", logits, reference.doubles("logits"), FORWARD_TOLERANCE);
        }
    }

    @ParameterizedTest(name = "{0} thread(s)")
    @ValueSource(ints = {1, 2})
    void recurrentDecodingMatchesTheReferenceSteps(int threads) throws Exception {
        int[] ids = Fixtures.toInts(reference.longs("input_ids"));
        int promptLen = (int) reference.longs("decode.prompt_len")[0];
        int[] fed = Fixtures.toInts(reference.longs("decode.fed_tokens"));
        double[] stepLogits = reference.doubles("decode.step_logits");
        int vocab = checkpoint.config().paddedVocabSize();
        assertEquals(8, fed.length);
        try (CpuBackend cpu = new CpuBackend(threads)) {
            MambaModel model = MambaModel.load(cpu, checkpoint);
            MambaState state = model.newState(1);
            model.forward(Arrays.copyOfRange(ids, 0, promptLen), 1, promptLen, state);
            for (int s = 0; s < fed.length; s++) {
                float[] logits = model.step(new int[]{fed[s]}, state);
                assertClose("decode step " + s, logits, Arrays.copyOfRange(stepLogits, s * vocab, (s + 1) * vocab), FORWARD_TOLERANCE);
            }
            assertEquals(promptLen + fed.length, state.position());
            // the state after prompt + steps is the one a full forward over the same tokens ends in
            int[] all = new int[promptLen + fed.length];
            System.arraycopy(ids, 0, all, 0, promptLen);
            System.arraycopy(fed, 0, all, promptLen, fed.length);
            MambaState fromFull = model.newState(1);
            model.forward(all, 1, all.length, fromFull);
            assertClose("a step after decoding vs after one full forward", model.step(new int[]{fed[0]}, state),
                    model.step(new int[]{fed[0]}, fromFull), FORWARD_TOLERANCE);
        }
    }
}
