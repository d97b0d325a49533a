package org.ssmtk.core.nn;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.config.SsdConfig;
import org.ssmtk.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * Mamba-2 ({@code model_type: "mamba2"}): transformers' Mamba2ForCausalLM. in_proj's rows are
 * z | x | B | C | dt, conv1d's channels x | B | C; A_log, D and dt_bias hold one value per head.
 */
final class Mamba2Family implements ModelFamily {
    @Override
    public String modelType() {
        return MambaConfig.MAMBA2;
    }

    /** B (or C) width: one state vector per group. */
    static int groupStates(MambaConfig c) {
        return c.ssd().nGroups() * c.stateSize();
    }

    /** Channels of the causal conv: x, B and C. */
    static int convDim(MambaConfig c) {
        return c.intermediateSize() + 2 * groupStates(c);
    }

    /** in_proj's output rows: z, x, B, C, dt. */
    static int inProjSize(MambaConfig c) {
        return c.intermediateSize() + convDim(c) + c.ssd().numHeads();
    }

    @Override
    public List<ParameterSpec.Entry> mixerParameters(MambaConfig c, String prefix) {
        SsdConfig s = c.ssd();
        int h = c.hiddenSize(), di = c.intermediateSize(), conv = convDim(c);
        List<ParameterSpec.Entry> e = new ArrayList<>();
        e.add(new ParameterSpec.Entry(prefix + "A_log", new int[]{s.numHeads()}));
        e.add(new ParameterSpec.Entry(prefix + "D", new int[]{s.numHeads()}));
        e.add(new ParameterSpec.Entry(prefix + "dt_bias", new int[]{s.numHeads()}));
        e.add(new ParameterSpec.Entry(prefix + "conv1d.weight", new int[]{conv, 1, c.convKernel()}));
        if (c.useConvBias()) e.add(new ParameterSpec.Entry(prefix + "conv1d.bias", new int[]{conv}));
        e.add(new ParameterSpec.Entry(prefix + "in_proj.weight", new int[]{inProjSize(c), h}));
        if (c.useBias()) e.add(new ParameterSpec.Entry(prefix + "in_proj.bias", new int[]{inProjSize(c)}));
        e.add(new ParameterSpec.Entry(prefix + "norm.weight", new int[]{di}));
        e.add(new ParameterSpec.Entry(prefix + "out_proj.weight", new int[]{h, di}));
        if (c.useBias()) e.add(new ParameterSpec.Entry(prefix + "out_proj.bias", new int[]{h}));
        return e;
    }

    @Override
    public Mixer.Weights bind(MambaConfig config, Function<String, Tensor> tensors, String prefix) {
        return Mamba2Mixer.Weights.bind(config, tensors, prefix);
    }

    @Override
    public void checkBackend(Backend backend) {
        if (!backend.supportsSsd())
            throw new IllegalArgumentException("Mamba-2 needs SSD kernels, which the " + backend.name()
                    + " backend does not have (use --device cpu or cuda)");
    }

    @Override
    public Mixer mixer(Backend backend, MambaConfig config, Mixer.Weights weights) {
        checkBackend(backend);
        return new Mamba2Mixer(backend, config, (Mamba2Mixer.Weights) weights);
    }
}
