package org.ssmtk.core.nn;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ssmtk.core.RandomModels;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.CaduceusSettings;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.tensor.HostTensor;
import org.ssmtk.core.train.LanguageModelLoss;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Caduceus without a reference: the symmetries its construction implies. Caduceus-PS is
 * reverse-complement equivariant for any weights; a BiMamba whose reverse Mamba equals its forward
 * one is equivariant under reversal. Both fail on a wrong flip, a wrong strand exchange or a
 * complement map that is not the one the check assumes (shown by the negative cases).
 */
class CaduceusModelTest {
    static final int VOCAB = 12, PADDED = 16;
    static final int[] DNA = CaduceusSettings.characterComplementMap(PADDED);

    static MambaConfig config(boolean rcps, boolean fused, String strategy, boolean tie, int[] complement) {
        return CaduceusSettings.config(VOCAB, 8, 4, 2, 8, new CaduceusSettings(true, strategy, tie, rcps, fused, complement));
    }

    /** Random bases (A C G T N = 7..11), with a few special tokens. */
    static int[] dnaIds(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int[] ids = new int[n];
        for (int i = 0; i < n; i++) ids[i] = r.nextInt(10) == 0 ? r.nextInt(7) : 7 + r.nextInt(5);
        return ids;
    }

    /**
     * Random weights whose mixers matter: RandomModels' dt of about softplus(-4) leaves the SSM path
     * and the mixer outputs so small beside the embedding that the logits hardly depend on them, and
     * neither a symmetry nor a finite difference could then see a fault there.
     */
    static MambaCheckpoint lively(MambaConfig c, long seed) {
        MambaCheckpoint ck = RandomModels.create(c, seed);
        SplittableRandom r = new SplittableRandom(seed ^ 0x5DEECE66DL);
        Map<String, HostTensor> p = new LinkedHashMap<>();
        ck.parameters().forEach((k, v) -> {
            float[] d = v.data().clone();
            if (k.endsWith("dt_proj.bias")) for (int i = 0; i < d.length; i++) d[i] = (float) (-1 + 0.3 * r.nextGaussian());
            if (k.endsWith("out_proj.weight") || k.endsWith("x_proj.weight")) for (int i = 0; i < d.length; i++) d[i] *= 3;
            p.put(k, new HostTensor(d, v.shape()));
        });
        return new MambaCheckpoint(c, p);
    }

    static float[] logits(MambaConfig c, Map<String, HostTensor> params, int[] ids, int batch, int len) {
        try (CpuBackend cpu = new CpuBackend(2)) {
            return new MambaModel(cpu, c, params).forward(ids, batch, len);
        }
    }

    /**
     * max |logits(rc(x))[t, v] - logits(x)[len-1-t, comp[v]]| / max |logits|, rc taken with the
     * complement map {@code comp}.
     */
    static double equivarianceError(MambaConfig c, Map<String, HostTensor> params, int[] comp) {
        int batch = 2, len = 37;
        int[] ids = dnaIds(batch * len, 3), rc = new int[ids.length];
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < len; t++) rc[b * len + t] = comp[ids[b * len + len - 1 - t]];
        float[] fwd = logits(c, params, ids, batch, len), rev = logits(c, params, rc, batch, len);
        double worst = 0, scale = 0;
        for (int b = 0; b < batch; b++)
            for (int t = 0; t < len; t++)
                for (int v = 0; v < PADDED; v++) {
                    double a = rev[(b * len + t) * PADDED + v], e = fwd[(b * len + len - 1 - t) * PADDED + comp[v]];
                    worst = Math.max(worst, Math.abs(a - e));
                    scale = Math.max(scale, Math.abs(e));
                }
        return worst / scale;
    }

    @ParameterizedTest(name = "fused_add_norm = {0}")
    @ValueSource(booleans = {true, false})
    void caduceusPsIsReverseComplementEquivariant(boolean fused) {
        for (String strategy : new String[]{CaduceusSettings.ADD, CaduceusSettings.EW_MULTIPLY}) {
            MambaConfig c = config(true, fused, strategy, true, DNA);
            double err = equivarianceError(c, lively(c, 11).parameters(), DNA);
            System.out.printf("PS fused=%s %s: RC-equivariance error %.2e%n", fused, strategy, err);
            assertTrue(err < 1e-5, strategy + ": RC-equivariance error " + err);
        }
    }

    @Test
    void equivarianceCheckFailsOnABrokenComplementMap() {
        // A<->C, G<->T: an involution, so the model is equivariant under it, but not under the real complement
        int[] broken = DNA.clone();
        broken[7] = 8; broken[8] = 7; broken[9] = 10; broken[10] = 9;
        MambaConfig c = config(true, true, CaduceusSettings.ADD, true, broken);
        Map<String, HostTensor> p = lively(c, 11).parameters();
        assertTrue(equivarianceError(c, p, broken) < 1e-5, "equivariant under its own map");
        double err = equivarianceError(c, p, DNA);
        System.out.printf("broken complement map: RC-equivariance error %.2e%n", err);
        assertTrue(err > 1e-2, "a model with a broken complement map passed the DNA check: " + err);
        // and Caduceus-Ph, which shares nothing between strands, is not equivariant at all
        MambaConfig ph = config(false, true, CaduceusSettings.ADD, true, DNA);
        double phErr = equivarianceError(ph, lively(ph, 11).parameters(), DNA);
        System.out.printf("Caduceus-Ph: RC-equivariance error %.2e%n", phErr);
        assertTrue(phErr > 1e-2, "Caduceus-Ph passed the RC check: " + phErr);
    }

    /**
     * max |classify(rc(x)) - classify(x)| / max |classify(x)| over a batch, for a fresh head of each
     * pooling on lively weights.
     */
    static double classificationRcGap(MambaConfig c, String pooling) {
        MambaCheckpoint ck = org.ssmtk.core.classify.ClassifierHead.attach(lively(c, 11), 3, pooling, 5);
        Map<String, HostTensor> p = new LinkedHashMap<>(ck.parameters());
        SplittableRandom r = new SplittableRandom(9); // a head of real size, so that the pooled features decide the logits
        float[] w = p.get(ParameterSpec.CLASSIFIER_WEIGHT).data().clone();
        for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
        p.put(ParameterSpec.CLASSIFIER_WEIGHT, new HostTensor(w, p.get(ParameterSpec.CLASSIFIER_WEIGHT).shape()));
        int batch = 3, len = 29;
        int[] ids = new int[batch * len], rc = new int[ids.length];
        SplittableRandom b = new SplittableRandom(4);
        for (int i = 0; i < ids.length; i++) ids[i] = 7 + b.nextInt(5);
        for (int s = 0; s < batch; s++)
            for (int t = 0; t < len; t++) rc[s * len + t] = DNA[ids[s * len + len - 1 - t]];
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel m = new MambaModel(cpu, ck.config(), p);
            float[] fwd = m.classify(ids, batch, len), rev = m.classify(rc, batch, len);
            double worst = 0, scale = 0;
            for (int i = 0; i < fwd.length; i++) {
                worst = Math.max(worst, Math.abs(fwd[i] - rev[i]));
                scale = Math.max(scale, Math.abs(fwd[i]));
            }
            return worst / scale;
        }
    }

    /** A PS classifier gives a sequence and its reverse complement one class distribution, with either pooling; Ph does not. */
    @ParameterizedTest(name = "fused_add_norm = {0}")
    @ValueSource(booleans = {true, false})
    void caduceusPsClassifiesASequenceAndItsReverseComplementAlike(boolean fused) {
        for (String pooling : new String[]{MambaConfig.POOL_MEAN, MambaConfig.POOL_LAST}) {
            double ps = classificationRcGap(config(true, fused, CaduceusSettings.ADD, true, DNA), pooling);
            double ph = classificationRcGap(config(false, fused, CaduceusSettings.ADD, true, DNA), pooling);
            System.out.printf("classify(x) vs classify(rc(x)), pooling %s, fused=%s: PS %.2e, Ph %.2e%n", pooling, fused, ps, ph);
            assertTrue(ps < 1e-5, "PS, pooling " + pooling + ": " + ps);
            assertTrue(ph > 1e-3, "Ph is not reverse-complement invariant, so the check can fail: " + ph);
        }
    }

    @Test
    void aBidirectionalModelRefusesRecurrentStateInOneLine() {
        MambaConfig c = config(false, true, CaduceusSettings.ADD, true, DNA);
        try (CpuBackend cpu = new CpuBackend(1)) {
            MambaModel m = MambaModel.load(cpu, RandomModels.create(c, 1));
            var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> m.newState(1));
            assertTrue(e.getMessage().contains("no recurrent state"), e.getMessage());
        }
    }

    /** The reverse Mamba's own tensors set equal to the forward one's. */
    static Map<String, HostTensor> mirrored(Map<String, HostTensor> p) {
        Map<String, HostTensor> out = new LinkedHashMap<>(p);
        p.forEach((k, v) -> {
            if (k.contains(".mamba_rev.")) out.put(k, p.get(k.replace(".mamba_rev.", ".mamba_fwd.")));
        });
        return out;
    }

    @ParameterizedTest(name = "strategy = {0}")
    @ValueSource(strings = {CaduceusSettings.ADD, CaduceusSettings.EW_MULTIPLY})
    void biMambaWithEqualDirectionsCommutesWithReversal(String strategy) {
        MambaConfig c = config(false, true, strategy, true, DNA);
        Map<String, HostTensor> random = lively(c, 4).parameters(), p = mirrored(random);
        int batch = 2, len = 29;
        int[] ids = dnaIds(batch * len, 5), rev = new int[ids.length];
        for (int b = 0; b < batch; b++) for (int t = 0; t < len; t++) rev[b * len + t] = ids[b * len + len - 1 - t];
        double same = reversalError(c, p, ids, rev, batch, len), distinct = reversalError(c, random, ids, rev, batch, len);
        assertTrue(same < 1e-5, "equal directions: " + same);
        // with distinct directions (a missing flip would look like this too) it must fail
        assertTrue(distinct > 1e-2, "distinct directions: " + distinct);
    }

    static double reversalError(MambaConfig c, Map<String, HostTensor> p, int[] ids, int[] rev, int batch, int len) {
        float[] a = logits(c, p, ids, batch, len), b = logits(c, p, rev, batch, len);
        double worst = 0, scale = 0;
        for (int s = 0; s < batch; s++)
            for (int t = 0; t < len; t++)
                for (int v = 0; v < PADDED; v++) {
                    double x = b[(s * len + t) * PADDED + v], e = a[(s * len + len - 1 - t) * PADDED + v];
                    worst = Math.max(worst, Math.abs(x - e));
                    scale = Math.max(scale, Math.abs(e));
                }
        return worst / scale;
    }

    @Test
    void parameterNamesFollowCaduceusForMaskedLM() {
        var ph = ParameterSpec.of(config(false, true, CaduceusSettings.ADD, true, DNA)).stream().map(ParameterSpec.Entry::name).toList();
        assertTrue(ph.contains("caduceus.backbone.embeddings.word_embeddings.weight"));
        assertTrue(ph.contains("caduceus.backbone.layers.1.mixer.mamba_fwd.in_proj.weight"));
        assertTrue(ph.contains("caduceus.backbone.layers.1.mixer.mamba_rev.x_proj.weight"));
        assertTrue(!ph.contains("caduceus.backbone.layers.1.mixer.mamba_rev.in_proj.weight"), "tied projections stored once");
        assertTrue(ph.contains("caduceus.backbone.norm_f.weight"));
        assertTrue(!ph.contains("lm_head.weight"), "tied head");
        var untied = ParameterSpec.of(config(false, true, CaduceusSettings.ADD, false, DNA)).stream().map(ParameterSpec.Entry::name).toList();
        assertTrue(untied.contains("caduceus.backbone.layers.0.mixer.mamba_rev.out_proj.weight"));
        var ps = ParameterSpec.of(config(true, false, CaduceusSettings.ADD, true, DNA)).stream().map(ParameterSpec.Entry::name).toList();
        assertTrue(ps.contains("caduceus.backbone.embeddings.word_embeddings.embedding.weight"));
        assertTrue(ps.contains("caduceus.backbone.layers.0.mixer.submodule.mamba_fwd.A_log"));
        assertTrue(ps.contains("caduceus.backbone.layers.0.norm.submodule.weight"));
        assertTrue(ps.contains("caduceus.backbone.norm_f.submodule.weight"));
        var psFused = ParameterSpec.of(config(true, true, CaduceusSettings.ADD, true, DNA)).stream().map(ParameterSpec.Entry::name).toList();
        assertTrue(psFused.contains("caduceus.backbone.layers.0.norm.weight"));
        assertTrue(psFused.contains("caduceus.backbone.norm_f.weight"));
        // d_model 8, expand 2, d_state 4, dt_rank 1: mamba_ssm's shapes
        var shapes = new LinkedHashMap<String, int[]>();
        ParameterSpec.of(config(false, true, CaduceusSettings.ADD, true, DNA)).forEach(e -> shapes.put(e.name(), e.shape()));
        assertEquals(java.util.List.of(2 * 16, 8), toList(shapes.get("caduceus.backbone.layers.0.mixer.mamba_fwd.in_proj.weight")));
        assertEquals(java.util.List.of(1 + 2 * 4, 16), toList(shapes.get("caduceus.backbone.layers.0.mixer.mamba_rev.x_proj.weight")));
        assertEquals(java.util.List.of(PADDED, 8), toList(shapes.get("caduceus.backbone.embeddings.word_embeddings.weight")));
    }

    static java.util.List<Integer> toList(int[] a) {
        return java.util.Arrays.stream(a).boxed().toList();
    }

    /** Masked-LM targets: 30% of positions carry their id (input [MASK] = 3), the rest IGNORE. */
    static int[][] maskedBatch(int n, long seed) {
        int[] ids = dnaIds(n, seed), input = ids.clone(), targets = new int[n];
        SplittableRandom r = new SplittableRandom(seed + 1);
        for (int i = 0; i < n; i++) {
            boolean masked = r.nextDouble() < 0.3;
            targets[i] = masked ? ids[i] : LanguageModelLoss.IGNORE;
            if (masked) input[i] = 3;
        }
        return new int[][]{input, targets};
    }

    static double loss(MambaConfig c, Map<String, HostTensor> params, int[] ids, int[] targets, int batch, int len) {
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel m = new MambaModel(cpu, c, params);
            return lossAndGradients(m, ids, targets, batch, len, m.newGradients());
        }
    }

    /** The masked-LM loss, or with a classifier head the classification loss (targets: one label per sequence). */
    static double lossAndGradients(MambaModel m, int[] ids, int[] targets, int batch, int len, Gradients g) {
        return m.config().hasClassifier() ? org.ssmtk.core.train.ClassificationLoss.lossAndGradients(m, ids, targets, batch, len, g, 1f).loss()
                : LanguageModelLoss.lossAndGradients(m, ids, targets, batch, len, g, 1f).loss();
    }

    static MambaConfig variant(String name) {
        return switch (name) {
            case "ph-add" -> config(false, true, CaduceusSettings.ADD, true, DNA);
            case "ph-ew-untied-biases" -> config(false, true, CaduceusSettings.EW_MULTIPLY, false, DNA).withBiasesAndHead(true, true, false);
            case "ps-fused" -> config(true, true, CaduceusSettings.ADD, true, DNA);
            case "ps-unfused-ew" -> config(true, false, CaduceusSettings.EW_MULTIPLY, true, DNA).withBiasesAndHead(true, true, true);
            // the classification head on both strands' pool (last: each strand's own last base)
            case "ps-fused-classify-mean" -> config(true, true, CaduceusSettings.ADD, true, DNA).withClassifier(3, MambaConfig.POOL_MEAN);
            case "ps-unfused-classify-last" -> config(true, false, CaduceusSettings.ADD, true, DNA).withClassifier(3, MambaConfig.POOL_LAST);
            default -> throw new IllegalArgumentException(name);
        };
    }

    static double centralDifference(MambaConfig c, MambaCheckpoint ck, String name, double[] v, double eps,
                                    int[][] mb, int batch, int len) {
        HostTensor p = ck.parameters().get(name);
        Map<String, HostTensor> plus = new LinkedHashMap<>(ck.parameters()), minus = new LinkedHashMap<>(ck.parameters());
        float[] dp = p.data().clone(), dm = p.data().clone();
        for (int i = 0; i < v.length; i++) {
            dp[i] += (float) (eps * v[i]);
            dm[i] -= (float) (eps * v[i]);
        }
        plus.put(name, new HostTensor(dp, p.shape()));
        minus.put(name, new HostTensor(dm, p.shape()));
        return (loss(c, plus, mb[0], mb[1], batch, len) - loss(c, minus, mb[0], mb[1], batch, len)) / (2 * eps);
    }

    /** Every parameter's gradient along a direction, against the central difference of the loss. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"ph-add", "ph-ew-untied-biases", "ps-fused", "ps-unfused-ew", "ps-fused-classify-mean", "ps-unfused-classify-last"})
    void gradientsMatchFiniteDifferences(String name) {
        MambaConfig c = variant(name);
        MambaCheckpoint ck = lively(c, 21);
        int batch = 2, len = 70; // past one scan chunk
        int[][] mb = c.hasClassifier() ? new int[][]{dnaIds(batch * len, 9), {2, 0}} : maskedBatch(batch * len, 9);
        Map<String, float[]> analytic = new LinkedHashMap<>();
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel m = MambaModel.load(cpu, ck);
            Gradients g = m.newGradients();
            lossAndGradients(m, mb[0], mb[1], batch, len, g);
            g.all().forEach((k, t) -> analytic.put(k, cpu.toHost(t)));
            // recomputing activations in the backward gives the same bits
            MambaModel again = MambaModel.load(cpu, ck);
            again.recomputeActivations(true);
            Gradients g2 = again.newGradients();
            lossAndGradients(again, mb[0], mb[1], batch, len, g2);
            g2.all().forEach((k, t) -> assertTrue(java.util.Arrays.equals(analytic.get(k), cpu.toHost(t)), k + " differs when recomputed"));
        }
        SplittableRandom r = new SplittableRandom(8);
        double loss0 = loss(c, ck.parameters(), mb[0], mb[1], batch, len);
        for (var e : analytic.entrySet()) {
            float[] g = e.getValue();
            double gn = 0, rn = 0;
            double[] rv = new double[g.length];
            for (int i = 0; i < g.length; i++) {
                gn += (double) g[i] * g[i];
                rn += (rv[i] = r.nextGaussian()) * rv[i];
            }
            gn = Math.sqrt(gn);
            rn = Math.sqrt(rn);
            if (gn == 0 && c.hasClassifier() && MambaConfig.POOL_LAST.equals(c.pooling()) && e.getKey().endsWith("mamba_rev.A_log")) {
                // pooled at one position, the last layer's reverse scan there has read one token: h = dt B u from
                // zero, where A has nothing to decay. Truly zero, so the loss must not move along A either.
                double[] u = new double[g.length];
                for (int i = 0; i < g.length; i++) u[i] = rv[i] / rn;
                double fd = centralDifference(c, ck, e.getKey(), u, 0.5, mb, batch, len);
                assertTrue(Math.abs(fd) < 1e-6, e.getKey() + ": zero gradient but the loss moves: " + fd);
                continue;
            }
            assertTrue(gn > 0, e.getKey() + ": zero gradient");
            // along the gradient plus a random unit vector: see ModelGradientFiniteDifferenceTest
            double[] v = new double[g.length];
            double vn = 0;
            for (int i = 0; i < g.length; i++) vn += (v[i] = g[i] / gn + rv[i] / rn) * v[i];
            for (int i = 0; i < g.length; i++) v[i] /= Math.sqrt(vn);
            double eps = Math.min(0.5, 1e-3 * loss0 / gn);
            // Richardson's extrapolation of two central differences cancels their eps^2 term, which
            // at the capped step of 0.5 (parameters with small gradients) is about 1%.
            double fd = (4 * centralDifference(c, ck, e.getKey(), v, eps / 2, mb, batch, len)
                    - centralDifference(c, ck, e.getKey(), v, eps, mb, batch, len)) / 3;
            double an = 0;
            for (int i = 0; i < v.length; i++) an += g[i] * v[i];
            double err = Math.abs(fd - an) / Math.max(Math.abs(fd), gn);
            assertTrue(err < 1e-2, name + " " + e.getKey() + ": analytic " + an + " vs finite difference " + fd + " (rel " + err + ")");
        }
    }
}
