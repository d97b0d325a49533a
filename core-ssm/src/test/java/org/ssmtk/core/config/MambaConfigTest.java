package org.ssmtk.core.config;

import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MambaConfigTest {
    @Test
    void transformersDefaultsApplyToAbsentKeys() throws IOException {
        MambaConfig c = MambaConfig.parse("{\"hidden_size\": 40, \"vocab_size\": 10}");
        assertEquals(3, c.timeStepRank(), "auto = ceil(40 / 16)");
        assertEquals(80, c.intermediateSize());
        assertEquals(16, c.stateSize());
        assertEquals(32, c.numHiddenLayers());
        assertEquals(4, c.convKernel());
        assertTrue(c.tieWordEmbeddings());
        assertTrue(c.useConvBias());
        assertEquals(10, c.paddedVocabSize());
    }

    @Test
    void autoRankAndPaddedVocab() throws IOException {
        MambaConfig c = MambaConfig.parse("{\"hidden_size\": 768, \"time_step_rank\": \"auto\", \"vocab_size\": 50277, \"pad_vocab_size_multiple\": 8}");
        assertEquals(48, c.timeStepRank());
        assertEquals(50280, c.paddedVocabSize());
    }

    @Test
    void mambaSsmNamesAreAccepted() throws IOException {
        MambaConfig c = MambaConfig.parse("{\"d_model\": 256, \"n_layer\": 8, \"vocab_size\": 12, \"ssm_cfg\": {\"d_state\": 8}, \"tie_embeddings\": false}");
        assertEquals(256, c.hiddenSize());
        assertEquals(8, c.numHiddenLayers());
        assertEquals(8, c.stateSize());
        assertEquals(false, c.tieWordEmbeddings());
    }

    @Test
    void writtenConfigReadsBackEqual() throws IOException {
        MambaConfig c = MambaConfig.of(11, 24, 5, 3).withBiasesAndHead(true, false, false);
        assertEquals(c, MambaConfig.fromJson(c.toJson()));
    }

    @Test
    void invalidValuesAreRejected() {
        assertThrows(IllegalArgumentException.class, () -> MambaConfig.parse("{\"hidden_size\": 0}"));
        assertThrows(IllegalArgumentException.class, () -> MambaConfig.parse("{\"hidden_act\": \"gelu\"}"));
        assertThrows(IllegalArgumentException.class, () -> MambaConfig.parse("{\"time_step_rank\": \"wide\"}"));
    }

    /**
     * A lower Δ range must reach the initial weights: the floor (1e-4 by default) would otherwise
     * clamp every draw below it, silently keeping the old range.
     */
    @Test
    void aLowerTimeStepRangeReachesDtProjBias() {
        MambaConfig c = MambaConfig.of(16, 32, 8, 1).withTimeStepRange(1e-6, 1e-5);
        assertEquals(1e-6, c.timeStepFloor());
        var m = org.ssmtk.core.nn.Initializer.reference(c, 1);
        float[] bias = m.parameters().get("backbone.layers.0.mixer.dt_proj.bias").data();
        for (float v : bias) {
            double dt = Math.log1p(Math.exp(v));
            assertTrue(dt >= 1e-6 * 0.999 && dt <= 1e-5 * 1.001, "softplus(dt_proj.bias) = " + dt + " outside [1e-6, 1e-5]");
        }
        assertThrows(IllegalArgumentException.class, () -> c.withTimeStepRange(1e-3, 1e-4));
    }
}
