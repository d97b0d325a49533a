package org.ssmtk.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.core.io.ModelFormatException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The hyper-parameters of a Mamba language model, in HuggingFace's {@code MambaConfig} vocabulary
 * so that {@code config.json} files of real checkpoints read as they are. Defaults are the ones
 * transformers applies when a key is absent. The original mamba_ssm names ({@code d_model},
 * {@code n_layer}, {@code ssm_cfg.d_state}, {@code tie_embeddings}) are accepted as aliases.
 */
public record MambaConfig(
        int vocabSize,
        int hiddenSize,
        int stateSize,
        int numHiddenLayers,
        int expand,
        int convKernel,
        int timeStepRank,
        int intermediateSize,
        boolean useBias,
        boolean useConvBias,
        double layerNormEpsilon,
        boolean tieWordEmbeddings,
        int padVocabSizeMultiple,
        boolean residualInFp32,
        double initializerRange,
        double timeStepScale,
        double timeStepMin,
        double timeStepMax,
        double timeStepFloor,
        String timeStepInitScheme,
        boolean rescalePrenormResidual,
        int padTokenId,
        int bosTokenId,
        int eosTokenId,
        boolean selective,
        int numLabels,
        String pooling,
        String modelType,
        SsdConfig ssd,
        CaduceusSettings caduceus) {

    /** Pooling of a sequence-classification head: the mean over positions, or the last position. */
    public static final String POOL_MEAN = "mean", POOL_LAST = "last";
    /** config.json's model_type of Mamba-1 (transformers' MambaConfig); the default when absent. */
    public static final String MAMBA = "mamba";
    /** config.json's model_type of Mamba-2 (transformers' Mamba2Config): the SSD mixer, settings in {@link #ssd}. */
    public static final String MAMBA2 = "mamba2";
    /** config.json's model_type of Caduceus (kuleshov-group's CaduceusConfig): settings in {@link #caduceus}. */
    public static final String CADUCEUS = "caduceus";

    public MambaConfig {
        require(vocabSize > 0, "vocab_size must be positive");
        require(hiddenSize > 0, "hidden_size must be positive");
        require(stateSize > 0, "state_size must be positive");
        require(numHiddenLayers > 0, "num_hidden_layers must be positive");
        require(expand > 0, "expand must be positive");
        require(convKernel > 0, "conv_kernel must be positive");
        require(timeStepRank > 0, "time_step_rank must be positive");
        require(intermediateSize > 0, "intermediate_size must be positive");
        require(layerNormEpsilon > 0, "layer_norm_epsilon must be positive");
        require(padVocabSizeMultiple >= 1, "pad_vocab_size_multiple must be at least 1");
        require(modelType != null && !modelType.isEmpty(), "model_type must be a non-empty string");
        require(numLabels >= 0, "ssmtk_classifier.num_labels must be >= 0");
        require(MAMBA2.equals(modelType) == (ssd != null), "the SSD settings go with model_type mamba2 and only with it");
        if (ssd != null) {
            require((long) ssd.numHeads() * ssd.headDim() == intermediateSize,
                    "num_heads * head_dim (" + ssd.numHeads() + " * " + ssd.headDim() + ") must equal expand * hidden_size ("
                            + intermediateSize + ")");
            require(selective, "a Mamba-2 model is selective (ssmtk_selective applies to Mamba only)");
        }
        require(CADUCEUS.equals(modelType) == (caduceus != null), "the Caduceus settings go with model_type caduceus and only with it");
        int padded = (vocabSize + padVocabSizeMultiple - 1) / padVocabSizeMultiple * padVocabSizeMultiple;
        require(caduceus == null || caduceus.complementMap().length == padded,
                "complement_map must cover the padded vocabulary (" + padded + " ids)");
        require(numLabels == 0 || POOL_MEAN.equals(pooling) || POOL_LAST.equals(pooling),
                "ssmtk_classifier.pooling must be \"mean\" or \"last\", got " + pooling);
        // Every parameter is one Java array: a shape whose element count passes 2^31 would overflow an
        // int deep in the initializer or the loader (an internal error); say which fields make it here.
        fits("vocab_size x hidden_size (the embeddings)", (long) vocabSize * hiddenSize);
        fits("vocab_size rounded up to pad_vocab_size_multiple", vocabSize + (long) padVocabSizeMultiple - 1);
        fits("2 x intermediate_size x hidden_size (in_proj)", 2L * intermediateSize * hiddenSize);
        fits("intermediate_size x (time_step_rank + 2 x state_size) (x_proj)", (long) intermediateSize * (timeStepRank + 2L * stateSize));
        fits("intermediate_size x state_size (A_log)", (long) intermediateSize * stateSize);
        fits("intermediate_size x conv_kernel (conv1d)", (long) intermediateSize * convKernel);
        fits("intermediate_size x time_step_rank (dt_proj)", (long) intermediateSize * timeStepRank);
        fits("ssmtk_classifier.num_labels x hidden_size (the classifier)", (long) numLabels * hiddenSize);
    }

    private static void fits(String what, long elements) {
        if (elements > MAX_TENSOR_ELEMENTS)
            throw new IllegalArgumentException(what + " is " + elements + " elements, more than one tensor can hold here (2^31 - 1)");
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }

    /**
     * Elements of the largest activation a forward or training step over {@code batch} sequences of
     * {@code len} tokens holds in one tensor (an upper bound): every such tensor is one Java array
     * indexed by int, so a shape past 2^31 - 1 would overflow deep in a sampler or kernel. Per token:
     * in_proj's output, x_proj's, Mamba-2's intra-chunk scores (chunk_size per head) and, with
     * {@code allLogits} (a forward that returns every position's logits; training takes them in
     * blocks), the padded vocabulary; per sequence, the scan states kept every 64 steps (d_inner x
     * d_state each); Caduceus-PS runs both strands as one batch of twice the rows.
     */
    public long activationElements(long batch, long len, boolean allLogits) {
        long rows = times(batch, len);
        if (caduceus != null && caduceus.rcps()) rows = times(rows, 2);
        long width = Math.max(allLogits ? paddedVocabSize() : 1, 2L * intermediateSize);
        width = Math.max(width, (long) timeStepRank + 2L * stateSize);
        if (ssd != null) {
            width = Math.max(width, 2L * intermediateSize + 2L * ssd.nGroups() * stateSize + ssd.numHeads());
            width = Math.max(width, (long) ssd.chunkSize() * ssd.numHeads());
        }
        long keptStates = times(times(batch, (len + 63) / 64), (long) intermediateSize * stateSize);
        return Math.max(times(rows, width), keptStates);
    }

    /** a x b for non-negative a, b, saturating at Long.MAX_VALUE. */
    /**
     * Fewer parameters than any model of this shape has (Mamba-1, Mamba-2 and Caduceus alike: the
     * embeddings and, per layer, in_proj's 2 d_inner x hidden and out_proj's d_inner x hidden), without
     * listing them: a config.json with an absurd depth or width is refused by size before anything is
     * allocated. Saturates at Long.MAX_VALUE.
     */
    public long parameterLowerBound() {
        long perLayer = times(3L * intermediateSize, hiddenSize);
        long layers = times(numHiddenLayers, perLayer);
        long embeddings = times(vocabSize, hiddenSize);
        return layers > Long.MAX_VALUE - embeddings ? Long.MAX_VALUE : layers + embeddings;
    }

    private static long times(long a, long b) {
        try {
            return Math.multiplyExact(a, b);
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /** The most elements one tensor (a Java array) holds here. */
    public static final long MAX_TENSOR_ELEMENTS = Integer.MAX_VALUE - 8;

    /** A config with transformers' defaults for everything but the shape. */
    public static MambaConfig of(int vocabSize, int hiddenSize, int stateSize, int numHiddenLayers) {
        return new MambaConfig(vocabSize, hiddenSize, stateSize, numHiddenLayers, 2, 4, autoRank(hiddenSize),
                2 * hiddenSize, false, true, 1e-5, true, 1, true, 0.1, 1.0, 0.001, 0.1, 1e-4, "random", false, 0, 0, 0, true, 0, POOL_MEAN, MAMBA, null, null);
    }

    /**
     * A Mamba-2 config with transformers' defaults for everything but the shape: d_inner = 2 hidden
     * in heads of headDim, one group of B and C, a tied head.
     */
    public static MambaConfig mamba2(int vocabSize, int hiddenSize, int stateSize, int numHiddenLayers, int headDim, int chunkSize) {
        return new MambaConfig(vocabSize, hiddenSize, stateSize, numHiddenLayers, 2, 4, autoRank(hiddenSize),
                2 * hiddenSize, false, true, 1e-5, true, 1, true, 0.1, 1.0, 0.001, 0.1, 1e-4, "random", false, 0, 0, 0, true, 0,
                POOL_MEAN, MAMBA2, new SsdConfig(2 * hiddenSize / headDim, headDim, 1, chunkSize, 0.0, Double.POSITIVE_INFINITY), null);
    }

    public boolean isMamba2() {
        return ssd != null;
    }

    public static int autoRank(int hiddenSize) {
        return (hiddenSize + 15) / 16;
    }

    /** The embedding/LM-head row count: vocab_size rounded up to pad_vocab_size_multiple. */
    public int paddedVocabSize() {
        return (vocabSize + padVocabSizeMultiple - 1) / padVocabSizeMultiple * padVocabSizeMultiple;
    }

    public MambaConfig withLayers(int layers) {
        return new MambaConfig(vocabSize, hiddenSize, stateSize, layers, expand, convKernel, timeStepRank,
                intermediateSize, useBias, useConvBias, layerNormEpsilon, tieWordEmbeddings, padVocabSizeMultiple,
                residualInFp32, initializerRange, timeStepScale, timeStepMin, timeStepMax, timeStepFloor,
                timeStepInitScheme, rescalePrenormResidual, padTokenId, bosTokenId, eosTokenId, selective, numLabels, pooling, modelType, ssd, caduceus);
    }

    /**
     * Another initial Δ range: dt_proj.bias starts at softplus^-1 of a log-uniform draw in [min, max],
     * and the floor (which would clamp draws below it) is lowered to min when above it.
     */
    public MambaConfig withTimeStepRange(double min, double max) {
        if (!(min > 0 && min <= max)) throw new IllegalArgumentException("time step range needs 0 < min <= max, got [" + min + ", " + max + "]");
        return new MambaConfig(vocabSize, hiddenSize, stateSize, numHiddenLayers, expand, convKernel, timeStepRank,
                intermediateSize, useBias, useConvBias, layerNormEpsilon, tieWordEmbeddings, padVocabSizeMultiple,
                residualInFp32, initializerRange, timeStepScale, min, max, Math.min(timeStepFloor, min),
                timeStepInitScheme, rescalePrenormResidual, padTokenId, bosTokenId, eosTokenId, selective, numLabels, pooling, modelType, ssd, caduceus);
    }

    public MambaConfig withBiasesAndHead(boolean useBias, boolean useConvBias, boolean tied) {
        return new MambaConfig(vocabSize, hiddenSize, stateSize, numHiddenLayers, expand, convKernel, timeStepRank,
                intermediateSize, useBias, useConvBias, layerNormEpsilon, tied, padVocabSizeMultiple,
                residualInFp32, initializerRange, timeStepScale, timeStepMin, timeStepMax, timeStepFloor,
                timeStepInitScheme, rescalePrenormResidual, padTokenId, bosTokenId, eosTokenId, selective, numLabels, pooling, modelType, ssd, caduceus);
    }

    /**
     * The paper's ablation: with selective = false, Δ, B and C no longer depend on the input
     * (Δ = softplus(dt_proj.bias) per channel, B and C learned vectors mixer.B_const, mixer.C_const)
     * and x_proj/dt_proj weights are gone: a time-invariant SSM in the same block. Stored in
     * config.json as "ssmtk_selective": false (an ssmtk extension; transformers cannot load it).
     */
    public MambaConfig withSelective(boolean selective) {
        return new MambaConfig(vocabSize, hiddenSize, stateSize, numHiddenLayers, expand, convKernel, timeStepRank,
                intermediateSize, useBias, useConvBias, layerNormEpsilon, tieWordEmbeddings, padVocabSizeMultiple,
                residualInFp32, initializerRange, timeStepScale, timeStepMin, timeStepMax, timeStepFloor,
                timeStepInitScheme, rescalePrenormResidual, padTokenId, bosTokenId, eosTokenId, selective, numLabels, pooling, modelType, ssd, caduceus);
    }

    /**
     * A sequence-classification head on top of norm_f: pooled hidden state -> classifier.weight
     * (numLabels, hidden) and classifier.bias (numLabels). Stored in config.json as
     * "ssmtk_classifier": {"num_labels": K, "pooling": "mean" | "last"}; 0 labels = no head.
     */
    public MambaConfig withClassifier(int numLabels, String pooling) {
        return new MambaConfig(vocabSize, hiddenSize, stateSize, numHiddenLayers, expand, convKernel, timeStepRank,
                intermediateSize, useBias, useConvBias, layerNormEpsilon, tieWordEmbeddings, padVocabSizeMultiple,
                residualInFp32, initializerRange, timeStepScale, timeStepMin, timeStepMax, timeStepFloor,
                timeStepInitScheme, rescalePrenormResidual, padTokenId, bosTokenId, eosTokenId, selective, numLabels, pooling, modelType, ssd, caduceus);
    }

    public boolean hasClassifier() {
        return numLabels > 0;
    }

    public MambaConfig withVocab(int vocabSize) {
        return new MambaConfig(vocabSize, hiddenSize, stateSize, numHiddenLayers, expand, convKernel, timeStepRank,
                intermediateSize, useBias, useConvBias, layerNormEpsilon, tieWordEmbeddings, padVocabSizeMultiple,
                residualInFp32, initializerRange, timeStepScale, timeStepMin, timeStepMax, timeStepFloor,
                timeStepInitScheme, rescalePrenormResidual, padTokenId, bosTokenId, eosTokenId, selective, numLabels, pooling, modelType, ssd, caduceus);
    }

    public static MambaConfig read(Path file) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new ModelFormatException(file + ": not valid JSON: " + e.getOriginalMessage());
        }
        if (root == null || !root.isObject()) throw new ModelFormatException(file + ": not a JSON object");
        try {
            return fromJson(root);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(file + ": " + e.getMessage());
        }
    }

    public static MambaConfig fromJson(JsonNode n) {
        if (MAMBA2.equals(n.path("model_type").asText(MAMBA))) return fromMamba2Json(n);
        if (CADUCEUS.equals(n.path("model_type").asText(MAMBA))) return CaduceusSettings.fromJson(n);
        JsonNode ssm = n.path("ssm_cfg");
        int hidden = intField(n, 768, "hidden_size", "d_model");
        int expand = intField(n, 2, "expand");
        if (ssm.has("expand")) expand = intField(ssm, expand, "expand");
        JsonNode rank = n.has("time_step_rank") ? n.get("time_step_rank") : ssm.path("dt_rank");
        int timeStepRank;
        if (rank.isMissingNode() || rank.isNull() || "auto".equals(rank.asText())) timeStepRank = autoRank(hidden);
        else if (rank.isIntegralNumber() && rank.canConvertToInt()) timeStepRank = rank.asInt();
        else throw new IllegalArgumentException("time_step_rank must be an integer or \"auto\", got " + rank);
        String act = n.path("hidden_act").asText("silu");
        if (!act.equals("silu") && !act.equals("swish"))
            throw new IllegalArgumentException("hidden_act '" + act + "' is not supported (Mamba uses silu)");
        int stateSize = n.has("state_size") ? intField(n, 16, "state_size") : intField(ssm, 16, "d_state");
        int convKernel = n.has("conv_kernel") ? intField(n, 4, "conv_kernel") : intField(ssm, 4, "d_conv");
        boolean tie = n.has("tie_word_embeddings") ? n.get("tie_word_embeddings").asBoolean() : n.path("tie_embeddings").asBoolean(true);
        return new MambaConfig(
                intField(n, 50280, "vocab_size"),
                hidden,
                stateSize,
                intField(n, 32, "num_hidden_layers", "n_layer"),
                expand,
                convKernel,
                timeStepRank,
                intField(n, (int) Math.min(Integer.MAX_VALUE, (long) expand * hidden), "intermediate_size"),
                n.has("use_bias") ? n.get("use_bias").asBoolean() : ssm.path("bias").asBoolean(false),
                n.has("use_conv_bias") ? n.get("use_conv_bias").asBoolean() : ssm.path("conv_bias").asBoolean(true),
                n.path("layer_norm_epsilon").asDouble(1e-5),
                tie,
                intField(n, 1, "pad_vocab_size_multiple"),
                n.path("residual_in_fp32").asBoolean(true),
                n.path("initializer_range").asDouble(0.1),
                n.path("time_step_scale").asDouble(1.0),
                n.path("time_step_min").asDouble(0.001),
                n.path("time_step_max").asDouble(0.1),
                n.path("time_step_floor").asDouble(1e-4),
                n.path("time_step_init_scheme").asText("random"),
                n.path("rescale_prenorm_residual").asBoolean(false),
                intField(n, 0, "pad_token_id"),
                intField(n, 0, "bos_token_id"),
                intField(n, 0, "eos_token_id"),
                n.path("ssmtk_selective").asBoolean(true),
                classifierLabels(n.path("ssmtk_classifier")),
                n.path("ssmtk_classifier").path("pooling").asText(POOL_MEAN),
                n.path("model_type").asText(MAMBA),
                null,
                null);
    }

    /** transformers' Mamba2Config: its own defaults (not MambaConfig's) and no Mamba-1-only keys. */
    private static MambaConfig fromMamba2Json(JsonNode n) {
        String act = n.path("hidden_act").asText("silu");
        if (!act.equals("silu") && !act.equals("swish"))
            throw new IllegalArgumentException("hidden_act '" + act + "' is not supported (Mamba-2 uses silu)");
        if (!n.path("rms_norm").asBoolean(true))
            throw new IllegalArgumentException("rms_norm = false is not supported (every Mamba-2 checkpoint has the gated RMSNorm)");
        int hidden = intField(n, 4096, "hidden_size"), expand = intField(n, 2, "expand");
        return new MambaConfig(
                intField(n, 32768, "vocab_size"),
                hidden,
                intField(n, 128, "state_size"),
                intField(n, 64, "num_hidden_layers"),
                expand,
                intField(n, 4, "conv_kernel"),
                autoRank(hidden), // transformers reads time_step_rank but Mamba-2 has no dt projection to use it
                expand * hidden,
                n.path("use_bias").asBoolean(false),
                n.path("use_conv_bias").asBoolean(true),
                n.path("layer_norm_epsilon").asDouble(1e-5),
                n.path("tie_word_embeddings").asBoolean(false),
                1,
                n.path("residual_in_fp32").asBoolean(true),
                n.path("initializer_range").asDouble(0.1),
                1.0,
                n.path("time_step_min").asDouble(0.001),
                n.path("time_step_max").asDouble(0.1),
                n.path("time_step_floor").asDouble(1e-4),
                "random",
                n.path("rescale_prenorm_residual").asBoolean(false),
                intField(n, 1, "pad_token_id"),
                intField(n, 0, "bos_token_id"),
                intField(n, 2, "eos_token_id"),
                true,
                classifierLabels(n.path("ssmtk_classifier")),
                n.path("ssmtk_classifier").path("pooling").asText(POOL_MEAN),
                MAMBA2,
                SsdConfig.fromJson(n),
                null);
    }

    static int classifierLabels(JsonNode c) {
        if (c.isMissingNode() || c.isNull()) return 0;
        if (!c.isObject()) throw new IllegalArgumentException("ssmtk_classifier must be an object {\"num_labels\": K, \"pooling\": ...}");
        JsonNode k = c.get("num_labels");
        if (k == null || !k.isIntegralNumber() || !k.canConvertToInt() || k.asInt() < 1)
            throw new IllegalArgumentException("ssmtk_classifier.num_labels must be a positive integer, got " + k);
        return k.asInt();
    }

    static int intField(JsonNode n, int fallback, String... names) {
        for (String name : names) {
            JsonNode v = n.get(name);
            if (v == null || v.isNull()) continue;
            if (!v.isIntegralNumber()) throw new IllegalArgumentException(name + " must be an integer, got " + v);
            if (!v.canConvertToInt()) throw new IllegalArgumentException(name + " is " + v + ", more than a 32-bit integer holds");
            return v.asInt();
        }
        return fallback;
    }

    /** The config as transformers writes it, so that the directory loads in transformers too. */
    public ObjectNode toJson() {
        if (ssd != null) return toMamba2Json();
        if (caduceus != null) return caduceus.toJson(this);
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.putArray("architectures").add("MambaForCausalLM");
        o.put("model_type", modelType);
        o.put("vocab_size", vocabSize);
        o.put("hidden_size", hiddenSize);
        o.put("state_size", stateSize);
        o.put("num_hidden_layers", numHiddenLayers);
        o.put("expand", expand);
        o.put("conv_kernel", convKernel);
        o.put("time_step_rank", timeStepRank);
        o.put("intermediate_size", intermediateSize);
        o.put("use_bias", useBias);
        o.put("use_conv_bias", useConvBias);
        o.put("layer_norm_epsilon", layerNormEpsilon);
        o.put("tie_word_embeddings", tieWordEmbeddings);
        if (padVocabSizeMultiple != 1) o.put("pad_vocab_size_multiple", padVocabSizeMultiple);
        o.put("residual_in_fp32", residualInFp32);
        o.put("hidden_act", "silu");
        o.put("initializer_range", initializerRange);
        o.put("time_step_scale", timeStepScale);
        o.put("time_step_min", timeStepMin);
        o.put("time_step_max", timeStepMax);
        o.put("time_step_floor", timeStepFloor);
        o.put("time_step_init_scheme", timeStepInitScheme);
        o.put("rescale_prenorm_residual", rescalePrenormResidual);
        o.put("pad_token_id", padTokenId);
        o.put("bos_token_id", bosTokenId);
        o.put("eos_token_id", eosTokenId);
        if (!selective) o.put("ssmtk_selective", false);
        if (numLabels > 0) o.putObject("ssmtk_classifier").put("num_labels", numLabels).put("pooling", pooling);
        return o;
    }

    /** transformers' Mamba2Config layout (Mamba2ForCausalLM): only the keys it defines, plus ssmtk's classifier. */
    private ObjectNode toMamba2Json() {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.putArray("architectures").add("Mamba2ForCausalLM");
        o.put("model_type", MAMBA2);
        o.put("vocab_size", vocabSize);
        o.put("hidden_size", hiddenSize);
        o.put("state_size", stateSize);
        o.put("num_hidden_layers", numHiddenLayers);
        o.put("expand", expand);
        o.put("conv_kernel", convKernel);
        ssd.toJson(o);
        o.put("use_bias", useBias);
        o.put("use_conv_bias", useConvBias);
        o.put("layer_norm_epsilon", layerNormEpsilon);
        o.put("tie_word_embeddings", tieWordEmbeddings);
        o.put("residual_in_fp32", residualInFp32);
        o.put("hidden_act", "silu");
        o.put("initializer_range", initializerRange);
        o.put("time_step_min", timeStepMin);
        o.put("time_step_max", timeStepMax);
        o.put("time_step_floor", timeStepFloor);
        o.put("rescale_prenorm_residual", rescalePrenormResidual);
        o.put("pad_token_id", padTokenId);
        o.put("bos_token_id", bosTokenId);
        o.put("eos_token_id", eosTokenId);
        if (numLabels > 0) o.putObject("ssmtk_classifier").put("num_labels", numLabels).put("pooling", pooling);
        return o;
    }

    public void write(Path file) throws IOException {
        byte[] json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(toJson());
        AtomicFiles.write(file, out -> out.write(json));
    }

    public static MambaConfig parse(String json) throws IOException {
        return fromJson(new ObjectMapper().readTree(json));
    }

    static boolean exists(Path dir) {
        return Files.isRegularFile(dir.resolve("config.json"));
    }
}
