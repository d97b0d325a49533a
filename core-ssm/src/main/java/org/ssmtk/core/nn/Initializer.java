package org.ssmtk.core.nn;

import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.tensor.HostTensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Fresh parameters as transformers' MambaPreTrainedModel initializes them: A_log = log(1..d_state)
 * per channel, D = 1, norms = 1, dt_proj bias = softplus^-1(dt) with dt log-uniform in
 * [time_step_min, time_step_max] floored at time_step_floor, dt_proj weight uniform in
 * +-time_step_rank^-0.5 * time_step_scale, embeddings N(0, initializer_range), other linears and the
 * conv as PyTorch's defaults (kaiming-uniform, a = sqrt 5, i.e. U(+-1/sqrt(fan_in))), linear biases
 * zero, and out_proj divided by sqrt(num_layers) when rescale_prenorm_residual. Mamba-2 as transformers'
 * Mamba2PreTrainedModel: A_log = log(1..num_heads), dt_bias as dt_proj's bias above, the gated
 * norm 1, conv biases zero; in_proj kaiming-uniform as in mamba_ssm.
 *
 * <p>Each parameter draws from its own stream, seeded by the run seed and the parameter's name,
 * so adding a parameter does not change the others.
 */
public final class Initializer {
    private Initializer() {}

    public static MambaCheckpoint reference(MambaConfig c, long seed) {
        long heap = Runtime.getRuntime().maxMemory();
        if (c.parameterLowerBound() > heap / Float.BYTES)
            throw new ModelTooLargeException(String.format(java.util.Locale.ROOT, "the config describes at least %,d parameters"
                    + " (%.1f GiB of fp32 weights), more than this JVM's whole heap (%.1f GiB): check num_hidden_layers, hidden_size"
                    + " and vocab_size, or raise -Xmx through SSMTK_JAVA_OPTS", c.parameterLowerBound(),
                    c.parameterLowerBound() * 4.0 / (1L << 30), heap / (double) (1L << 30)));
        Map<String, HostTensor> out = new LinkedHashMap<>();
        StackNames names = ModelFamily.of(c.modelType()).stackNames(c);
        for (ParameterSpec.Entry e : ParameterSpec.of(c)) {
            SplittableRandom rnd = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + e.name().hashCode());
            float[] v = new float[Math.toIntExact(e.size())];
            String n = e.name();
            int[] s = e.shape();
            boolean norm = n.equals(names.normF()) || (n.startsWith(names.layers()) && n.endsWith("." + names.layerNorm()));
            if (n.endsWith(".A_log")) {
                // Mamba: log(1..d_state) in every channel; Mamba-2: one A per head, log(1..num_heads)
                int period = s.length == 2 ? s[1] : v.length;
                for (int i = 0; i < v.length; i++) v[i] = (float) Math.log(1 + i % period);
            } else if (n.endsWith(".D") || norm) {
                java.util.Arrays.fill(v, 1f);
            } else if (n.endsWith("dt_proj.bias") || n.endsWith("mixer.dt_bias")) {
                double lo = Math.log(c.timeStepMin()), hi = Math.log(c.timeStepMax());
                for (int i = 0; i < v.length; i++) {
                    double dt = Math.max(Math.exp(lo + rnd.nextDouble() * (hi - lo)), c.timeStepFloor());
                    v[i] = (float) (dt + Math.log(-Math.expm1(-dt))); // softplus^-1(dt)
                }
            } else if (n.endsWith("dt_proj.weight")) {
                double std = Math.pow(c.timeStepRank(), -0.5) * c.timeStepScale();
                if ("constant".equals(c.timeStepInitScheme())) java.util.Arrays.fill(v, (float) std);
                else uniform(v, std, rnd);
            } else if (n.endsWith("mixer.B_const") || n.endsWith("mixer.C_const")) {
                // the ablation's input-independent B and C: unit-scale, like x_proj's outputs at init
                for (int i = 0; i < v.length; i++) v[i] = (float) rnd.nextGaussian();
            } else if (n.equals(names.embeddings())) {
                for (int i = 0; i < v.length; i++) v[i] = (float) (rnd.nextGaussian() * c.initializerRange());
            } else if (c.isMamba2() && n.endsWith("conv1d.bias")) {
                // transformers' Mamba2PreTrainedModel zeroes the conv bias
            } else if (n.endsWith("conv1d.weight") || n.endsWith("conv1d.bias")) {
                uniform(v, 1 / Math.sqrt(c.convKernel()), rnd);
            } else if (n.endsWith(".bias")) {
                // linear biases start at zero (transformers re-initializes them)
            } else {
                int fanIn = s[s.length - 1];
                uniform(v, 1 / Math.sqrt(fanIn), rnd);
                if (c.rescalePrenormResidual() && n.endsWith("out_proj.weight")) {
                    float k = (float) (1 / Math.sqrt(c.numHiddenLayers()));
                    for (int i = 0; i < v.length; i++) v[i] *= k;
                }
            }
            out.put(n, new HostTensor(v, s));
        }
        return new MambaCheckpoint(c, out);
    }

    private static void uniform(float[] v, double bound, SplittableRandom rnd) {
        for (int i = 0; i < v.length; i++) v[i] = (float) ((2 * rnd.nextDouble() - 1) * bound);
    }
}
