package org.ssmtk.core.train;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ssmtk.core.RandomModels;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.Gradients;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.tensor.HostTensor;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole model's gradient by directional finite differences, for the variants the reference
 * fixture does not cover: biases in in/out_proj, an untied LM head, and the non-selective ablation;
 * for Mamba-2 also several groups of B and C.
 */
class ModelGradientFiniteDifferenceTest {

    static double loss(MambaConfig c, Map<String, HostTensor> params, int[] ids, int batch, int len) {
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel m = new MambaModel(cpu, c, params);
            return LanguageModelLoss.lossAndGradients(m, ids, batch, len, m.newGradients(), 1f).loss();
        }
    }

    @ParameterizedTest(name = "selective = {0}")
    @ValueSource(booleans = {true, false})
    void everyParameterGradientMatchesFiniteDifferences(boolean selective) {
        check(RandomModels.smallUntied().withLayers(2).withSelective(selective));
    }

    /** Mamba-2 with in/out_proj biases, an untied head and three groups: none of which tiny-mamba2 has. */
    @org.junit.jupiter.api.Test
    void everyMamba2ParameterGradientMatchesFiniteDifferences() {
        check(RandomModels.smallUntiedMamba2().withLayers(2));
    }

    private static void check(MambaConfig c) {
        MambaCheckpoint ck = RandomModels.create(c, 5);
        int batch = 2, len = 70; // past one scan chunk (Mamba-1: 64 steps; Mamba-2 here: 16)
        int[] ids = RandomModels.randomIds(batch * len, c.vocabSize(), 6);
        Map<String, float[]> analytic = new LinkedHashMap<>();
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel m = MambaModel.load(cpu, ck);
            Gradients g = m.newGradients();
            LanguageModelLoss.lossAndGradients(m, ids, batch, len, g, 1f);
            g.all().forEach((k, t) -> analytic.put(k, cpu.toHost(t)));
        }
        SplittableRandom r = new SplittableRandom(8);
        double loss0 = loss(c, ck.parameters(), ids, batch, len);
        for (var e : analytic.entrySet()) {
            HostTensor p = ck.parameters().get(e.getKey());
            float[] g = e.getValue();
            // Direction: the analytic gradient's plus a random unit vector, normalized. Along a
            // random direction alone the float32 loss difference sinks into rounding noise for
            // parameters with small gradients; the gradient's own direction carries the signal.
            double gn = 0, rn = 0;
            double[] rv = new double[g.length];
            for (int i = 0; i < g.length; i++) {
                gn += (double) g[i] * g[i];
                rn += (rv[i] = r.nextGaussian()) * rv[i];
            }
            gn = Math.sqrt(gn);
            rn = Math.sqrt(rn);
            assertTrue(gn > 0, e.getKey() + ": zero gradient");
            double[] v = new double[g.length];
            double vn = 0;
            for (int i = 0; i < g.length; i++) vn += (v[i] = g[i] / gn + rv[i] / rn) * v[i];
            for (int i = 0; i < g.length; i++) v[i] /= Math.sqrt(vn);
            // a step that moves the loss by about 1e-3 of itself: well above float32 noise, small
            // enough for the central difference's third-order term (at most 0.1: Mamba-2's A_log, six
            // log-scale values with a tiny gradient, showed a 1.4% third-order error at 0.5)
            double eps = Math.min(0.1, 1e-3 * loss0 / gn);
            Map<String, HostTensor> plus = new LinkedHashMap<>(ck.parameters()), minus = new LinkedHashMap<>(ck.parameters());
            float[] dp = p.data().clone(), dm = p.data().clone();
            for (int i = 0; i < v.length; i++) {
                dp[i] += (float) (eps * v[i]);
                dm[i] -= (float) (eps * v[i]);
            }
            plus.put(e.getKey(), new HostTensor(dp, p.shape()));
            minus.put(e.getKey(), new HostTensor(dm, p.shape()));
            double fd = (loss(c, plus, ids, batch, len) - loss(c, minus, ids, batch, len)) / (2 * eps);
            double an = 0, norm = 0;
            for (int i = 0; i < v.length; i++) {
                an += (double) e.getValue()[i] * v[i];
                norm += (double) e.getValue()[i] * e.getValue()[i];
            }
            double err = Math.abs(fd - an) / Math.max(Math.abs(fd), Math.sqrt(norm));
            assertTrue(err < 1e-2, e.getKey() + ": analytic " + an + " vs finite difference " + fd + " (rel " + err + ")");
        }
    }
}
