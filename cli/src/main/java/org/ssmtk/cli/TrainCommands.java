package org.ssmtk.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.ssmtk.core.config.Presets;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.train.AdamW;
import org.ssmtk.core.train.BatchSource;
import org.ssmtk.core.train.LearningRateSchedule;
import org.ssmtk.core.train.Objective;
import org.ssmtk.core.train.TokenStream;
import org.ssmtk.core.train.Trainer;
import org.ssmtk.workflows.report.Charts;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.ssmtk.cli.CommonOptions.requiredOutput;
import static org.ssmtk.cli.CommonOptions.requiredInput;
import static org.ssmtk.cli.CommonOptions.optionalInput;
import static org.ssmtk.cli.CommonOptions.flag;
import static org.ssmtk.cli.CommonOptions.optional;
import static org.ssmtk.cli.CommonOptions.required;

/** {@code ssmtk lm train}: causal language-model training on token files. */
final class TrainCommands {
    private TrainCommands() {}

    static CommandGroup group() {
        return new CommandGroup("lm", "train causal language models on token files", List.of(new Train()));
    }

    /** The optimizer and schedule options every trainer shares (lm train, synthetic, genomics, audio). */
    static Options withOptimizer(Options o) {
        return o.addOption(required("steps", "N", "optimizer steps in total (a resumed run may raise it)"))
                .addOption(optional("batch", "B", "sequences per micro-batch (default 8)"))
                .addOption(optional("accumulate", "K", "micro-batches per optimizer step (default 1)"))
                .addOption(optional("lr", "LR", "peak learning rate (default 1e-3)"))
                .addOption(optional("min-lr", "LR", "learning rate at the end of the cosine decay (default lr / 10)"))
                .addOption(optional("warmup", "N", "linear warmup steps (default min(1000, steps / 10))"))
                .addOption(optional("weight-decay", "W", "decoupled weight decay of the projection matrices (default 0.1)"))
                .addOption(flag("decay-all", "also decay A_log, D, biases, norms and embeddings"))
                .addOption(optional("clip", "NORM", "clip gradients to this global norm, 0 = off (default 1.0)"))
                .addOption(optional("seed", "S", "seed of the initialization and of the data order (default 0)"))
                .addOption(optional("log-every", "N", "write a metrics line every N steps (default 10)"))
                .addOption(flag("recompute-activations", "keep only each layer's input and run its forward again in the backward:"
                        + " one layer's activations in memory for one more forward per step (long contexts; same gradients)"));
    }

    /** The run-directory options every trainer shares: --checkpoint-every, --keep, --resume (--out is the caller's). */
    static Options withRunDirectory(Options o) {
        return o.addOption(optional("checkpoint-every", "N", "checkpoint interval in steps, 0 = only at the end (default 500)"))
                .addOption(optional("keep", "K", "checkpoints to keep (default 3)"))
                .addOption(flag("resume", "continue from OUT's latest checkpoint"));
    }

    /** Parsed --out, --checkpoint-every, --keep and --resume. */
    record RunDirectory(Path out, int checkpointEvery, int keep, boolean resume) {
        static RunDirectory parse(CommandLine cl) throws UsageException {
            int every = CommonOptions.integer(cl, "checkpoint-every", 500);
            if (every < 0) throw new UsageException("--checkpoint-every must be >= 0, got " + every);
            int keep = CommonOptions.positiveInt(cl, "keep", 3);
            return new RunDirectory(Path.of(cl.getOptionValue("out")), every, keep, cl.hasOption("resume"));
        }

        /** A finished or interrupted run is only continued on purpose, never overwritten. */
        void refuseExistingRunUnlessResuming() throws UsageException {
            if (!resume && Files.isDirectory(out.resolve("checkpoints")))
                throw new UsageException("--out " + out + " already holds a run; add --resume to continue it or choose another directory");
        }
    }

    /** Parsed optimizer options, and the subset a resumed run must share. */
    record OptimizerOptions(long steps, int batch, int accumulate, double lr, double minLr, int warmup, double weightDecay,
                            boolean decayAll, double clip, long seed, int logEvery, boolean recomputeActivations) {
        static OptimizerOptions parse(CommandLine cl, double defaultLr, int defaultBatch) throws UsageException {
            long steps = CommonOptions.longValue(cl, "steps", 0);
            if (steps < 1) throw new UsageException("--steps must be a positive integer, got " + steps);
            int batch = CommonOptions.positiveInt(cl, "batch", defaultBatch);
            int accumulate = CommonOptions.positiveInt(cl, "accumulate", 1);
            double lr = CommonOptions.number(cl, "lr", defaultLr);
            if (!(lr > 0)) throw new UsageException("--lr must be positive, got " + lr);
            double minLr = CommonOptions.number(cl, "min-lr", lr / 10);
            if (minLr < 0 || minLr > lr) throw new UsageException("--min-lr must be in [0, lr], got " + minLr);
            int warmup = CommonOptions.integer(cl, "warmup", defaultWarmup(cl, steps));
            if (warmup < 0) throw new UsageException("--warmup must be >= 0, got " + warmup);
            double wd = CommonOptions.number(cl, "weight-decay", 0.1);
            if (wd < 0) throw new UsageException("--weight-decay must be >= 0, got " + wd);
            double clip = CommonOptions.number(cl, "clip", 1.0);
            if (clip < 0) throw new UsageException("--clip must be >= 0, got " + clip);
            return new OptimizerOptions(steps, batch, accumulate, lr, minLr, warmup, wd, cl.hasOption("decay-all"), clip,
                    CommonOptions.longValue(cl, "seed", 0), CommonOptions.positiveInt(cl, "log-every", 10),
                    cl.hasOption("recompute-activations"));
        }

        /** What must not change when a run resumes (everything but the step count and logging). */
        ObjectNode run() {
            ObjectNode n = new ObjectMapper().createObjectNode();
            n.put("steps", steps).put("batch", batch).put("accumulate", accumulate).put("lr", lr).put("min_lr", minLr)
                    .put("warmup", warmup).put("weight_decay", weightDecay).put("decay_all", decayAll).put("clip", clip).put("seed", seed);
            return n;
        }

        /**
         * The model set up as these options say; recomputing activations changes memory and time, not
         * results, so it is not part of {@link #run()} and may differ between a run and its resumption.
         */
        MambaModel prepare(MambaModel model) {
            model.recomputeActivations(recomputeActivations);
            return model;
        }

        Trainer.Options trainer(Path out, int checkpointEvery, int keep, boolean resume, ObjectNode run) {
            AdamW.Settings adam = new AdamW.Settings(0.9, 0.999, 1e-8, weightDecay, decayAll);
            LearningRateSchedule schedule = new LearningRateSchedule(lr, minLr, warmup, (int) Math.min(Integer.MAX_VALUE, steps));
            return new Trainer.Options(steps, accumulate, clip, schedule, adam, checkpointEvery, keep, logEvery, out, resume, run);
        }
    }

    /**
     * min(1000, steps / 10); but a resumed run keeps the warmup it started with, even when it is
     * given more steps, so that extending a run does not change its past schedule.
     */
    static int defaultWarmup(CommandLine cl, long steps) throws UsageException {
        if (cl.hasOption("resume") && cl.hasOption("out")) {
            try {
                Path latest = org.ssmtk.core.train.TrainingCheckpoint.latest(Path.of(cl.getOptionValue("out")));
                if (latest != null) {
                    var saved = org.ssmtk.core.train.TrainingCheckpoint.readState(latest).options();
                    if (saved != null && saved.has("warmup")) return saved.get("warmup").asInt();
                }
            } catch (IOException e) {
                throw new UsageException(e.getMessage());
            }
        }
        return (int) Math.min(1000, steps / 10);
    }

    /**
     * Draws a chart, or says in one line on stderr why it could not (a headless server without
     * fonts, say): a missing picture must not cost the results of a run. Returns the file or null.
     */
    static Path drawOrWarn(Path file, PrintStream err, ChartWriter draw) {
        try {
            draw.write(file);
            return file;
        } catch (IOException | RuntimeException | LinkageError | InternalError e) {
            err.println("ssmtk: could not draw " + file + " (" + (e.getMessage() == null ? e.toString() : e.getMessage()).replace('\n', ' ')
                    + "); the data behind it is written");
            return null;
        }
    }

    @FunctionalInterface
    interface ChartWriter {
        void write(Path file) throws IOException;
    }

    /** Draws OUT/loss.png from OUT/metrics.jsonl (see {@link #drawOrWarn}). */
    static Path plotLoss(Path out, String title, PrintStream err) throws IOException {
        Path metrics = out.resolve(Trainer.METRICS);
        if (!Files.exists(metrics)) return null;
        List<double[]> pts = new ArrayList<>();
        ObjectMapper mapper = new ObjectMapper();
        for (String line : Files.readAllLines(metrics)) {
            if (line.isBlank()) continue;
            var n = mapper.readTree(line);
            pts.add(new double[]{n.get("step").asDouble(), n.get("loss").asDouble()});
        }
        double[] x = pts.stream().mapToDouble(p -> p[0]).toArray(), y = pts.stream().mapToDouble(p -> p[1]).toArray();
        return drawOrWarn(out.resolve("loss.png"), err,
                png -> new Charts.Lines(title, "step", "training loss (cross-entropy, nats)").add("loss", x, y).writePng(png));
    }

    static final class Train implements Command {
        public String name() { return "train"; }

        public String summary() { return "train (or continue training) a Mamba causal LM on token ids"; }

        public String footer() {
            return "Data: --data-format safetensors (an integer tensor input_ids or tokens; rows are concatenated),\n"
                    + "u8 or u16 (raw little-endian ids, as nanoGPT's .bin). Training windows of --seq-len tokens are\n"
                    + "drawn at random, as a function of (seed, step), so --resume sees the same batches.\n"
                    + "The model starts from --model DIR (its weights), or from --config/--preset (fresh, seeded).\n"
                    + "Writes OUT/metrics.jsonl (step, loss, lr, grad_norm, tokens_per_s), OUT/loss.png,\n"
                    + "OUT/checkpoints/step-N/ every --checkpoint-every steps (the last --keep kept) and OUT/model\n"
                    + "(HuggingFace layout) at the end. A non-finite loss stops the run with exit code 1 and keeps\n"
                    + "the last good checkpoint.\n\n"
                    + "example: ssmtk lm train --preset tiny --data tokens.bin --data-format u16 --out run1 --steps 1000";
        }

        public Options options() {
            Options o = new Options()
                    .addOption(optionalInput("config", "config.json", "start from a fresh model with this config"))
                    .addOption(optional("preset", "NAME", "start from a fresh preset model: 130m, dna, tiny"))
                    .addOption(optionalInput("model", "DIR", "start from this model's weights"))
                    .addOption(requiredInput("data", "FILE", "training tokens"))
                    .addOption(optional("data-format", "FMT", "safetensors, u8 or u16 (default from the extension: .safetensors)"))
                    .addOption(requiredOutput("out", "DIR", "run directory"))
                    .addOption(optional("seq-len", "L", "tokens per training sequence (default 1024)"));
            TrainCommands.withRunDirectory(o);
            return CommonOptions.withBackend(withOptimizer(o));
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            int sources = (cl.hasOption("config") ? 1 : 0) + (cl.hasOption("preset") ? 1 : 0) + (cl.hasOption("model") ? 1 : 0);
            if (sources != 1) throw new UsageException("give exactly one of --config, --preset and --model");
            OptimizerOptions opt = OptimizerOptions.parse(cl, 1e-3, 8);
            int seqLen = CommonOptions.positiveInt(cl, "seq-len", 1024);
            if (seqLen < 2) throw new UsageException("--seq-len must be at least 2");
            TrainCommands.RunDirectory runDir = TrainCommands.RunDirectory.parse(cl);
            int every = runDir.checkpointEvery(), keep = runDir.keep();
            Path data = CommonOptions.existingFile(cl, "data");
            TokenStream.Format format = dataFormat(data, cl.getOptionValue("data-format"));
            runDir.refuseExistingRunUnlessResuming();
            Path outDir = runDir.out();
            boolean resume = runDir.resume();

            MambaCheckpoint start;
            String origin;
            if (cl.hasOption("model")) {
                start = MambaCheckpoint.load(CommonOptions.existingDir(cl, "model"));
                origin = "model " + cl.getOptionValue("model");
            } else {
                MambaConfig config = cl.hasOption("config") ? MambaConfig.read(CommonOptions.existingFile(cl, "config"))
                        : Presets.get(cl.getOptionValue("preset"));
                start = Initializer.reference(config, opt.seed());
                origin = cl.hasOption("config") ? "config " + cl.getOptionValue("config") : "preset " + cl.getOptionValue("preset");
            }
            TokenStream tokens = TokenStream.read(data, format, start.config().paddedVocabSize());
            BatchSource batches = tokens.windows(opt.batch(), seqLen, opt.seed());
            ObjectNode run = opt.run().put("seq_len", seqLen).put("data", data.toAbsolutePath().normalize().toString()).put("start", origin);
            err.printf(Locale.ROOT, "ssmtk lm train: %,d tokens from %s; %s; %d steps x %d x %d x %d tokens%n", tokens.size(), data, origin,
                    opt.steps(), opt.accumulate(), opt.batch(), seqLen);
            try (Backend backend = CommonOptions.backend(cl, err);
                 TrainingProgress progress = new TrainingProgress(err, "lm train", opt.logEvery())) {
                MambaModel model = MambaModel.load(backend, start);
                Trainer.Result r = Trainer.train(opt.prepare(model), batches, Objective.languageModel(), opt.trainer(outDir, every, keep, resume, run), progress);
                progress.close();
                Path png = plotLoss(outDir, "ssmtk lm train: " + outDir.getFileName(), err);
                out.printf(Locale.ROOT, "steps %d..%d  final loss %.4f  model %s  curve %s%n", r.firstStep(), r.lastStep(), r.finalLoss(),
                        outDir.resolve(Trainer.MODEL), png);
            }
            return 0;
        }
    }

    static TokenStream.Format dataFormat(Path data, String given) throws UsageException {
        if (given == null) {
            if (data.getFileName().toString().endsWith(".safetensors")) return TokenStream.Format.SAFETENSORS;
            throw new UsageException("--data " + data + ": give --data-format (safetensors, u8 or u16) for files not named *.safetensors");
        }
        return switch (given) {
            case "safetensors" -> TokenStream.Format.SAFETENSORS;
            case "u8", "uint8" -> TokenStream.Format.U8;
            case "u16", "uint16" -> TokenStream.Format.U16;
            default -> throw new UsageException("--data-format must be safetensors, u8 or u16, got '" + given + "'");
        };
    }
}
