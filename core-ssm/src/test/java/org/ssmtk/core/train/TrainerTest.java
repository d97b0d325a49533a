package org.ssmtk.core.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.RandomModels;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaModel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainerTest {
    @TempDir
    Path dir;

    static final MambaConfig CONFIG = MambaConfig.of(11, 16, 4, 2);

    /** Sequences of a few repeated patterns: learnable, and a function of (step, micro) only. */
    static BatchSource patterns(int batch, int len) {
        return (step, micro) -> {
            var rnd = BatchSource.random(7, step, micro);
            int[] ids = new int[batch * len];
            for (int b = 0; b < batch; b++) {
                int start = rnd.nextInt(11), stride = 1 + rnd.nextInt(2);
                for (int t = 0; t < len; t++) ids[b * len + t] = (start + stride * t) % 11;
            }
            return Batch.nextToken(ids, batch, len);
        };
    }

    static Trainer.Options options(long steps, Path out, boolean resume) {
        ObjectNode run = new ObjectMapper().createObjectNode().put("steps", steps).put("batch", 4).put("len", 19);
        return new Trainer.Options(steps, 2, 1.0, new LearningRateSchedule(3e-3, 3e-4, 2, 10), AdamW.Settings.defaults(),
                3, 2, 1, out, resume, run);
    }

    @Test
    void lossFallsOnALearnableTask() throws Exception {
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, Initializer.reference(CONFIG, 1));
            var opts = new Trainer.Options(60, 1, 1.0, new LearningRateSchedule(1e-2, 1e-3, 5, 60), AdamW.Settings.defaults(),
                    0, 1, 10, null, false, null);
            Trainer.Result r = Trainer.train(model, patterns(8, 24), Objective.languageModel(), opts, new Trainer.Listener() {});
            double first = r.history().get(0).loss(), last = r.finalLoss();
            assertTrue(first > 2.0, "starts near log(11) = 2.4, got " + first);
            assertTrue(last < 0.5 * first, "loss should at least halve: " + first + " -> " + last);
        }
    }

    @Test
    void resumeContinuesExactlyLikeAnUninterruptedRun() throws Exception {
        Path whole = dir.resolve("whole"), parts = dir.resolve("parts");
        Trainer.Result uninterrupted, second;
        float[] a, b;
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, Initializer.reference(CONFIG, 3));
            uninterrupted = Trainer.train(model, patterns(4, 19), Objective.languageModel(), options(7, whole, false), new Trainer.Listener() {});
            a = cpu.toHost(model.parameters().get("backbone.layers.1.mixer.x_proj.weight"));
        }
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel model = MambaModel.load(cpu, Initializer.reference(CONFIG, 3));
            Trainer.train(model, patterns(4, 19), Objective.languageModel(), options(4, parts, false), new Trainer.Listener() {});
        }
        // the process "crashed" after step 4; the checkpoint at step 3 is not the latest, step 4's is
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel fresh = MambaModel.load(cpu, Initializer.reference(CONFIG, 99)); // resume overwrites every weight
            second = Trainer.train(fresh, patterns(4, 19), Objective.languageModel(), options(7, parts, true), new Trainer.Listener() {});
            b = cpu.toHost(fresh.parameters().get("backbone.layers.1.mixer.x_proj.weight"));
        }
        assertEquals(5, second.firstStep());
        for (int i = 0; i < second.history().size(); i++)
            assertEquals(uninterrupted.history().get(4 + i).loss(), second.history().get(i).loss(), 0.0, "loss at step " + (5 + i));
        assertArrayEquals(a, b, "final weights are bit-for-bit equal");
        List<String> wholeLog = Files.readAllLines(whole.resolve(Trainer.METRICS)), partsLog = Files.readAllLines(parts.resolve(Trainer.METRICS));
        assertEquals(wholeLog.size(), partsLog.size());
        for (int i = 0; i < wholeLog.size(); i++) {
            var x = new ObjectMapper().readTree(wholeLog.get(i)); var y = new ObjectMapper().readTree(partsLog.get(i));
            assertEquals(x.get("step"), y.get("step"));
            assertEquals(x.get("loss"), y.get("loss"));
        }
        MambaCheckpoint.load(parts.resolve(Trainer.MODEL)); // the final model is a valid HF-layout directory
        try (var s = Files.list(TrainingCheckpoint.checkpointsDir(parts))) {
            assertEquals(3, s.count(), "two checkpoints kept plus the latest pointer");
        }
    }

    @Test
    void resumingWithDifferentOptionsIsRefused() throws Exception {
        try (CpuBackend cpu = new CpuBackend(1)) {
            MambaModel model = MambaModel.load(cpu, Initializer.reference(CONFIG, 3));
            Trainer.train(model, patterns(4, 19), Objective.languageModel(), options(3, dir, false), new Trainer.Listener() {});
            ObjectNode other = new ObjectMapper().createObjectNode().put("steps", 6).put("batch", 8).put("len", 19);
            var o = options(6, dir, true);
            var changed = new Trainer.Options(o.steps(), o.accumulation(), o.clipNorm(), o.schedule(), o.adam(), o.checkpointEvery(),
                    o.keepCheckpoints(), o.logEvery(), o.out(), true, other);
            var e = assertThrows(org.ssmtk.core.io.ModelFormatException.class,
                    () -> Trainer.train(model, patterns(8, 19), Objective.languageModel(), changed, new Trainer.Listener() {}));
            assertTrue(e.getMessage().contains("batch was 4, now 8"), e.getMessage());
        }
    }

    @Test
    void aNonFiniteLossStopsTheRunAndKeepsTheLastGoodCheckpoint() throws Exception {
        try (CpuBackend cpu = new CpuBackend(1)) {
            MambaModel model = MambaModel.load(cpu, Initializer.reference(CONFIG, 3));
            Objective lm = Objective.languageModel();
            BatchSource data = patterns(4, 19);
            long[] calls = {0};
            Objective nanAtStep5 = (m, b, g, s) -> { // 2 micro-batches per step: call 9 is step 5's first
                var r = lm.lossAndGradients(m, b, g, s);
                return ++calls[0] > 8 ? new LanguageModelLoss.Result(Double.NaN, r.count()) : r;
            };
            var e = assertThrows(TrainingDivergedException.class,
                    () -> Trainer.train(model, data, nanAtStep5, options(9, dir, false), new Trainer.Listener() {}));
            assertTrue(e.getMessage().contains("at step 5"), e.getMessage());
            assertTrue(e.getMessage().contains("step-00000003"), e.getMessage());
            assertEquals("step-00000003", Files.readString(TrainingCheckpoint.checkpointsDir(dir).resolve("latest")).strip());
        }
    }

    @Test
    void scheduleWarmsUpThenDecaysToTheMinimum() {
        var s = new LearningRateSchedule(1.0, 0.1, 10, 110);
        assertEquals(0.1, s.at(1), 1e-12);
        assertEquals(1.0, s.at(10), 1e-12);
        assertEquals(0.55, s.at(60), 1e-12);
        assertEquals(0.1, s.at(110), 1e-12);
        assertEquals(0.1, s.at(500), 1e-12);
    }

    @Test
    void adamWFollowsItsDefinition() {
        try (CpuBackend cpu = new CpuBackend(1)) {
            var p = cpu.fromHost(new float[]{1f, -2f}, 2);
            var g = cpu.fromHost(new float[]{0.5f, 0.25f}, 2);
            var m = cpu.allocate(2);
            var v = cpu.allocate(2);
            cpu.adamW(p, g, m, v, 0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, 1 - 0.9f, 1 - 0.999f);
            // first step: m_hat = g, v_hat = g^2, so the update is lr * (sign(g) + wd * p)
            float[] got = cpu.toHost(p);
            assertEquals(1f - 0.1f * (1f + 0.01f * 1f), got[0], 1e-6);
            assertEquals(-2f - 0.1f * (1f + 0.01f * -2f), got[1], 1e-6);
        }
    }

    @Test
    void weightDecayFollowsTheReferenceConvention() {
        assertTrue(AdamW.decays("backbone.layers.0.mixer.in_proj.weight"));
        assertTrue(AdamW.decays("lm_head.weight"));
        assertTrue(!AdamW.decays("backbone.layers.0.mixer.A_log"));
        assertTrue(!AdamW.decays("backbone.layers.0.mixer.D"));
        assertTrue(!AdamW.decays("backbone.layers.0.mixer.dt_proj.bias"));
        assertTrue(!AdamW.decays("backbone.layers.0.norm.weight"));
        assertTrue(!AdamW.decays("backbone.embeddings.weight"));
    }

    // Issue 15, races and ambiguity.

    @Test
    void aSecondRunIntoTheSameOutFolderFailsAtOnceWhileTheFirstRuns() throws Exception {
        var atStep2 = new java.util.concurrent.CountDownLatch(1);
        var release = new java.util.concurrent.CountDownLatch(1);
        var first = java.util.concurrent.Executors.newSingleThreadExecutor().submit(() -> {
            try (CpuBackend cpu = new CpuBackend(1)) {
                MambaModel model = MambaModel.load(cpu, Initializer.reference(CONFIG, 3));
                return Trainer.train(model, patterns(4, 19), Objective.languageModel(), options(4, dir, false), new Trainer.Listener() {
                    public void onStep(Trainer.StepMetrics m) {
                        if (m.step() != 2) return;
                        atStep2.countDown();
                        try {
                            release.await();
                        } catch (InterruptedException e) {
                            throw new IllegalStateException(e);
                        }
                    }
                });
            }
        });
        assertTrue(atStep2.await(60, java.util.concurrent.TimeUnit.SECONDS));
        try (CpuBackend cpu = new CpuBackend(1)) {
            MambaModel model = MambaModel.load(cpu, Initializer.reference(CONFIG, 4));
            var e = assertThrows(java.io.IOException.class,
                    () -> Trainer.train(model, patterns(4, 19), Objective.languageModel(), options(4, dir, false), new Trainer.Listener() {}));
            assertTrue(e.getMessage().startsWith(dir + ": another ssmtk run is writing to this folder"), e.getMessage());
        } finally {
            release.countDown();
        }
        assertEquals(4, first.get(60, java.util.concurrent.TimeUnit.SECONDS).history().getLast().step());
        assertTrue(Files.notExists(dir.resolve(org.ssmtk.core.io.RunLock.FILE)), "the lock goes with the run");
        // and the folder is free again
        try (CpuBackend cpu = new CpuBackend(1)) {
            Trainer.train(MambaModel.load(cpu, Initializer.reference(CONFIG, 4)), patterns(4, 19), Objective.languageModel(),
                    options(5, dir, true), new Trainer.Listener() {});
        }
    }

    @Test
    void resumeWithoutALatestPointerOverExistingCheckpointsIsRefused() throws Exception {
        try (CpuBackend cpu = new CpuBackend(1)) {
            MambaModel model = MambaModel.load(cpu, Initializer.reference(CONFIG, 3));
            Trainer.train(model, patterns(4, 19), Objective.languageModel(), options(4, dir, false), new Trainer.Listener() {});
            Files.delete(TrainingCheckpoint.checkpointsDir(dir).resolve(TrainingCheckpoint.LATEST));
            var e = assertThrows(org.ssmtk.core.io.ModelFormatException.class,
                    () -> Trainer.train(model, patterns(4, 19), Objective.languageModel(), options(6, dir, true), new Trainer.Listener() {}));
            assertTrue(e.getMessage().contains("holds step-00000003, step-00000004 but no 'latest' file"), e.getMessage());
        }
    }

    @Test
    void weightsThatOverflowAreNeverKeptAsTheLastGoodCheckpoint() throws Exception {
        try (CpuBackend cpu = new CpuBackend(1)) {
            MambaModel model = MambaModel.load(cpu, Initializer.reference(CONFIG, 3));
            // a learning rate beyond float range: loss and gradients of step 1 are finite, the weights after it are not
            var o = new Trainer.Options(4, 1, 0, new LearningRateSchedule(1e39, 1e39, 0, 4), AdamW.Settings.defaults(), 1, 2, 1, dir, false,
                    new ObjectMapper().createObjectNode());
            var e = assertThrows(TrainingDivergedException.class,
                    () -> Trainer.train(model, patterns(4, 19), Objective.languageModel(), o, new Trainer.Listener() {}));
            assertTrue(e.getMessage().contains("at step 1: parameter ") && e.getMessage().contains("is no longer finite"), e.getMessage());
            assertTrue(e.getMessage().endsWith("no checkpoint was written before it (lower --lr, or checkpoint more often with --checkpoint-every)"),
                    e.getMessage());
            assertTrue(TrainingCheckpoint.list(dir).isEmpty(), "no diverged checkpoint kept");
        }
    }
}
