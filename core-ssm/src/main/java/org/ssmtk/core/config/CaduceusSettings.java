package org.ssmtk.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.Arrays;
import java.util.Iterator;
import java.util.Map;

/**
 * What a Caduceus config.json ({@code model_type: "caduceus"}, kuleshov-group's CaduceusConfig)
 * adds to the Mamba-1 settings that {@link MambaConfig} holds: the bidirectional pair of mixers and
 * reverse-complement parameter sharing. CaduceusConfig speaks mamba_ssm's vocabulary (d_model,
 * n_layer, ssm_cfg, norm_epsilon, initializer_cfg); {@link #fromJson} maps it onto MambaConfig's
 * fields with CaduceusConfig's and mamba_ssm's defaults, and {@link #toJson} writes it back in that
 * layout, so a directory written here loads in Caduceus' own code.
 *
 * @param bidirectional  a second Mamba reads each sequence reversed (BiMamba); false: forward only
 * @param strategy       how the two directions combine: {@link #ADD} or {@link #EW_MULTIPLY}
 * @param weightTie      the reverse Mamba shares in_proj and out_proj with the forward one
 * @param rcps           reverse-complement parameter sharing (Caduceus-PS)
 * @param fusedAddNorm   CaduceusConfig's fused_add_norm. It changes the function only with rcps: the
 *                       fused RCPS block feeds the reverse-complement half to the forward slot and
 *                       vice versa (see {@code Strands}), which the unfused wrapper does not
 * @param complementMap  token id to the id of its complement, one entry per padded vocabulary id
 *                       (ids past the map given are their own complement, as Caduceus pads it)
 */
public record CaduceusSettings(boolean bidirectional, String strategy, boolean weightTie, boolean rcps,
                               boolean fusedAddNorm, int[] complementMap) {

    public static final String ADD = "add", EW_MULTIPLY = "ew_multiply";

    public CaduceusSettings {
        if (!ADD.equals(strategy) && !EW_MULTIPLY.equals(strategy))
            throw new IllegalArgumentException("bidirectional_strategy must be \"add\" or \"ew_multiply\", got " + strategy);
        complementMap = complementMap.clone();
        for (int i = 0; i < complementMap.length; i++)
            if (complementMap[i] < 0 || complementMap[i] >= complementMap.length)
                throw new IllegalArgumentException("complement_map[" + i + "] = " + complementMap[i]
                        + " is outside the vocabulary [0, " + complementMap.length + ")");
    }

    @Override
    public int[] complementMap() {
        return complementMap.clone();
    }

    /** A Caduceus model with mamba_ssm's and CaduceusConfig's defaults for everything but the shape. */
    public static MambaConfig config(int vocabSize, int dModel, int dState, int nLayer, int padVocabSizeMultiple,
                                     CaduceusSettings settings) {
        return new MambaConfig(vocabSize, dModel, dState, nLayer, 2, 4, MambaConfig.autoRank(dModel), 2 * dModel,
                false, true, 1e-5, true, padVocabSizeMultiple, true, 0.02, 1.0, 0.001, 0.1, 1e-4, "random", true,
                -1, 0, 0, true, 0, MambaConfig.POOL_MEAN, MambaConfig.CADUCEUS, null, settings);
    }

    /** The character tokenizer's complement map (A<->T, C<->G at ids 7..10, everything else itself), padded. */
    public static int[] characterComplementMap(int paddedVocab) {
        int[] m = new int[paddedVocab];
        for (int i = 0; i < m.length; i++) m[i] = i;
        m[7] = 10; m[10] = 7; m[8] = 9; m[9] = 8;
        return m;
    }

    static MambaConfig fromJson(JsonNode n) {
        JsonNode ssm = n.path("ssm_cfg");
        if (!ssm.isMissingNode() && !ssm.isNull() && !ssm.isObject())
            throw new IllegalArgumentException("ssm_cfg must be an object");
        if (!n.path("rms_norm").asBoolean(true))
            throw new IllegalArgumentException("rms_norm = false (LayerNorm) is not supported; every published Caduceus uses RMSNorm");
        int d = MambaConfig.intField(n, 2560, "d_model");
        int expand = MambaConfig.intField(ssm, 2, "expand");
        JsonNode rank = ssm.path("dt_rank");
        int dtRank;
        if (rank.isMissingNode() || rank.isNull() || "auto".equals(rank.asText())) dtRank = MambaConfig.autoRank(d);
        else if (rank.isIntegralNumber()) dtRank = rank.asInt();
        else throw new IllegalArgumentException("ssm_cfg.dt_rank must be an integer or \"auto\", got " + rank);
        JsonNode init = n.path("initializer_cfg");
        int vocab = MambaConfig.intField(n, 50277, "vocab_size");
        int multiple = MambaConfig.intField(n, 8, "pad_vocab_size_multiple");
        if (multiple < 1) throw new IllegalArgumentException("pad_vocab_size_multiple must be at least 1");
        int padded = (vocab + multiple - 1) / multiple * multiple;
        boolean bidirectional = n.path("bidirectional").asBoolean(true);
        JsonNode strategy = n.path("bidirectional_strategy");
        boolean rcps = n.path("rcps").asBoolean(false);
        JsonNode map = n.path("complement_map");
        if (rcps && (map.isMissingNode() || map.isNull()))
            throw new IllegalArgumentException("rcps = true needs a complement_map");
        CaduceusSettings settings = new CaduceusSettings(bidirectional,
                strategy.isMissingNode() || strategy.isNull() ? ADD : strategy.asText(),
                n.path("bidirectional_weight_tie").asBoolean(true), rcps,
                n.path("fused_add_norm").asBoolean(true), complementMap(map, padded));
        return new MambaConfig(
                vocab, d,
                MambaConfig.intField(ssm, 16, "d_state"),
                MambaConfig.intField(n, 64, "n_layer"),
                expand,
                MambaConfig.intField(ssm, 4, "d_conv"),
                dtRank,
                expand * d,
                ssm.path("bias").asBoolean(false),
                ssm.path("conv_bias").asBoolean(true),
                n.path("norm_epsilon").asDouble(1e-5),
                // CaduceusForMaskedLM ties its head to the embeddings as transformers does, and always under RCPS
                rcps || n.path("tie_word_embeddings").asBoolean(true),
                multiple,
                n.path("residual_in_fp32").asBoolean(true),
                init.path("initializer_range").asDouble(0.02),
                ssm.path("dt_scale").asDouble(1.0),
                ssm.path("dt_min").asDouble(0.001),
                ssm.path("dt_max").asDouble(0.1),
                ssm.path("dt_init_floor").asDouble(1e-4),
                ssm.path("dt_init").asText("random"),
                init.path("rescale_prenorm_residual").asBoolean(true),
                n.hasNonNull("pad_token_id") ? MambaConfig.intField(n, -1, "pad_token_id") : -1,
                MambaConfig.intField(n, 0, "bos_token_id"),
                MambaConfig.intField(n, 0, "eos_token_id"),
                // ssmtk's classification head on a Caduceus backbone (dna train-classifier), stored as on Mamba models
                true, MambaConfig.classifierLabels(n.path("ssmtk_classifier")),
                n.path("ssmtk_classifier").path("pooling").asText(MambaConfig.POOL_MEAN), MambaConfig.CADUCEUS, null, settings);
    }

    /** complement_map's {"id": id} pairs over the padded vocabulary; absent: every id is its own complement. */
    private static int[] complementMap(JsonNode map, int padded) {
        int[] m = new int[padded];
        for (int i = 0; i < padded; i++) m[i] = i;
        if (map.isMissingNode() || map.isNull()) return m;
        if (!map.isObject()) throw new IllegalArgumentException("complement_map must be an object {\"id\": id, ...}");
        for (Iterator<Map.Entry<String, JsonNode>> it = map.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            int k;
            try {
                k = Integer.parseInt(e.getKey());
            } catch (NumberFormatException x) {
                throw new IllegalArgumentException("complement_map key '" + e.getKey() + "' is not a token id");
            }
            if (k < 0 || k >= padded || !e.getValue().isIntegralNumber())
                throw new IllegalArgumentException("complement_map entry " + k + ": " + e.getValue()
                        + " (ids must lie in [0, " + padded + "))");
            m[k] = e.getValue().asInt();
        }
        return m;
    }

    ObjectNode toJson(MambaConfig c) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.putArray("architectures").add("CaduceusForMaskedLM");
        o.put("model_type", MambaConfig.CADUCEUS);
        o.put("d_model", c.hiddenSize());
        o.put("n_layer", c.numHiddenLayers());
        o.put("vocab_size", c.vocabSize());
        o.put("pad_vocab_size_multiple", c.padVocabSizeMultiple());
        ObjectNode ssm = o.putObject("ssm_cfg");
        ssm.put("d_state", c.stateSize());
        ssm.put("d_conv", c.convKernel());
        ssm.put("expand", c.expand());
        ssm.put("dt_rank", c.timeStepRank());
        ssm.put("dt_min", c.timeStepMin());
        ssm.put("dt_max", c.timeStepMax());
        ssm.put("dt_init", c.timeStepInitScheme());
        ssm.put("dt_scale", c.timeStepScale());
        ssm.put("dt_init_floor", c.timeStepFloor());
        ssm.put("conv_bias", c.useConvBias());
        ssm.put("bias", c.useBias());
        o.put("rms_norm", true);
        o.put("residual_in_fp32", c.residualInFp32());
        o.put("fused_add_norm", fusedAddNorm);
        o.put("norm_epsilon", c.layerNormEpsilon());
        o.putObject("initializer_cfg").put("initializer_range", c.initializerRange())
                .put("rescale_prenorm_residual", c.rescalePrenormResidual()).put("n_residuals_per_layer", 1);
        o.put("bidirectional", bidirectional);
        o.put("bidirectional_strategy", strategy);
        o.put("bidirectional_weight_tie", weightTie);
        o.put("rcps", rcps);
        ObjectNode map = o.putObject("complement_map");
        for (int i = 0; i < complementMap.length; i++) map.put(Integer.toString(i), complementMap[i]);
        o.put("tie_word_embeddings", c.tieWordEmbeddings());
        if (c.padTokenId() >= 0) o.put("pad_token_id", c.padTokenId());
        o.put("bos_token_id", c.bosTokenId());
        o.put("eos_token_id", c.eosTokenId());
        if (c.hasClassifier()) o.putObject("ssmtk_classifier").put("num_labels", c.numLabels()).put("pooling", c.pooling());
        return o;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CaduceusSettings s && bidirectional == s.bidirectional && strategy.equals(s.strategy)
                && weightTie == s.weightTie && rcps == s.rcps && fusedAddNorm == s.fusedAddNorm
                && Arrays.equals(complementMap, s.complementMap);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(complementMap) * 31 + Boolean.hashCode(rcps) + strategy.hashCode();
    }

    @Override
    public String toString() {
        return "CaduceusSettings[bidirectional=" + bidirectional + ", strategy=" + strategy + ", weightTie=" + weightTie
                + ", rcps=" + rcps + ", fusedAddNorm=" + fusedAddNorm + ", complementMap=" + Arrays.toString(complementMap) + "]";
    }
}
