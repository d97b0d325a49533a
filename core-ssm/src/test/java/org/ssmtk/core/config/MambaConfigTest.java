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
}
