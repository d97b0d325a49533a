package org.ssmtk.core.config;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What a Mamba-2 config ({@code model_type: "mamba2"}, transformers' Mamba2Config) has beyond the
 * fields it shares with Mamba's: d_inner = expand * hidden_size splits into num_heads heads of
 * head_dim, B and C come in n_groups groups, the SSD scan works in chunks of chunk_size, and dt is
 * clamped to time_step_limit (transformers writes its +inf as {@code {"__float__": "Infinity"}}).
 */
public record SsdConfig(int numHeads, int headDim, int nGroups, int chunkSize, double timeStepLimitLow,
                        double timeStepLimitHigh) {

    public SsdConfig {
        require(numHeads > 0, "num_heads must be positive");
        require(headDim > 0, "head_dim must be positive");
        require(nGroups > 0, "n_groups must be positive");
        require(chunkSize > 0, "chunk_size must be positive");
        require(numHeads % nGroups == 0, "num_heads (" + numHeads + ") must be a multiple of n_groups (" + nGroups + ")");
        require(!(timeStepLimitLow > timeStepLimitHigh) && !Double.isNaN(timeStepLimitLow) && !Double.isNaN(timeStepLimitHigh),
                "time_step_limit must be [low, high] with low <= high");
    }

    private static void require(boolean ok, String message) {
        if (!ok) throw new IllegalArgumentException(message);
    }

    /** transformers' Mamba2Config keys, with its defaults for absent ones. */
    static SsdConfig fromJson(JsonNode n) {
        JsonNode limit = n.get("time_step_limit");
        double low = 0.0, high = Double.POSITIVE_INFINITY;
        if (limit != null && !limit.isNull()) {
            if (!limit.isArray() || limit.size() != 2)
                throw new IllegalArgumentException("time_step_limit must be a pair [low, high], got " + limit);
            low = number(limit.get(0));
            high = number(limit.get(1));
        }
        return new SsdConfig(intField(n, 128, "num_heads"), intField(n, 64, "head_dim"), intField(n, 8, "n_groups"),
                intField(n, 256, "chunk_size"), low, high);
    }

    private static double number(JsonNode v) {
        if (v.isNumber()) return v.asDouble();
        JsonNode f = v.get("__float__");
        if (f != null && f.isTextual()) {
            if (f.asText().equals("Infinity")) return Double.POSITIVE_INFINITY;
            if (f.asText().equals("-Infinity")) return Double.NEGATIVE_INFINITY;
        }
        throw new IllegalArgumentException("time_step_limit holds " + v + ", expected a number or {\"__float__\": \"Infinity\"}");
    }

    private static int intField(JsonNode n, int fallback, String name) {
        JsonNode v = n.get(name);
        if (v == null || v.isNull()) return fallback;
        if (!v.isIntegralNumber()) throw new IllegalArgumentException(name + " must be an integer, got " + v);
        return v.asInt();
    }

    void toJson(ObjectNode o) {
        o.put("num_heads", numHeads);
        o.put("head_dim", headDim);
        o.put("n_groups", nGroups);
        o.put("chunk_size", chunkSize);
        ArrayNode limit = o.putArray("time_step_limit");
        putNumber(limit, timeStepLimitLow);
        putNumber(limit, timeStepLimitHigh);
        o.put("rms_norm", true);
    }

    private static void putNumber(ArrayNode a, double v) {
        if (v == Double.POSITIVE_INFINITY) a.addObject().put("__float__", "Infinity");
        else if (v == Double.NEGATIVE_INFINITY) a.addObject().put("__float__", "-Infinity");
        else a.add(v);
    }
}
