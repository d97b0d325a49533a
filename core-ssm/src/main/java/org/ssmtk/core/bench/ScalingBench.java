package org.ssmtk.core.bench;

import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.config.Presets;
import org.ssmtk.core.device.TrainingDevices;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.train.AdamW;
import org.ssmtk.core.train.Batch;
import org.ssmtk.core.train.BatchSource;
import org.ssmtk.core.train.LearningRateSchedule;
import org.ssmtk.core.train.Objective;
import org.ssmtk.core.train.Replicas;
import org.ssmtk.core.train.Trainer;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Data-parallel training on the GPUs of one machine: tokens/s of the full training step (forward,
 * loss, backward, gradient sums through NCCL, clipping, AdamW) at 1, 2, ... GPUs with a fixed
 * micro-batch per GPU (so the global batch grows with the GPUs, as DDP benchmarks count it), and the
 * scaling efficiency tokens/s(N) / (N tokens/s(1)). Then the loss curve of N GPUs against one GPU
 * accumulating the same micro-batches, over {@code match} steps of a small model: the largest
 * relative difference of the loss. Prints one table last.
 *
 * <p>Run: java -cp ... org.ssmtk.core.bench.ScalingBench [train=130m:8x2048,dna:8x16384] [gpus=1,2]
 * [steps=N] [precision=fp32] [match=dna:4x2048:50]
 */
public final class ScalingBench {
    private ScalingBench() {}

    public static void main(String[] args) throws IOException {
        String train = "130m:8x2048,dna:8x16384", gpus = "1,2", precision = "fp32", match = "dna:4x2048:50";
        int steps = 8;
        for (String a : args) {
            String[] kv = a.split("=", 2);
            switch (kv[0]) {
                case "train" -> train = kv[1];
                case "gpus" -> gpus = kv[1];
                case "steps" -> steps = Integer.parseInt(kv[1]);
                case "precision" -> precision = kv[1];
                case "match" -> match = kv[1];
                default -> throw new IllegalArgumentException("unknown argument " + a);
            }
        }
        List<String> table = new ArrayList<>();
        table.add("| model | micro-batch per GPU | GPUs | global batch | s/step | tokens/s | scaling efficiency |");
        table.add("|---|---|---|---|---|---|---|");
        for (String spec : train.split(",")) {
            double one = Double.NaN;
            for (String g : gpus.split(",")) {
                int n = Integer.parseInt(g.trim());
                double[] r = throughput(spec, n, steps, precision);
                if (n == 1) one = r[1];
                String[] p = spec.split(":");
                int b = Integer.parseInt(p[1].split("x")[0]);
                table.add(String.format(Locale.ROOT, "| %s %s | %s | %d | %d | %.4f | %.0f | %s |", p[0], precision, p[1], n, n * b, r[0], r[1],
                        Double.isNaN(one) ? "-" : String.format(Locale.ROOT, "%.3f", r[1] / (n * one))));
            }
        }
        if (!match.isBlank()) {
            for (String g : gpus.split(",")) {
                int n = Integer.parseInt(g.trim());
                if (n < 2) continue;
                table.add("");
                table.add(lossMatch(match, n, precision));
            }
        }
        System.out.println();
        table.forEach(System.out::println);
    }

    private static BatchSource randomTokens(int vocab, int batch, int len) {
        return (step, micro) -> {
            SplittableRandom r = BatchSource.random(7, step, micro);
            int[] ids = new int[batch * len];
            for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(vocab);
            return Batch.nextToken(ids, batch, len);
        };
    }

    /** s/step and tokens/s over the steps after the first two (kernel loading, pools filling, NCCL connecting). */
    static double[] throughput(String spec, int gpus, int steps, String precision) {
        String[] p = spec.split(":");
        String[] bl = p[1].split("x");
        int batch = Integer.parseInt(bl[0]), len = Integer.parseInt(bl[1]);
        MambaConfig config = Presets.get(p[0]);
        MambaCheckpoint start = Initializer.reference(config, 1);
        int warm = 2;
        List<Trainer.StepMetrics> seen = new ArrayList<>();
        try (TrainingDevices devices = TrainingDevices.open("cuda", 0, precision, gpus, System.out::println)) {
            Replicas replicas = devices.load(start, m -> {});
            Trainer.Options o = new Trainer.Options(steps, gpus, 1.0, new LearningRateSchedule(6e-4, 6e-5, 0, steps),
                    AdamW.Settings.defaults(), 0, 1, 1, null, false, null);
            Trainer.train(replicas, randomTokens(config.vocabSize(), batch, len), Objective.languageModel(), o, new Trainer.Listener() {
                @Override
                public void onStep(Trainer.StepMetrics m) {
                    seen.add(m);
                    System.out.printf(Locale.ROOT, "train %s x%d GPUs step %d loss %.4f elapsed %.3f s%n", spec, gpus, m.step(), m.loss(),
                            m.elapsedSeconds());
                }
            });
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        Trainer.StepMetrics a = seen.get(warm - 1), z = seen.getLast();
        double seconds = z.elapsedSeconds() - a.elapsedSeconds();
        return new double[]{seconds / (steps - warm), (z.tokens() - a.tokens()) / seconds};
    }

    /** "dna:4x2048:50": N GPUs against one GPU accumulating N micro-batches, same data, same start. */
    static String lossMatch(String spec, int gpus, String precision) throws IOException {
        String[] p = spec.split(":");
        String[] bl = p[1].split("x");
        int batch = Integer.parseInt(bl[0]), len = Integer.parseInt(bl[1]), steps = Integer.parseInt(p[2]);
        MambaConfig config = Presets.get(p[0]);
        MambaCheckpoint start = Initializer.reference(config, 3);
        BatchSource data = randomTokens(config.vocabSize(), batch, len);
        Trainer.Options o = new Trainer.Options(steps, gpus, 1.0, new LearningRateSchedule(1e-3, 1e-4, 5, steps),
                AdamW.Settings.defaults(), 0, 1, 1, null, false, null);
        List<Double> single = new ArrayList<>(), parallel = new ArrayList<>();
        try (TrainingDevices one = TrainingDevices.open("cuda", 0, precision, 1, s -> {})) {
            for (var m : Trainer.train(one.load(start, x -> {}), data, Objective.languageModel(), o, new Trainer.Listener() {}).history())
                single.add(m.loss());
        }
        try (TrainingDevices many = TrainingDevices.open("cuda", 0, precision, gpus, s -> {})) {
            for (var m : Trainer.train(many.load(start, x -> {}), data, Objective.languageModel(), o, new Trainer.Listener() {}).history())
                parallel.add(m.loss());
        }
        double worst = 0;
        int at = 0;
        for (int i = 0; i < steps; i++) {
            double d = Math.abs(single.get(i) - parallel.get(i)) / Math.abs(single.get(i));
            if (d > worst) {
                worst = d;
                at = i + 1;
            }
        }
        return String.format(Locale.ROOT, "loss curve, %s %s, %d steps: %d GPUs vs 1 GPU accumulating %d micro-batches: largest relative"
                        + " difference %.2e (step %d); loss %.5f -> %.5f (1 GPU) and %.5f -> %.5f (%d GPUs)", p[0], p[1], steps, gpus, gpus,
                worst, at, single.getFirst(), single.getLast(), parallel.getFirst(), parallel.getLast(), gpus);
    }
}
