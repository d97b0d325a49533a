package org.ssmtk.core.backend.cuda;

import org.junit.jupiter.api.Test;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.nn.Generator;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.nn.MambaState;
import org.ssmtk.core.nn.Sampler;
import org.ssmtk.core.tensor.Tensor;

import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The recorded decoding step (a CUDA graph) against transformers' decode fixtures and against the step run op by op. */
class CudaGenerationTest {

    @Test
    void aReplayedStepGivesTheReferenceLogitsForEachNewToken() throws Exception {
        CudaBackend gpu = Gpu.backend();
        Path dir = Fixtures.dir("tiny-mamba");
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
                    token[0] = fed[s]; // read anew by every launch
                    step.run();
                    Gpu.close("replayed decode step " + s, gpu.toHost(logits), Arrays.copyOfRange(stepLogits, s * vocab, (s + 1) * vocab), 1e-5);
                }
            }
        }
    }

    @Test
    void recordedAndOpByOpDecodingPickTheSameTokens() throws Exception {
        CudaBackend gpu = Gpu.backend();
        MambaModel model = MambaModel.load(gpu, MambaCheckpoint.load(Fixtures.dir("tiny-mamba")));
        int vocab = model.config().vocabSize(), batch = 3;
        for (double temperature : new double[]{0, 0.9}) {
            int[][] got = new int[2][];
            for (int pass = 0; pass < 2; pass++) {
                MambaState state = model.newState(batch);
                int[] tokens = {1, 2, 3};
                int[] all = new int[batch * 24];
                try (Generator.Decoder d = new Generator.Decoder(model, state, tokens, new Sampler(vocab, temperature, 8, 5), pass == 0)) {
                    for (int s = 0; s < 24; s++) System.arraycopy(d.step(), 0, all, s * batch, batch);
                    // pass 0 runs the fused Mamba-1 step (its own CUDA graph), pass 1 op by op
                    assertTrue(d.fused() == (pass == 0) && !d.recorded());
                }
                got[pass] = all;
            }
            assertArrayEquals(got[1], got[0], "T " + temperature);
        }
    }

    @Test
    void recordedOpByOpAndFusedDecodingPickTheSameTokens() throws Exception {
        CudaBackend gpu = Gpu.backend();
        MambaModel model = MambaModel.load(gpu, MambaCheckpoint.load(Fixtures.dir("tiny-mamba")));
        int vocab = model.config().vocabSize();
        for (int batch : new int[]{1, 6}) {
            for (double temperature : new double[]{0, 0.9}) { // 0: the fused step picks inside its graph
                int[][] got = new int[2][];
                for (int pass = 0; pass < 2; pass++) {
                    MambaState state = model.newState(batch);
                    int[] tokens = new int[batch];
                    for (int i = 0; i < batch; i++) tokens[i] = 1 + i;
                    int[] all = new int[batch * 24];
                    Sampler sampler = new Sampler(vocab, temperature, 8, 5);
                    try (Generator.Decoder d = new Generator.Decoder(model, state, tokens, sampler, true, pass == 0)) {
                        for (int s = 0; s < 24; s++) System.arraycopy(d.step(), 0, all, s * batch, batch);
                        assertTrue(pass == 0 ? d.fused() : d.recorded(), "pass " + pass);
                    }
                    got[pass] = all;
                }
                assertArrayEquals(got[1], got[0], "batch " + batch + ", T " + temperature);
            }
        }
    }

    @Test
    void aBodyThatReadsBackIsRefused() {
        CudaBackend gpu = Gpu.backend();
        Tensor t = gpu.allocate(4);
        assertThrows(RuntimeException.class, () -> gpu.record(() -> gpu.toHost(t)));
        // the stream works after the failed capture
        gpu.fill(t, 2f);
        assertArrayEquals(new float[]{2f, 2f, 2f, 2f}, gpu.toHost(t));
    }
}
