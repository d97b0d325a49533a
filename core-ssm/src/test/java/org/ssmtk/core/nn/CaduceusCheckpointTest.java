package org.ssmtk.core.nn;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.RandomModels;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.CaduceusSettings;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.io.ModelFormatException;
import org.ssmtk.core.io.SafeTensorsWriter;
import org.ssmtk.core.tensor.HostTensor;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.*;

/** Caduceus' config.json and state_dict layout: read, written back, and what loading tolerates. */
class CaduceusCheckpointTest {

    /** The layout of a published CaduceusForMaskedLM config.json (values of a small model). */
    static final String CONFIG = """
            {"architectures": ["CaduceusForMaskedLM"], "model_type": "caduceus",
             "d_model": 8, "n_layer": 2, "vocab_size": 12, "pad_vocab_size_multiple": 8,
             "ssm_cfg": {"d_state": 4, "d_conv": 3, "expand": 2, "dt_rank": "auto", "dt_min": 0.002, "dt_max": 0.2,
                         "dt_init": "random", "dt_scale": 1.0, "dt_init_floor": 1e-4, "conv_bias": true, "bias": false},
             "rms_norm": true, "residual_in_fp32": false, "fused_add_norm": true, "norm_epsilon": 1e-5,
             "initializer_cfg": {"initializer_range": 0.02, "rescale_prenorm_residual": true, "n_residuals_per_layer": 1},
             "bidirectional": true, "bidirectional_strategy": "ew_multiply", "bidirectional_weight_tie": true,
             "rcps": true,
             "complement_map": {"0": 0, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5, "6": 6, "7": 10, "8": 9, "9": 8, "10": 7, "11": 11},
             "pad_token_id": 4}
            """;

    @Test
    void readsCaduceusConfigAndWritesItBack(@TempDir Path dir) throws Exception {
        MambaConfig c = MambaConfig.parse(CONFIG);
        assertEquals(MambaConfig.CADUCEUS, c.modelType());
        assertEquals(8, c.hiddenSize());
        assertEquals(2, c.numHiddenLayers());
        assertEquals(16, c.paddedVocabSize());
        assertEquals(4, c.stateSize());
        assertEquals(3, c.convKernel());
        assertEquals(16, c.intermediateSize());
        assertEquals(1, c.timeStepRank());
        assertEquals(0.002, c.timeStepMin());
        assertEquals(4, c.padTokenId());
        assertTrue(c.tieWordEmbeddings());
        CaduceusSettings s = c.caduceus();
        assertTrue(s.rcps() && s.bidirectional() && s.weightTie() && s.fusedAddNorm());
        assertEquals(CaduceusSettings.EW_MULTIPLY, s.strategy());
        // the given pairs, then the padding ids 12..15 as their own complements
        assertArrayEquals(CaduceusSettings.characterComplementMap(16), s.complementMap());
        c.write(dir.resolve("config.json"));
        assertEquals(c, MambaConfig.read(dir.resolve("config.json")));
        assertEquals("CaduceusForMaskedLM", new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(dir.resolve("config.json").toFile()).path("architectures").path(0).asText());
    }

    @Test
    void refusesWhatItCannotCompute() {
        var e = assertThrows(IllegalArgumentException.class, () -> MambaConfig.parse(CONFIG.replace("\"rms_norm\": true", "\"rms_norm\": false")));
        assertTrue(e.getMessage().contains("rms_norm"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MambaConfig.parse(CONFIG.replace("\"ew_multiply\"", "\"concat\"")));
        assertTrue(e.getMessage().contains("bidirectional_strategy"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MambaConfig.parse(CONFIG.replace("\"7\": 10", "\"7\": 99")));
        assertTrue(e.getMessage().contains("complement_map"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> MambaConfig.parse(CONFIG.replace("\"complement_map\"", "\"other_map\"")));
        assertTrue(e.getMessage().contains("complement_map"), e.getMessage());
    }

    /**
     * PyTorch's state_dict repeats tied tensors under every name and carries the RCPS modules'
     * complement maps as int64 buffers: loading accepts both (equal copies only), saving writes each
     * parameter once, and the model computes the same either way.
     */
    @Test
    void loadsAStateDictWithTiedCopiesAndBuffers(@TempDir Path dir) throws Exception {
        MambaConfig c = MambaConfig.parse(CONFIG);
        MambaCheckpoint ck = RandomModels.create(c, 3);
        SafeTensorsWriter w = new SafeTensorsWriter();
        ck.parameters().forEach((k, v) -> w.putF32(k, v.data(), v.shape()));
        String fwd = "caduceus.backbone.layers.1.mixer.submodule.mamba_fwd.in_proj.weight";
        HostTensor in = ck.parameters().get(fwd);
        w.putF32(fwd.replace("mamba_fwd", "mamba_rev"), in.data(), in.shape());
        HostTensor emb = ck.parameters().get("caduceus.backbone.embeddings.word_embeddings.embedding.weight");
        w.putF32("lm_head.lm_head.weight", emb.data(), emb.shape());
        long[] map = new long[16];
        int[] comp = c.caduceus().complementMap();
        for (int i = 0; i < 16; i++) map[i] = comp[i];
        w.putI64("lm_head.complement_map", map, 16);
        w.putI64("caduceus.backbone.embeddings.word_embeddings.complement_map", map, 16);
        Files.createDirectories(dir.resolve("m"));
        w.write(dir.resolve("m/model.safetensors"));
        c.write(dir.resolve("m/config.json"));
        MambaCheckpoint loaded = MambaCheckpoint.load(dir.resolve("m"));
        assertEquals(ck.parameters().keySet(), loaded.parameters().keySet());
        int[] ids = CaduceusModelTest.dnaIds(2 * 9, 1);
        try (CpuBackend cpu = new CpuBackend(1)) {
            assertArrayEquals(MambaModel.load(cpu, ck).forward(ids, 2, 9), MambaModel.load(cpu, loaded).forward(ids, 2, 9));
        }
        loaded.save(dir.resolve("again"));
        assertEquals(ck.parameters().keySet(), MambaCheckpoint.load(dir.resolve("again")).parameters().keySet());

        // a "tied" copy that differs is named
        SafeTensorsWriter bad = new SafeTensorsWriter();
        ck.parameters().forEach((k, v) -> bad.putF32(k, v.data(), v.shape()));
        float[] other = in.data().clone();
        other[0] += 1;
        bad.putF32(fwd.replace("mamba_fwd", "mamba_rev"), other, in.shape());
        bad.write(dir.resolve("m/model.safetensors"));
        var e = assertThrows(ModelFormatException.class, () -> MambaCheckpoint.load(dir.resolve("m")));
        assertTrue(e.getMessage().contains("mamba_rev.in_proj.weight that differs from"), e.getMessage());
    }

    @Test
    void reverseSequencesReversesPositionsAndOptionallyColumns() {
        try (CpuBackend cpu = new CpuBackend(2)) {
            int batch = 3, len = 5, n = 4;
            float[] x = new float[batch * len * n];
            for (int i = 0; i < x.length; i++) x[i] = i;
            var in = cpu.fromHost(x, batch * len, n);
            for (boolean cols : new boolean[]{false, true}) {
                var out = cpu.allocate(batch * len, n);
                cpu.reverseSequences(out, in, batch, len, cols);
                float[] o = cpu.toHost(out);
                for (int b = 0; b < batch; b++)
                    for (int t = 0; t < len; t++)
                        for (int k = 0; k < n; k++)
                            assertEquals(x[(b * len + len - 1 - t) * n + (cols ? n - 1 - k : k)], o[(b * len + t) * n + k]);
            }
            assertThrows(IllegalArgumentException.class, () -> cpu.reverseSequences(in, in, batch, len, false));
        }
    }
}
