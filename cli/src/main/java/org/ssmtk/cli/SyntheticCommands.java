package org.ssmtk.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.cli.CommandLine;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.nn.ParameterSpec;
import org.ssmtk.core.synthetic.InductionHeads;
import org.ssmtk.core.synthetic.SelectiveCopying;
import org.ssmtk.core.synthetic.SyntheticTask;
import org.ssmtk.core.train.BatchSource;
import org.ssmtk.core.train.Objective;
import org.ssmtk.core.train.Trainer;
import org.ssmtk.workflows.report.Charts;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;


/**
 * {@code ssmtk synthetic selective-copying|induction-heads}: the synthetic tasks of Gu and Dao
 * (2023, section 4.1), trained and evaluated in one command, with the non-selective ablation.
 */
final class SyntheticCommands {
    private SyntheticCommands() {}

    static CommandGroup group() {
        return new CommandGroup("synthetic", "train and evaluate the Mamba paper's synthetic tasks",
                List.of(new Run("selective-copying", "copy 16 tokens scattered in noise (section 4.1.1)", 256, "256"),
                        new Run("induction-heads", "recall the token after a trigger, at up to 256x the training length (4.1.2)", 256,
                                "256,1024,4096,16384,65536")));
    }

    /**
     * Training lengths by step: "256", or "64@2000,128@3500,256" = length 64 for steps 1..2000,
     * 128 up to 3500, then 256. Short sequences first make each early step cheap while the model
     * finds the mechanism; the accuracy reported is at the evaluation lengths.
     */
    record Curriculum(int[] lengths, long[] until) {
        static Curriculum parse(String spec) throws UsageException {
            String[] parts = spec.split(",");
            int[] lens = new int[parts.length];
            long[] until = new long[parts.length];
            for (int i = 0; i < parts.length; i++) {
                String p = parts[i].trim();
                int at = p.indexOf('@');
                if ((at >= 0) == (i == parts.length - 1))
                    throw new UsageException("--train: '" + spec + "' must be L or L@STEP,...,L (every length but the last names its last step)");
                try {
                    lens[i] = Integer.parseInt(at < 0 ? p : p.substring(0, at));
                    until[i] = at < 0 ? Long.MAX_VALUE : Long.parseLong(p.substring(at + 1));
                } catch (NumberFormatException e) {
                    throw new UsageException("--train: '" + p + "' is not L or L@STEP");
                }
                if (lens[i] < 1 || (i > 0 && until[i] <= until[i - 1]))
                    throw new UsageException("--train: lengths must be positive and steps increasing in '" + spec + "'");
            }
            return new Curriculum(lens, until);
        }

        int lengthAt(long step) {
            for (int i = 0; i < lengths.length; i++) if (step <= until[i]) return lengths[i];
            return lengths[lengths.length - 1];
        }

        int finalLength() {
            return lengths[lengths.length - 1];
        }

        String spec() {
            StringBuilder b = new StringBuilder();
            for (int i = 0; i < lengths.length; i++) {
                if (i > 0) b.append(',');
                b.append(lengths[i]);
                if (until[i] != Long.MAX_VALUE) b.append('@').append(until[i]);
            }
            return b.toString();
        }
    }

    /** name for tables, key for folders and results.json, label for progress lines. */
    record Variant(String name, String key, String label) {
        static Variant parse(String s) throws UsageException {
            return switch (s.trim()) {
                case "selective", "s6", "mamba" -> new Variant("selective (S6)", "selective", "S6");
                case "non-selective", "s4", "lti" -> new Variant("non-selective", "non-selective", "LTI");
                case "mamba2", "ssd" -> new Variant("Mamba-2 (SSD)", "mamba2", "SSD");
                default -> throw new UsageException("--variants: unknown variant '" + s.trim() + "' (selective, non-selective, mamba2)");
            };
        }

        /** The model of this variant with base's width, depth and state. */
        MambaConfig config(MambaConfig base, int headDim) throws UsageException {
            if (!key.equals("mamba2")) return base.withSelective(!key.equals("non-selective"));
            if (base.intermediateSize() % headDim != 0)
                throw new UsageException("--head-dim " + headDim + " does not divide 2 x --d-model = " + base.intermediateSize());
            return MambaConfig.mamba2(base.vocabSize(), base.hiddenSize(), base.stateSize(), base.numHiddenLayers(), headDim, 64);
        }
    }

    /** The tasks refuse lengths too short for them (IllegalArgumentException from example): the user's lengths. */
    private static void checkLengths(SyntheticTask task, String option, int[] lengths) throws UsageException {
        for (int l : lengths) {
            if (l < 1) throw new UsageException("--" + option + " lengths must be positive, got " + l);
            try {
                task.example(new java.util.SplittableRandom(0), l, new int[l], new int[l], 0);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--" + option + ": " + e.getMessage());
            }
        }
    }

    static final class Run implements Command {
        private final String name, summary, defaultEval;
        private final int defaultTrain;

        Run(String name, String summary, int defaultTrain, String defaultEval) {
            this.name = name;
            this.summary = summary;
            this.defaultTrain = defaultTrain;
            this.defaultEval = defaultEval;
            train = Opt.string("train", "L|L@S,...,L", "training length, or a curriculum: L1 until step S1, L2 until S2, ..., then the last")
                    .byDefault(Integer.toString(defaultTrain));
            eval = Opt.intList("eval", "L,L,...", "evaluation lengths")
                    .byDefault(java.util.Arrays.stream(defaultEval.split(",")).mapToInt(Integer::parseInt).toArray());
        }

        public String name() { return name; }

        public String summary() { return summary; }

        public String footer() {
            return "Vocabulary 16. Selective copying: tokens 2..15 to memorize at random places among noise (0),\n"
                    + "then as many markers (1) at which the model must output them in order; --train is the total\n"
                    + "length. Induction heads: random tokens 2..15 with one trigger (1) followed by the answer,\n"
                    + "and the trigger again at the end, where the model must output the answer.\n"
                    + "--variants non-selective trains the ablation: the same model with Δ, B, C input-independent\n"
                    + "(learned constants), as the paper's S4 comparison; --variants mamba2 a Mamba-2 (SSD) model of the\n"
                    + "same width, depth and state size. Accuracy = argmax hits over scored\n"
                    + "positions of freshly drawn evaluation sequences. With --out: OUT/<variant>/{model,metrics.jsonl,\n"
                    + "loss.png}, OUT/results.json and OUT/accuracy.png.\n\n"
                    + "example: ssmtk synthetic " + name + " --train " + defaultTrain + " --eval " + defaultEval
                    + " --steps 2000 --variants selective,non-selective --out runs/" + name;
        }

        private final TrainCommands.Optimizer optimizer = new TrainCommands.Optimizer(2e-3, 32);
        private final Opt<String> train;
        private final Opt<int[]> eval;
        static final Opt<Integer> EVAL_SAMPLES = Opt.positiveInt("eval-samples", "N", "evaluation sequences per length")
                .defaultIs("512, fewer above 8k tokens, at least 64");
        static final Opt<Integer> EVAL_EVERY = Opt.integer("eval-every", "N", "also evaluate every N steps during training (a quarter"
                + " of the samples; one line each, and OUT/<variant>/eval.jsonl), 0 = only at the end").check(v -> v >= 0, "must be >= 0").byDefault(0);
        static final Opt<String> VARIANTS = Opt.string("variants", "V,V", "selective, non-selective, mamba2, comma-separated").byDefault("selective");
        static final Opt<Integer> HEAD_DIM = Opt.positiveInt("head-dim", "P", "the mamba2 variant's head width (SSD chunks of 64)").byDefault(32);
        static final Opt<Integer> D_MODEL = Opt.positiveInt("d-model", "D", "model width").byDefault(64);
        static final Opt<Integer> LAYERS = Opt.positiveInt("layers", "N", "Mamba layers").byDefault(2);
        static final Opt<Integer> D_STATE = Opt.positiveInt("d-state", "N", "SSM state size").byDefault(16);
        static final Opt<Path> OUT = Opt.output("out", "DIR", "write models, metrics, results.json and plots here");
        static final Opt<Integer> MEMORIZE = Opt.positiveInt("memorize", "N", "tokens to copy").byDefault(16);

        public List<Opt<?>> options() {
            return Opt.list(train, eval, EVAL_SAMPLES, EVAL_EVERY, VARIANTS, HEAD_DIM, D_MODEL, LAYERS, D_STATE, CommonOptions.TIME_STEP_RANGE, OUT,
                    name.equals("selective-copying") ? List.of(MEMORIZE) : List.of(), optimizer.options(), CommonOptions.BACKEND);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            TrainCommands.OptimizerOptions opt = optimizer.parse(cl);
            Curriculum curriculum = Curriculum.parse(train.get(cl));
            int trainLen = curriculum.finalLength();
            int[] evalLens = eval.get(cl);
            SyntheticTask task = name.equals("selective-copying")
                    ? new SelectiveCopying(MEMORIZE.get(cl)) : new InductionHeads();
            List<Variant> variants = new ArrayList<>();
            for (String v : VARIANTS.get(cl).split(",")) variants.add(Variant.parse(v));
            MambaConfig base = CommonOptions.withTimeStepRange(cl, MambaConfig.of(SyntheticTask.VOCAB, D_MODEL.get(cl), D_STATE.get(cl), LAYERS.get(cl)));
            // check every length before spending minutes on training; first the shapes (a length past what an
            // array holds would fail in the checks' own example arrays)
            for (Variant v : variants) {
                MambaConfig config = v.config(base, HEAD_DIM.get(cl));
                CommonOptions.checkShape(config, "--batch", opt.batch(), "the --train length",
                        java.util.Arrays.stream(curriculum.lengths()).max().orElse(1), false);
                // evaluation runs at least one whole sequence of each --eval length, every position's logits at once
                CommonOptions.checkShape(config, "one sequence", 1, "the --eval length", java.util.Arrays.stream(evalLens).max().orElse(1), true);
            }
            checkLengths(task, eval.name(), evalLens);
            checkLengths(task, train.name(), curriculum.lengths());
            Path outDir = OUT.get(cl);

            ObjectMapper mapper = new ObjectMapper();
            ObjectNode results = mapper.createObjectNode().put("task", name).put("train_len", trainLen).put("train", curriculum.spec());
            results.set("options", opt.run());
            ArrayNode rows = results.putArray("results");
            Charts.Lines accuracyPlot = new Charts.Lines("ssmtk synthetic " + name, "evaluation length", "accuracy").logX().markers();
            StringBuilder table = new StringBuilder();
            table.append(String.format(Locale.ROOT, "%-18s %-16s %9s %7s %10s %10s %9s%n", "task", "variant", "train-len", "steps",
                    "train-s", "eval-len", "accuracy"));
            try (org.ssmtk.core.device.TrainingDevices devices = CommonOptions.trainingDevices(cl, err, opt.gpus())) {
                Backend backend = devices.lead();
                for (Variant v : variants) {
                    MambaConfig config = v.config(base, HEAD_DIM.get(cl));
                    org.ssmtk.core.train.Replicas replicas = devices.load(Initializer.reference(config, opt.seed()), opt::prepare);
                    MambaModel model = replicas.lead();
                    BatchSource data = (step, micro) -> task.batch(BatchSource.random(opt.seed(), step, micro), opt.batch(), curriculum.lengthAt(step));
                    Path runDir = outDir == null ? null : outDir.resolve(v.key());
                    err.printf(Locale.ROOT, "ssmtk synthetic %s: %s, %,d parameters, %d steps x %d sequences, length %s%n", name, v.name(),
                            ParameterSpec.count(config), opt.steps(), (long) opt.batch() * opt.accumulate(), curriculum.spec());
                    long t0 = System.nanoTime();
                    int every = EVAL_EVERY.get(cl);
                    try (TrainingProgress progress = new TrainingProgress(err, name + " " + v.label(), opt.logEvery());
                         EvalDuringTraining during = every == 0 ? null
                                 : new EvalDuringTraining(model, task, evalLens, every, opt.seed(), runDir, err, name + " " + v.label())) {
                        Trainer.Listener listener = during == null ? progress : during.after(progress);
                        Trainer.train(replicas, data, Objective.languageModel(), opt.trainer(runDir, 0, 1, false, null), listener);
                    }
                    double seconds = (System.nanoTime() - t0) / 1e9;
                    double[] xs = new double[evalLens.length], ys = new double[evalLens.length];
                    for (int i = 0; i < evalLens.length; i++) {
                        int len = evalLens[i];
                        int samples = EVAL_SAMPLES.get(cl, defaultSamples(len));
                        long[] ct = accuracy(model, task, len, samples, opt.seed());
                        long correct = ct[0], total = ct[1];
                        double acc = (double) correct / total;
                        xs[i] = len;
                        ys[i] = acc;
                        table.append(String.format(Locale.ROOT, "%-18s %-16s %9d %7d %10.1f %10d %8.2f%%%n", name, v.name(), trainLen,
                                opt.steps(), seconds, len, 100 * acc));
                        rows.addObject().put("variant", v.key()).put("eval_len", len)
                                .put("accuracy", acc).put("correct", correct).put("scored", total).put("train_seconds", seconds)
                                .put("steps", opt.steps());
                        err.printf(Locale.ROOT, "ssmtk synthetic %s: %s at length %d: %.2f%% (%d/%d)%n", name, v.name(), len, 100 * acc, correct, total);
                    }
                    accuracyPlot.add(v.name(), xs, ys);
                    if (runDir != null) TrainCommands.plotLoss(runDir, name + ", " + v.name(), err);
                }
            }
            out.print(table);
            if (outDir != null) {
                String json = mapper.writerWithDefaultPrettyPrinter().writeValueAsString(results);
                AtomicFiles.write(outDir.resolve("results.json"), o -> o.write(json.getBytes(StandardCharsets.UTF_8)));
                TrainCommands.drawOrWarn(outDir.resolve("accuracy.png"), err, accuracyPlot::writePng);
            }
            return 0;
        }
    }

    /** 512 sequences, fewer above 8k tokens (about 4M tokens per length), but at least 64. */
    static int defaultSamples(int len) {
        return (int) Math.max(64, Math.min(512, (1L << 22) / len));
    }

    /**
     * Correct and scored positions over {@code samples} fresh sequences of length len, drawn from a
     * stream fixed by the seed and the length (so every evaluation of one run sees the same sequences),
     * at most 2^20 tokens per forward.
     */
    static long[] accuracy(MambaModel model, SyntheticTask task, int len, int samples, long seed) {
        var rnd = new java.util.SplittableRandom(seed ^ 0x5EEDL * (len + 1));
        long correct = 0, total = 0;
        int per = (int) Math.max(1, Math.min(samples, (1L << 20) / len));
        for (int done = 0; done < samples; done += per) {
            long[] ct = SyntheticTask.evaluate(model, task.batch(rnd, Math.min(per, samples - done), len));
            correct += ct[0];
            total += ct[1];
        }
        return new long[]{correct, total};
    }

    /**
     * Accuracy at every evaluation length every N steps, to see whether extrapolation keeps improving
     * after the training length is solved (it does, at a constant learning rate: see README). The
     * lines go to stderr and, with --out, to OUT/<variant>/eval.jsonl.
     */
    static final class EvalDuringTraining implements AutoCloseable {
        private final MambaModel model;
        private final SyntheticTask task;
        private final int[] lens;
        private final int every;
        private final long seed;
        private final PrintStream err;
        private final String label;
        private final BufferedWriter jsonl;

        EvalDuringTraining(MambaModel model, SyntheticTask task, int[] lens, int every, long seed, Path runDir, PrintStream err, String label)
                throws IOException {
            this.model = model;
            this.task = task;
            this.lens = lens;
            this.every = every;
            this.seed = seed;
            this.err = err;
            this.label = label;
            if (runDir == null) {
                jsonl = null;
            } else {
                Files.createDirectories(runDir);
                jsonl = Files.newBufferedWriter(runDir.resolve("eval.jsonl"), StandardCharsets.UTF_8);
            }
        }

        /** progress first, then the evaluation at every N-th step. */
        Trainer.Listener after(Trainer.Listener progress) {
            return new Trainer.Listener() {
                public void onStart(long first, long last) { progress.onStart(first, last); }

                public void onCheckpoint(Path dir) { progress.onCheckpoint(dir); }

                public void onMessage(String line) { progress.onMessage(line); }

                public void onStep(Trainer.StepMetrics m) {
                    progress.onStep(m);
                    if (m.step() % every == 0) evaluate(m.step());
                }
            };
        }

        private void evaluate(long step) {
            StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%s: step %d accuracy", label, step));
            ObjectNode row = new ObjectMapper().createObjectNode().put("step", step);
            ObjectNode acc = row.putObject("accuracy");
            for (int len : lens) {
                long[] ct = accuracy(model, task, len, Math.max(16, defaultSamples(len) / 4), seed);
                double a = (double) ct[0] / ct[1];
                line.append(String.format(Locale.ROOT, " %d:%.1f%%", len, 100 * a));
                acc.put(Integer.toString(len), a);
            }
            err.println(line);
            if (jsonl != null) {
                try {
                    jsonl.write(row.toString());
                    jsonl.newLine();
                    jsonl.flush();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }

        @Override
        public void close() throws IOException {
            if (jsonl != null) jsonl.close();
        }
    }
}
