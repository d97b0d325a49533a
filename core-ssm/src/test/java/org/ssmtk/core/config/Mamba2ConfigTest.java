package org.ssmtk.core.config;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.Fixtures;
import org.ssmtk.core.io.ModelFormatException;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaCheckpoint;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Mamba-2 configs as transformers' Mamba2Config reads and writes them, and their checkpoints' checks. */
class Mamba2ConfigTest {
    @Test
    void transformersMamba2DefaultsApplyToAbsentKeys() throws IOException {
        MambaConfig c = MambaConfig.parse("{\"model_type\": \"mamba2\"}");
        assertTrue(c.isMamba2());
        assertEquals(32768, c.vocabSize());
        assertEquals(4096, c.hiddenSize());
        assertEquals(8192, c.intermediateSize());
        assertEquals(128, c.ssd().numHeads());
        assertEquals(64, c.ssd().headDim());
        assertEquals(8, c.ssd().nGroups());
        assertEquals(128, c.stateSize());
        assertEquals(64, c.numHiddenLayers());
        assertEquals(256, c.ssd().chunkSize());
        assertEquals(4, c.convKernel());
        assertFalse(c.useBias());
        assertTrue(c.useConvBias());
        assertFalse(c.tieWordEmbeddings());
        assertEquals(0.0, c.ssd().timeStepLimitLow());
        assertEquals(Double.POSITIVE_INFINITY, c.ssd().timeStepLimitHigh());
        assertEquals(1, c.padTokenId());
        assertEquals(2, c.eosTokenId());
    }

    @Test
    void theFixturesConfigReadsWithItsInfinityAndWritesBackTheSame() throws IOException {
        MambaConfig c = MambaConfig.read(Fixtures.dir("tiny-mamba2").resolve("config.json"));
        assertEquals(Double.POSITIVE_INFINITY, c.ssd().timeStepLimitHigh());
        assertEquals(4, c.ssd().numHeads());
        assertEquals(16, c.ssd().headDim());
        assertEquals(8, c.ssd().chunkSize());
        assertTrue(c.tieWordEmbeddings());
        String json = c.toJson().toString();
        assertTrue(json.contains("\"architectures\":[\"Mamba2ForCausalLM\"]"), json);
        assertTrue(json.contains("\"time_step_limit\":[0.0,{\"__float__\":\"Infinity\"}]"), json);
        assertFalse(json.contains("time_step_rank"), "a Mamba-1-only key in " + json);
        assertEquals(c, MambaConfig.fromJson(new ObjectMapper().readTree(json)));
    }

    @Test
    void badMamba2ConfigsAreOneLineNamingTheFile(@TempDir Path dir) throws IOException {
        Path config = dir.resolve("config.json");
        Files.writeString(config, "{\"model_type\": \"mamba2\", \"hidden_size\": 32, \"num_heads\": 3, \"head_dim\": 16, \"n_groups\": 1}");
        var e = assertThrows(ModelFormatException.class, () -> MambaConfig.read(config));
        assertEquals(config + ": num_heads * head_dim (3 * 16) must equal expand * hidden_size (64)", e.getMessage());
        Files.writeString(config, "{\"model_type\": \"mamba2\", \"time_step_limit\": [0.0, \"big\"]}");
        e = assertThrows(ModelFormatException.class, () -> MambaConfig.read(config));
        assertTrue(e.getMessage().contains("time_step_limit holds \"big\""), e.getMessage());
        Files.writeString(config, "{\"model_type\": \"mamba2\", \"num_heads\": 6, \"head_dim\": 32, \"hidden_size\": 96, \"n_groups\": 4}");
        e = assertThrows(ModelFormatException.class, () -> MambaConfig.read(config));
        assertTrue(e.getMessage().endsWith("num_heads (6) must be a multiple of n_groups (4)"), e.getMessage());
    }

    @Test
    void aCheckpointWhoseConfigDisagreesNamesTheTensors(@TempDir Path dir) throws IOException {
        MambaCheckpoint ok = MambaCheckpoint.load(Fixtures.dir("tiny-mamba2"));
        MambaCheckpoint.load(Fixtures.dir("tiny-mamba2")).save(dir);
        // 8 heads of 8 instead of 4 of 16: same d_inner, other per-head and in_proj shapes
        String json = Files.readString(dir.resolve("config.json")).replace("\"num_heads\" : 4", "\"num_heads\" : 8")
                .replace("\"head_dim\" : 16", "\"head_dim\" : 8");
        Files.writeString(dir.resolve("config.json"), json);
        var e = assertThrows(ModelFormatException.class, () -> MambaCheckpoint.load(dir));
        assertTrue(e.getMessage().contains("backbone.layers.0.mixer.A_log has shape [4], expected [8]"), e.getMessage());
        assertTrue(e.getMessage().contains("backbone.layers.0.mixer.in_proj.weight has shape [164, 32], expected [168, 32]"), e.getMessage());
        // the saved copy of the fixture loads back bit for bit
        Path again = dir.resolve("again");
        ok.save(again);
        MambaCheckpoint back = MambaCheckpoint.load(again);
        assertEquals(ok.config(), back.config());
        for (var p : ok.parameters().entrySet())
            assertArrayEquals(p.getValue().data(), back.parameters().get(p.getKey()).data(), p.getKey());
    }

    @Test
    void aFreshMamba2ModelHasTransformersInitialConstants() {
        MambaConfig c = MambaConfig.mamba2(16, 64, 8, 2, 16, 32);
        MambaCheckpoint m = Initializer.reference(c, 3);
        assertArrayEquals(new float[]{0f, (float) Math.log(2), (float) Math.log(3), (float) Math.log(4),
                (float) Math.log(5), (float) Math.log(6), (float) Math.log(7), (float) Math.log(8)},
                m.parameters().get("backbone.layers.1.mixer.A_log").data());
        for (float v : m.parameters().get("backbone.layers.0.mixer.conv1d.bias").data()) assertEquals(0f, v);
        for (float v : m.parameters().get("backbone.layers.0.mixer.norm.weight").data()) assertEquals(1f, v);
        for (float v : m.parameters().get("backbone.layers.0.mixer.dt_bias").data()) {
            double dt = Math.log1p(Math.exp(v));
            assertTrue(dt >= 0.001 * 0.999 && dt <= 0.1 * 1.001, "softplus(dt_bias) = " + dt + " outside [time_step_min, time_step_max]");
        }
    }
}
