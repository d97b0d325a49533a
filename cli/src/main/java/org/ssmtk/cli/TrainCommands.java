package org.ssmtk.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.ssmtk.core.config.Presets;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.cli.CommandLine;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.train.AdamW;
import org.ssmtk.core.train.BatchSource;
import org.ssmtk.core.train.LearningRateSchedule;
import org.ssmtk.core.train.Objective;
import org.ssmtk.core.train.SequenceLengthWarmup;
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


/** {@code ssmtk lm train}: causal language-model training on token files. */
final class TrainCommands {
    private TrainCommands() {}

    static CommandGroup group() {
        return new CommandGroup("lm", "train causal language models on token files", List.of(new Train()));
    }

    /**
     * The optimizer and schedule options every trainer shares (lm train, synthetic, genomics, audio);
     * the peak learning rate and the batch default differ by task, so each command holds its own.
     */
    static final class Optimizer {
        final Opt<Long> steps = Opt.longInt("steps", "N", "optimizer steps in total (a resumed run may raise it)")
                .check(v -> v >= 1, "must be a positive integer").required();
        final Opt<Integer> batch;
        final Opt<Integer> accumulate = Opt.positiveInt("accumulate", "K", "micro-batches per step").defaultIs("--gpus");
        final Opt<Double> lr;
        final Opt<Double> minLr = Opt.number("min-lr", "LR", "learning rate at the end of the cosine decay").defaultIs("lr / 10");
        final Opt<Integer> warmup = Opt.integer("warmup", "N", "linear warmup steps").check(v -> v >= 0, "must be >= 0")
                .defaultIs("min(1000, steps / 10); a resumed run keeps its own");
        final Opt<Double> weightDecay = Opt.number("weight-decay", "W", "decoupled weight decay of the projection matrices")
                .check(v -> v >= 0, "must be >= 0").byDefault(0.1);
        final Opt<Boolean> decayAll = Opt.flag("decay-all", "also decay A_log, D, biases, norms and embeddings");
        final Opt<Double> clip = Opt.number("clip", "NORM", "clip gradients to this global norm, 0 = off").check(v -> v >= 0, "must be >= 0")
                .byDefault(1.0);
        final Opt<Long> seed = Opt.longInt("seed", "S", "seed of the initialization and of the data order").byDefault(0L);
        final Opt<Integer> logEvery = Opt.positiveInt("log-every", "N", "write a metrics line every N steps").byDefault(10);
        final Opt<Boolean> recompute = Opt.flag("recompute-activations", "keep only each layer's input and run its forward again in the"
                + " backward: one layer's activations in memory for one more forward per step (long contexts; same gradients)");

        final Opt<Integer> gpus = Opt.positiveInt("gpus", "N", "data-parallel on GPUs 0..N-1 (--device cuda); each runs"
                + " 1/N of a step's micro-batches").byDefault(1);

        Optimizer(double defaultLr, int defaultBatch) {
            batch = Opt.positiveInt("batch", "B", "sequences per micro-batch").byDefault(defaultBatch);
            lr = Opt.number("lr", "LR", "peak learning rate").check(v -> v > 0, "must be positive").byDefault(defaultLr);
        }

        List<Opt<?>> options() {
            return Opt.list(steps, batch, accumulate, lr, minLr, warmup, weightDecay, decayAll, clip, seed, logEvery, recompute, gpus);
        }

        OptimizerOptions parse(CommandLine cl) throws UsageException {
            long n = steps.get(cl);
            double peak = lr.get(cl);
            double min = minLr.get(cl, peak / 10);
            if (min < 0 || min > peak) throw new UsageException("--min-lr must be in [0, lr], got " + min);
            int w = warmup.given(cl) ? warmup.get(cl) : defaultWarmup(cl, n);
            int devices = gpus.get(cl);
            int micro = accumulate.given(cl) ? accumulate.get(cl) : devices;
            if (micro % devices != 0)
                throw new UsageException("--accumulate " + micro + " must be a multiple of --gpus " + devices
                        + ": each GPU takes the same number of each step's micro-batches");
            return new OptimizerOptions(n, batch.get(cl), micro, peak, min, w, weightDecay.get(cl), decayAll.get(cl), clip.get(cl),
                    seed.get(cl), logEvery.get(cl), recompute.get(cl), devices);
        }
    }

    /**
     * --seq-len-warmup START --seq-len-warmup-steps W, one declaration for every trainer of windows
     * (dna pretrain, dna train-classifier, audio train-lm): parsed, built over the command's own
     * window source, reported and recorded in the run's JSON the same way everywhere.
     */
    static final class SeqLenWarmup {
        static final Opt<Integer> START = Opt.positiveInt("seq-len-warmup", "START",
                "sequence-length warmup: first window length, doubled up to --seq-len");
        static final Opt<Integer> STEPS = Opt.positiveInt("seq-len-warmup-steps", "W",
                "steps the warmup's short stages share (needed with --seq-len-warmup)");
        static final List<Opt<?>> OPTIONS = List.of(START, STEPS);

        private SeqLenWarmup() {}

        /** START, or 0 without a warmup; refuses one of the two options without the other. */
        static int start(CommandLine cl) throws UsageException {
            int start = START.get(cl, 0);
            if (start > 0 != STEPS.given(cl))
                throw new UsageException("--seq-len-warmup START and --seq-len-warmup-steps W go together");
            return start;
        }

        /**
         * windows unchanged without a warmup; else the warmup over source up to seqLen, its stages on
         * stderr (unit: "bases", "samples") and its settings in run (runs without one resume as before).
         */
        static BatchSource apply(CommandLine cl, BatchSource windows, SequenceLengthWarmup.StageSource source, int seqLen, int batch,
                                 ObjectNode run, PrintStream err, String command, String unit) throws UsageException {
            int start = start(cl);
            if (start == 0) return windows;
            int steps = STEPS.get(cl);
            SequenceLengthWarmup warmup;
            try {
                warmup = SequenceLengthWarmup.of(source, start, seqLen, batch, steps);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--seq-len-warmup: " + e.getMessage());
            }
            for (SequenceLengthWarmup.Stage st : warmup.stages())
                err.printf(Locale.ROOT, "ssmtk %s: sequence-length warmup: %,d %s x %d windows at steps %d..%s%n", command, st.length(), unit,
                        st.batch(), st.firstStep(), st.lastStep() == Long.MAX_VALUE ? "end" : Long.toString(st.lastStep()));
            run.put("seq_len_warmup", start).put("seq_len_warmup_steps", steps);
            return warmup;
        }
    }

    /** The run-directory options every trainer shares: --out, --checkpoint-every, --keep, --resume. */
    static final Opt<Path> OUT = Opt.output("out", "DIR", "run directory").required();
    static final Opt<Integer> CHECKPOINT_EVERY = Opt.integer("checkpoint-every", "N", "checkpoint interval in steps, 0 = only at the end")
            .check(v -> v >= 0, "must be >= 0").byDefault(500);
    static final Opt<Integer> KEEP = Opt.positiveInt("keep", "K", "checkpoints to keep").byDefault(3);
    static final Opt<Boolean> RESUME = Opt.flag("resume", "continue from OUT's latest checkpoint");
    static final List<Opt<?>> RUN_DIRECTORY = List.of(OUT, CHECKPOINT_EVERY, KEEP, RESUME);

    /** Parsed --out, --checkpoint-every, --keep and --resume. */
    record RunDirectory(Path out, int checkpointEvery, int keep, boolean resume) {
        static RunDirectory parse(CommandLine cl) throws UsageException {
            return new RunDirectory(OUT.get(cl), CHECKPOINT_EVERY.get(cl), KEEP.get(cl), RESUME.get(cl));
        }

        /** A finished or interrupted run is only continued on purpose, never overwritten. */
        void refuseExistingRunUnlessResuming() throws UsageException {
            if (!resume && Files.isDirectory(out.resolve("checkpoints")))
                throw new UsageException("--out " + out + " already holds a run; add --resume to continue it or choose another directory");
        }
    }

    /** Parsed optimizer options, and the subset a resumed run must share. */
    record OptimizerOptions(long steps, int batch, int accumulate, double lr, double minLr, int warmup, double weightDecay,
                            boolean decayAll, double clip, long seed, int logEvery, boolean recomputeActivations, int gpus) {
        /**
         * What must not change when a run resumes (everything but the step count, logging and the number of
         * GPUs, which shares out the same micro-batches).
         */
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
        if (RESUME.get(cl) && OUT.given(cl)) {
            try {
                Path latest = org.ssmtk.core.train.TrainingCheckpoint.latest(OUT.get(cl));
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

        static final Opt<Path> CONFIG = Opt.input("config", "config.json", "start from a fresh model with this config").existingFile();
        static final Opt<String> PRESET = Opt.string("preset", "NAME", "start from a fresh preset model: " + String.join(", ", Presets.NAMES));
        static final Opt<Path> MODEL = Opt.input("model", "DIR", "start from this model's weights").existingDir();
        static final Opt<Path> DATA = Opt.input("data", "FILE", "training tokens").existingFile().required();
        static final Opt<String> DATA_FORMAT = Opt.choice("data-format", "token file format (u8, u16: raw little-endian ids)", "safetensors", "u8", "u16", "uint8", "uint16")
                .defaultIs("from the extension: .safetensors");
        static final Opt<Integer> SEQ_LEN = Opt.positiveInt("seq-len", "L", "tokens per training sequence")
                .check(v -> v >= 2, "must be at least 2").byDefault(1024);
        private final Optimizer optimizer = new Optimizer(1e-3, 8);

        public List<Opt<?>> options() {
            return Opt.list(CONFIG, PRESET, MODEL, DATA, DATA_FORMAT, OUT, SEQ_LEN, CHECKPOINT_EVERY, KEEP, RESUME, optimizer.options(),
                    CommonOptions.BACKEND);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            int sources = (CONFIG.given(cl) ? 1 : 0) + (PRESET.given(cl) ? 1 : 0) + (MODEL.given(cl) ? 1 : 0);
            if (sources != 1) throw new UsageException("give exactly one of --config, --preset and --model");
            OptimizerOptions opt = optimizer.parse(cl);
            int seqLen = SEQ_LEN.get(cl);
            TrainCommands.RunDirectory runDir = TrainCommands.RunDirectory.parse(cl);
            int every = runDir.checkpointEvery(), keep = runDir.keep();
            Path data = DATA.get(cl);
            TokenStream.Format format = dataFormat(data, DATA_FORMAT.get(cl));
            runDir.refuseExistingRunUnlessResuming();
            Path outDir = runDir.out();
            boolean resume = runDir.resume();

            MambaCheckpoint start;
            String origin;
            if (MODEL.given(cl)) {
                start = MambaCheckpoint.load(MODEL.get(cl));
                origin = "model " + MODEL.get(cl);
            } else {
                MambaConfig config = CONFIG.given(cl) ? MambaConfig.read(CONFIG.get(cl)) : CommonOptions.preset(PRESET.get(cl));
                start = Initializer.reference(config, opt.seed());
                origin = CONFIG.given(cl) ? "config " + CONFIG.get(cl) : "preset " + PRESET.get(cl);
            }
            CommonOptions.checkShape(start.config(), "--batch", opt.batch(), "--seq-len", seqLen, false);
            TokenStream tokens = TokenStream.read(data, format, start.config().paddedVocabSize());
            BatchSource batches = tokens.windows(opt.batch(), seqLen, opt.seed());
            ObjectNode run = opt.run().put("seq_len", seqLen).put("data", data.toAbsolutePath().normalize().toString()).put("start", origin);
            err.printf(Locale.ROOT, "ssmtk lm train: %,d tokens from %s; %s; %d steps x %d x %d x %d tokens%n", tokens.size(), data, origin,
                    opt.steps(), opt.accumulate(), opt.batch(), seqLen);
            try (org.ssmtk.core.device.TrainingDevices devices = CommonOptions.trainingDevices(cl, err, opt.gpus());
                 TrainingProgress progress = new TrainingProgress(err, "lm train", opt.logEvery())) {
                org.ssmtk.core.train.Replicas replicas = devices.load(start, opt::prepare);
                MambaModel model = replicas.lead();
                Trainer.Result r = Trainer.train(replicas, batches, Objective.languageModel(), opt.trainer(outDir, every, keep, resume, run), progress);
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
            default -> TokenStream.Format.U16;
        };
    }
}
