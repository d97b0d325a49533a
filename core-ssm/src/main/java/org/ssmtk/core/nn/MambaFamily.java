package org.ssmtk.core.nn;

import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.tensor.Tensor;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/** Mamba-1 ({@code model_type: "mamba"}): transformers' MambaForCausalLM. */
final class MambaFamily implements ModelFamily {
    @Override
    public String modelType() {
        return "mamba";
    }

    @Override
    public List<ParameterSpec.Entry> mixerParameters(MambaConfig c, String prefix) {
        int h = c.hiddenSize(), di = c.intermediateSize(), n = c.stateSize(), r = c.timeStepRank(), k = c.convKernel();
        List<ParameterSpec.Entry> e = new ArrayList<>();
        e.add(new ParameterSpec.Entry(prefix + "A_log", new int[]{di, n}));
        e.add(new ParameterSpec.Entry(prefix + "D", new int[]{di}));
        e.add(new ParameterSpec.Entry(prefix + "conv1d.weight", new int[]{di, 1, k}));
        if (c.useConvBias()) e.add(new ParameterSpec.Entry(prefix + "conv1d.bias", new int[]{di}));
        e.add(new ParameterSpec.Entry(prefix + "in_proj.weight", new int[]{2 * di, h}));
        if (c.useBias()) e.add(new ParameterSpec.Entry(prefix + "in_proj.bias", new int[]{2 * di}));
        if (c.selective()) {
            e.add(new ParameterSpec.Entry(prefix + "x_proj.weight", new int[]{r + 2 * n, di}));
            e.add(new ParameterSpec.Entry(prefix + "dt_proj.weight", new int[]{di, r}));
        } else {
            e.add(new ParameterSpec.Entry(prefix + "B_const", new int[]{n}));
            e.add(new ParameterSpec.Entry(prefix + "C_const", new int[]{n}));
        }
        e.add(new ParameterSpec.Entry(prefix + "dt_proj.bias", new int[]{di}));
        e.add(new ParameterSpec.Entry(prefix + "out_proj.weight", new int[]{h, di}));
        if (c.useBias()) e.add(new ParameterSpec.Entry(prefix + "out_proj.bias", new int[]{h}));
        return e;
    }

    @Override
    public Mixer.Weights bind(MambaConfig config, Function<String, Tensor> tensors, String prefix) {
        return MambaMixer.Weights.bind(config, tensors, prefix);
    }

    @Override
    public Mixer mixer(Backend backend, MambaConfig config, Mixer.Weights weights) {
        return new MambaMixer(backend, config, (MambaMixer.Weights) weights);
    }
}
