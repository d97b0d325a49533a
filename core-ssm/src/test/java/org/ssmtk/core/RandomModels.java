package org.ssmtk.core;

import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.ParameterSpec;
import org.ssmtk.core.tensor.HostTensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/** Random checkpoints of any shape for tests that do not need a reference, only self-consistency. */
public final class RandomModels {
    private RandomModels() {}

    public static MambaCheckpoint create(MambaConfig config, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        Map<String, HostTensor> params = new LinkedHashMap<>();
        for (ParameterSpec.Entry e : ParameterSpec.of(config)) {
            float[] v = new float[(int) e.size()];
            String n = e.name();
            for (int i = 0; i < v.length; i++) {
                double g = rnd.nextGaussian();
                if (n.endsWith("A_log")) v[i] = (float) (Math.log(1 + i % config.stateSize()) + 0.1 * g);
                else if (n.endsWith(".D") || n.endsWith("norm.weight") || n.endsWith("norm_f.weight")
                        || n.endsWith("norm.submodule.weight") || n.endsWith("norm_f.submodule.weight")) v[i] = (float) (1 + 0.1 * g);
                else if (n.endsWith("dt_proj.bias")) v[i] = (float) (-4 + 0.5 * g);
                else if (n.endsWith("bias")) v[i] = (float) (0.1 * g);
                else v[i] = (float) (0.2 * g);
            }
            params.put(n, new HostTensor(v, e.shape()));
        }
        return new MambaCheckpoint(config, params);
    }

    /** A small model with biases everywhere and an untied head, unlike the reference fixture. */
    public static MambaConfig smallUntied() {
        return MambaConfig.of(23, 24, 5, 3).withBiasesAndHead(true, true, false);
    }

    /**
     * A small Mamba-2 with biases everywhere, an untied head, three groups of B and C (two heads
     * each) and chunks of 16, unlike the reference fixture.
     */
    public static MambaConfig smallUntiedMamba2() {
        try {
            return MambaConfig.parse("{\"model_type\": \"mamba2\", \"vocab_size\": 23, \"hidden_size\": 24, \"state_size\": 5,"
                    + " \"num_hidden_layers\": 3, \"num_heads\": 6, \"head_dim\": 8, \"n_groups\": 3, \"chunk_size\": 16,"
                    + " \"use_bias\": true, \"use_conv_bias\": true, \"tie_word_embeddings\": false}");
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    public static int[] randomIds(int n, int vocab, long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = rnd.nextInt(vocab);
        return ids;
    }
}
