package org.ssmtk.core.train;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.backend.HostCollective;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.tensor.Tensor;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The data-parallel path of {@link Trainer} on the CPU, with {@link HostCollective} standing in for
 * NCCL: one replica is today's training to the bit, and two replicas follow the loss curve of one
 * that accumulates both replicas' micro-batches.
 */
class DataParallelTrainingTest {
    @TempDir
    Path dir;

    static final MambaConfig CONFIG = MambaConfig.of(11, 16, 3, 2);

    static Trainer.Options options(long steps, int accumulation, Path out, boolean resume) {
        var run = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("accumulate", accumulation);
        return new Trainer.Options(steps, accumulation, 0.5, new LearningRateSchedule(3e-3, 3e-4, 2, 20), AdamW.Settings.defaults(),
                4, 2, 1, out, resume, run);
    }

    private static Map<String, float[]> weights(MambaModel m) {
        Map<String, float[]> out = new java.util.LinkedHashMap<>();
        m.parameters().forEach((k, t) -> out.put(k, m.backend().toHost(t)));
        return out;
    }

    /** The step as the trainer took it before data parallelism: accumulate, clip by the global norm, AdamW. */
    private static void referenceSteps(MambaModel model, BatchSource data, Trainer.Options o, List<Double> losses) {
        AdamW adam = new AdamW(model.backend(), model.parameters(), o.adam());
        var grads = model.newGradients();
        for (long step = 1; step <= o.steps(); step++) {
            grads.zero();
            double loss = 0;
            for (int micro = 0; micro < o.accumulation(); micro++)
                loss += Objective.languageModel().lossAndGradients(model, data.batch(step, micro), grads, 1f / o.accumulation()).loss()
                        / o.accumulation();
            double norm = grads.globalNorm();
            if (norm > o.clipNorm()) grads.scale((float) (o.clipNorm() / norm));
            adam.update(grads, o.schedule().at(step));
            losses.add(loss);
        }
    }

    @Test
    void oneReplicaThroughARealAllReduceIsTodaysStepBitForBit() throws Exception {
        MambaCheckpoint start = Initializer.reference(CONFIG, 3);
        BatchSource data = TrainerTest.patterns(3, 17);
        Trainer.Options o = options(5, 2, null, false);
        try (CpuBackend a = new CpuBackend(2); CpuBackend b = new CpuBackend(2)) {
            MambaModel reference = MambaModel.load(a, start);
            List<Double> refLosses = new ArrayList<>();
            referenceSteps(reference, data, o, refLosses);

            MambaModel replica = MambaModel.load(b, start);
            // a group of one that still copies every gradient to the host and back: the whole path runs
            Replicas one = new Replicas(List.of(replica), HostCollective.group(List.of(b)));
            Trainer.Result r = Trainer.train(one, data, Objective.languageModel(), o, new Trainer.Listener() {});
            for (int i = 0; i < refLosses.size(); i++) assertEquals(refLosses.get(i), r.history().get(i).loss(), 0.0, "loss at step " + (i + 1));
            Map<String, float[]> want = weights(reference), got = weights(replica);
            for (String k : want.keySet()) assertArrayEquals(want.get(k), got.get(k), 0f, k);
        }
    }

    @Test
    void twoReplicasFollowOneReplicaAccumulatingTheirMicroBatches() throws Exception {
        MambaCheckpoint start = Initializer.reference(CONFIG, 4);
        BatchSource data = TrainerTest.patterns(2, 19);
        Trainer.Options o = options(12, 4, null, false);
        try (CpuBackend one = new CpuBackend(1); CpuBackend r0 = new CpuBackend(1); CpuBackend r1 = new CpuBackend(1)) {
            Trainer.Result single = Trainer.train(MambaModel.load(one, start), data, Objective.languageModel(), o, new Trainer.Listener() {});
            MambaModel m0 = MambaModel.load(r0, start), m1 = MambaModel.load(r1, start);
            Replicas two = new Replicas(List.of(m0, m1), HostCollective.group(List.of(r0, r1)));
            Trainer.Result parallel = Trainer.train(two, data, Objective.languageModel(), o, new Trainer.Listener() {});
            assertEquals(single.history().size(), parallel.history().size());
            double worst = 0;
            for (int i = 0; i < single.history().size(); i++) {
                var s = single.history().get(i);
                var p = parallel.history().get(i);
                worst = Math.max(worst, Math.abs(s.loss() - p.loss()) / Math.abs(s.loss()));
                assertEquals(s.tokens(), p.tokens(), "tokens seen by step " + s.step());
            }
            assertTrue(worst < 1e-5, "loss curves differ by " + worst + " relative");
            // the replicas took the same updates
            Map<String, float[]> w0 = weights(m0), w1 = weights(m1);
            for (String k : w0.keySet()) assertArrayEquals(w0.get(k), w1.get(k), 0f, k);
            // and the micro-batches were not all the same ones: a replica alone would have learnt otherwise
            assertTrue(single.history().get(11).loss() < single.history().get(0).loss());
        }
    }

    @Test
    void aRunResumesOnAnotherNumberOfReplicas() throws Exception {
        straightAndResumedOnTwo(5, 8, false);
    }

    @Test
    @Timeout(120)
    void aResumedRunOfTwoReplicasWritesItsNextCheckpointsAndFollowsTheStraightRun() throws Exception {
        // the shape of a 2-GPU run that once hung (2026-12-01): resumed, then a checkpoint between steps
        Path split = straightAndResumedOnTwo(10, 12, true);
        assertEquals(List.of("step-00000008", "step-00000012"), TrainingCheckpoint.list(split), "keeps 2: step 8 written mid-run");
    }

    /**
     * steps straight on one replica, and the same run stopped after 4 steps (on two replicas or one)
     * and resumed on two, which must follow the straight run's losses; returns the resumed run's out.
     */
    private Path straightAndResumedOnTwo(long seed, int steps, boolean firstOnTwo) throws Exception {
        MambaCheckpoint start = Initializer.reference(CONFIG, seed);
        BatchSource data = TrainerTest.patterns(2, 15);
        Path straight = dir.resolve("straight"), split = dir.resolve("split");
        try (CpuBackend c = new CpuBackend(1); CpuBackend r0 = new CpuBackend(1); CpuBackend r1 = new CpuBackend(1)) {
            Trainer.Result all = Trainer.train(MambaModel.load(c, start), data, Objective.languageModel(), options(steps, 2, straight, false),
                    new Trainer.Listener() {});
            Replicas first = firstOnTwo ? two(start, r0, r1) : Replicas.of(MambaModel.load(c, start));
            Trainer.train(first, data, Objective.languageModel(), options(4, 2, split, false), new Trainer.Listener() {});
            Trainer.Result rest = Trainer.train(two(start, r0, r1), data, Objective.languageModel(), options(steps, 2, split, true),
                    new Trainer.Listener() {});
            assertEquals(5, rest.firstStep());
            for (int i = 0; i < steps - 4; i++)
                assertEquals(all.history().get(4 + i).loss(), rest.history().get(i).loss(), 1e-5 * all.history().get(4 + i).loss());
        }
        return split;
    }

    private static Replicas two(MambaCheckpoint start, CpuBackend r0, CpuBackend r1) {
        return new Replicas(List.of(MambaModel.load(r0, start), MambaModel.load(r1, start)), HostCollective.group(List.of(r0, r1)));
    }

    @Test
    void accumulationMustShareOutEvenly() throws Exception {
        MambaCheckpoint start = Initializer.reference(CONFIG, 6);
        try (CpuBackend r0 = new CpuBackend(1); CpuBackend r1 = new CpuBackend(1)) {
            Replicas two = new Replicas(List.of(MambaModel.load(r0, start), MambaModel.load(r1, start)), HostCollective.group(List.of(r0, r1)));
            var e = assertThrows(IllegalArgumentException.class, () -> Trainer.train(two, TrainerTest.patterns(2, 9),
                    Objective.languageModel(), options(2, 3, null, false), new Trainer.Listener() {}));
            assertTrue(e.getMessage().contains("multiple of the 2 devices"), e.getMessage());
        }
    }

    @Test
    @Timeout(60)
    void oneReplicaFailingStopsTheOthersWithItsError() throws Exception {
        MambaCheckpoint start = Initializer.reference(CONFIG, 7);
        BatchSource good = TrainerTest.patterns(2, 9);
        // micro-batch 1 belongs to replica 1 (accumulation 2 over 2 replicas): it fails at step 3
        BatchSource failing = (step, micro) -> {
            if (step == 3 && micro == 1) throw new IllegalStateException("planted failure in replica 1");
            return good.batch(step, micro);
        };
        try (CpuBackend r0 = new CpuBackend(1); CpuBackend r1 = new CpuBackend(1)) {
            Replicas two = new Replicas(List.of(MambaModel.load(r0, start), MambaModel.load(r1, start)), HostCollective.group(List.of(r0, r1)));
            var e = assertThrows(IllegalStateException.class, () -> Trainer.train(two, failing, Objective.languageModel(),
                    options(6, 2, null, false), new Trainer.Listener() {}));
            assertEquals("planted failure in replica 1", e.getMessage());
        }
    }

    @Test
    @Timeout(60)
    void aStalledReplicaIsReportedWithWhereItsThreadStands() throws Exception {
        MambaCheckpoint start = Initializer.reference(CONFIG, 9);
        BatchSource good = TrainerTest.patterns(2, 9);
        java.util.concurrent.CountDownLatch reported = new java.util.concurrent.CountDownLatch(1);
        // replica 1 (micro-batch 1) waits at step 2 until the trainer has reported it
        BatchSource stalling = (step, micro) -> {
            if (step == 2 && micro == 1) {
                try {
                    if (!reported.await(30, java.util.concurrent.TimeUnit.SECONDS)) throw new IllegalStateException("no stall report within 30 s");
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            }
            return good.batch(step, micro);
        };
        List<String> lines = java.util.Collections.synchronizedList(new ArrayList<>());
        Trainer.Listener listener = new Trainer.Listener() {
            @Override
            public void onMessage(String line) {
                lines.add(line);
                if (line.startsWith("no step has finished")) reported.countDown();
            }
        };
        long saved = Trainer.stallReportNanos;
        Trainer.stallReportNanos = 200_000_000L;
        try (CpuBackend r0 = new CpuBackend(1); CpuBackend r1 = new CpuBackend(1)) {
            Replicas two = new Replicas(List.of(MambaModel.load(r0, start), MambaModel.load(r1, start)), HostCollective.group(List.of(r0, r1)));
            Trainer.Result r = Trainer.train(two, stalling, Objective.languageModel(), options(3, 2, null, false), listener);
            assertEquals(3, r.history().size(), "the run goes on once the replica does");
        } finally {
            Trainer.stallReportNanos = saved;
        }
        assertTrue(lines.get(0).matches("no step has finished in \\d+ s \\(the last was step 1\\); where the threads stand:"), lines.get(0));
        int at = lines.indexOf("  ssmtk-replica-1 (TIMED_WAITING)");
        assertTrue(at > 0, String.join("\n", lines));
        assertTrue(lines.subList(at, lines.size()).stream().anyMatch(l -> l.contains("DataParallelTrainingTest")), String.join("\n", lines));
        assertEquals(1, lines.stream().filter(l -> l.startsWith("no step")).count(), "reported once");
    }

    @Test
    void stallReportSecondsComeFromTheEnvironmentOrDefault() {
        assertEquals(600, Trainer.stallReportSeconds(null));
        assertEquals(600, Trainer.stallReportSeconds(" "));
        assertEquals(2.5, Trainer.stallReportSeconds("2.5"));
        assertTrue(Double.isNaN(Trainer.stallReportSeconds("-1")));
        assertTrue(Double.isNaN(Trainer.stallReportSeconds("ten")));
        assertTrue(Double.isNaN(Trainer.stallReportSeconds("Infinity")));
    }

    @Test
    void everyGradientIsInExactlyOneBucketAndLayersAreTheirOwn() {
        try (CpuBackend c = new CpuBackend(1)) {
            MambaModel m = MambaModel.load(c, Initializer.reference(CONFIG, 8));
            var grads = m.newGradients();
            var buckets = new Trainer.GradientBuckets(grads);
            assertEquals(grads.all().size(), buckets.tensors());
            java.util.Set<Tensor> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
            for (int i = 0; i < CONFIG.numHiddenLayers(); i++) {
                assertTrue(!buckets.layer(i).isEmpty(), "layer " + i + " has gradients");
                for (Tensor t : buckets.layer(i)) assertTrue(seen.add(t));
            }
            for (Tensor t : buckets.rest()) assertTrue(seen.add(t));
            assertTrue(buckets.layer(CONFIG.numHiddenLayers()).isEmpty());
            assertTrue(buckets.rest().contains(grads.get("backbone.embeddings.weight")));
        }
    }
}
