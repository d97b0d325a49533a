package org.ssmtk.core.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.ssmtk.core.RandomModels;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.io.ModelFormatException;
import org.ssmtk.core.nn.Gradients;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.nn.ParameterSpec;
import org.ssmtk.core.tensor.HostTensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pooled sequence-classification head: gradients, learning, and its place in checkpoints. */
class ClassificationHeadTest {
    @TempDir
    Path dir;

    static double loss(MambaConfig c, Map<String, HostTensor> params, int[] ids, int[] labels, int batch, int len) {
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel m = new MambaModel(cpu, c, params);
            return ClassificationLoss.lossAndGradients(m, ids, labels, batch, len, m.newGradients(), 1f).loss();
        }
    }

    @ParameterizedTest(name = "pooling = {0}")
    @ValueSource(strings = {"mean", "last"})
    void gradientsMatchFiniteDifferences(String pooling) {
        MambaConfig c = RandomModels.smallUntied().withLayers(2).withClassifier(3, pooling);
        MambaCheckpoint ck = RandomModels.create(c, 11);
        int batch = 3, len = 21;
        int[] ids = RandomModels.randomIds(batch * len, c.vocabSize(), 12);
        int[] labels = {2, LanguageModelLoss.IGNORE, 0};
        Map<String, float[]> analytic = new LinkedHashMap<>();
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel m = MambaModel.load(cpu, ck);
            Gradients g = m.newGradients();
            ClassificationLoss.lossAndGradients(m, ids, labels, batch, len, g, 1f);
            g.all().forEach((k, t) -> analytic.put(k, cpu.toHost(t)));
        }
        double loss0 = loss(c, ck.parameters(), ids, labels, batch, len);
        SplittableRandom r = new SplittableRandom(13);
        for (var e : analytic.entrySet()) {
            String name = e.getKey();
            float[] g = e.getValue();
            double gn = 0;
            for (float x : g) gn += (double) x * x;
            gn = Math.sqrt(gn);
            if (name.equals(ParameterSpec.LM_HEAD)) {
                assertEquals(0.0, gn, "the LM head takes no part in classification");
                continue;
            }
            if (name.equals(ParameterSpec.EMBEDDINGS) || gn == 0) continue; // only the ids' rows move; checked below via the rest
            // along the gradient plus a random unit direction (see ModelGradientFiniteDifferenceTest)
            double[] v = new double[g.length];
            double rn = 0, vn = 0;
            double[] rv = new double[g.length];
            for (int i = 0; i < g.length; i++) rn += (rv[i] = r.nextGaussian()) * rv[i];
            for (int i = 0; i < g.length; i++) vn += (v[i] = g[i] / gn + rv[i] / Math.sqrt(rn)) * v[i];
            for (int i = 0; i < g.length; i++) v[i] /= Math.sqrt(vn);
            double eps = Math.min(0.5, 1e-3 * loss0 / gn);
            HostTensor p = ck.parameters().get(name);
            float[] dp = p.data().clone(), dm = p.data().clone();
            double an = 0;
            for (int i = 0; i < g.length; i++) {
                dp[i] += (float) (eps * v[i]);
                dm[i] -= (float) (eps * v[i]);
                an += g[i] * v[i];
            }
            Map<String, HostTensor> plus = new LinkedHashMap<>(ck.parameters()), minus = new LinkedHashMap<>(ck.parameters());
            plus.put(name, new HostTensor(dp, p.shape()));
            minus.put(name, new HostTensor(dm, p.shape()));
            double fd = (loss(c, plus, ids, labels, batch, len) - loss(c, minus, ids, labels, batch, len)) / (2 * eps);
            double err = Math.abs(fd - an) / Math.max(Math.abs(fd), gn);
            assertTrue(err < 1e-2, pooling + " " + name + ": analytic " + an + " vs finite difference " + fd + " (rel " + err + ")");
        }
        assertTrue(analytic.containsKey(ParameterSpec.CLASSIFIER_WEIGHT) && analytic.containsKey(ParameterSpec.CLASSIFIER_BIAS));
    }

    /** Label = whether token 3 occurs: learnable by mean pooling, not by chance. */
    static BatchSource containsToken(int batch, int len) {
        return (step, micro) -> {
            var rnd = BatchSource.random(5, step, micro);
            int[] ids = new int[batch * len], labels = new int[batch];
            for (int b = 0; b < batch; b++) {
                for (int t = 0; t < len; t++) ids[b * len + t] = 4 + rnd.nextInt(7);
                labels[b] = rnd.nextInt(2);
                if (labels[b] == 1) ids[b * len + rnd.nextInt(len)] = 3;
            }
            return Batch.labeled(ids, labels, batch, len);
        };
    }

    @Test
    void learnsToDetectAToken() throws Exception {
        MambaConfig c = MambaConfig.of(11, 16, 4, 2).withClassifier(2, MambaConfig.POOL_MEAN);
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, Initializer.reference(c, 2));
            var opts = new Trainer.Options(80, 1, 1.0, new LearningRateSchedule(1e-2, 1e-3, 5, 80), AdamW.Settings.defaults(),
                    0, 1, 10, null, false, null);
            Trainer.Result r = Trainer.train(model, containsToken(16, 24), Objective.sequenceClassification(), opts, new Trainer.Listener() {});
            double first = r.history().get(0).loss();
            double lastMean = r.history().subList(70, 80).stream().mapToDouble(Trainer.StepMetrics::loss).average().orElseThrow();
            assertTrue(first > 0.6, "starts near log 2 = 0.69: " + first);
            assertTrue(lastMean < 0.4, "the head should learn the task: " + first + " -> " + lastMean);
            Batch held = containsToken(64, 24).batch(10_000, 0);
            float[] logits = model.classify(held.ids(), held.batch(), held.len());
            int correct = 0;
            for (int b = 0; b < held.batch(); b++) if ((logits[2 * b + 1] > logits[2 * b] ? 1 : 0) == held.targets()[b]) correct++;
            assertTrue(correct >= 56, correct + "/64 held-out sequences right");
        }
    }

    @Test
    void theHeadIsSavedUnderItsDocumentedNamesAndReloads() throws Exception {
        MambaConfig c = MambaConfig.of(11, 16, 4, 1).withClassifier(5, MambaConfig.POOL_LAST);
        MambaCheckpoint ck = Initializer.reference(c, 3);
        ck.save(dir.resolve("m"));
        String json = Files.readString(dir.resolve("m/config.json"));
        assertTrue(json.contains("\"ssmtk_classifier\"") && json.contains("\"last\""), json);
        MambaCheckpoint back = MambaCheckpoint.load(dir.resolve("m"));
        assertEquals(c, back.config());
        assertArrayEquals(ck.parameters().get("classifier.weight").data(), back.parameters().get("classifier.weight").data());
        assertArrayEquals(new int[]{5, 16}, back.parameters().get("classifier.weight").shape());
    }

    @Test
    void anUnknownPoolingIsAConfigError() throws Exception {
        Path f = dir.resolve("config.json");
        Files.writeString(f, "{\"hidden_size\": 16, \"num_hidden_layers\": 1, \"vocab_size\": 8, \"ssmtk_classifier\": {\"num_labels\": 2, \"pooling\": \"max\"}}");
        var e = assertThrows(ModelFormatException.class, () -> MambaConfig.read(f));
        assertTrue(e.getMessage().contains("pooling") && e.getMessage().contains(f.toString()), e.getMessage());
    }
}
