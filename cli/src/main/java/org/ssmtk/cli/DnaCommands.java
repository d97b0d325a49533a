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
import org.ssmtk.core.train.Objective;
import org.ssmtk.core.train.Trainer;
import org.ssmtk.genomics.eval.BitsPerBase;
import org.ssmtk.genomics.io.BaseCounts;
import org.ssmtk.genomics.io.BedIntervals;
import org.ssmtk.genomics.io.DnaSequence;
import org.ssmtk.genomics.io.FastaReference;
import org.ssmtk.genomics.sample.HeldOutSplit;
import org.ssmtk.genomics.sample.SequenceLengthWarmup;
import org.ssmtk.genomics.sample.WindowSampler;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;

import static org.ssmtk.cli.CommonOptions.requiredOutput;
import static org.ssmtk.cli.CommonOptions.requiredInput;
import static org.ssmtk.cli.CommonOptions.optionalInput;
import static org.ssmtk.cli.CommonOptions.flag;
import static org.ssmtk.cli.CommonOptions.optional;
import static org.ssmtk.cli.CommonOptions.required;

/** {@code ssmtk dna ...}: DNA language models on FASTA references. */
final class DnaCommands {
    private DnaCommands() {}

    static CommandGroup group() {
        return new CommandGroup("dna", "DNA models on FASTA references (pretraining, classification, scoring, embeddings)",
                List.of(new Pretrain(), new DnaClassifierCommands.TrainClassifier(), new DnaClassifierCommands.Classify(), new DnaKmerBaselineCommand(), new DnaClassifyReadsCommand(),
                        new DnaScoreCommand(), new DnaEmbedCommand()));
    }

    static final String EVAL = "eval.json";

    static final class Pretrain implements Command {
        public String name() { return "pretrain"; }

        public String summary() { return "train (or continue training) a next-base DNA language model on a reference FASTA"; }

        public String footer() {
            return "Input: FASTA, plain, gzip or bgzip, one record or many; with a .fai (and .gzi for bgzip) it is\n"
                    + "read by random access. Lower case (soft-masking) is upper-cased; IUPAC codes become N and are\n"
                    + "counted. Ids: [PAD]=0 [BOS]=1 [EOS]=2 [MASK]=3 A=4 C=5 G=6 T=7 N=8 (written as model/"
                    + DnaVocabulary.FILE + ").\n"
                    + "The last --holdout fraction of every contig is held out: training windows of --seq-len bases are\n"
                    + "drawn at random from the rest as a function of (seed, step), so --resume sees the same batches.\n"
                    + "With --regions BED, training windows are drawn only inside the intervals (outside the tails).\n"
                    + "Sequence-length warmup (as the Mamba paper trains long DNA contexts): --seq-len-warmup START\n"
                    + "--seq-len-warmup-steps W starts on windows of START bases and doubles the length stage by stage\n"
                    + "(START, 2 START, 4 START, ... below --seq-len) over the first W steps, which the short stages share\n"
                    + "equally; from step W + 1 on windows have --seq-len bases. A stage of length l draws\n"
                    + "batch x seq-len / l windows, so every step sees about the same number of bases.\n"
                    + "At the end the model's bits per base on the held-out tails (A/C/G/T targets) go to OUT/"
                    + EVAL + ".\n"
                    + "Writes OUT/metrics.jsonl, OUT/loss.png, OUT/checkpoints/step-N/ and OUT/model (HuggingFace layout\n"
                    + "plus " + DnaVocabulary.FILE + "). The model starts from --model DIR, --config or --preset (default dna).\n\n"
                    + "example: ssmtk dna pretrain --fasta ref.fa --out run1 --steps 1000 --seq-len 1024";
        }

        public Options options() {
            Options o = new Options()
                    .addOption(requiredInput("fasta", "FILE", "reference FASTA (.fa, .fa.gz; bgzip with .fai/.gzi for random access)"))
                    .addOption(requiredOutput("out", "DIR", "run directory"))
                    .addOption(optionalInput("config", "config.json", "start from a fresh model with this config"))
                    .addOption(optional("preset", "NAME", "start from a fresh preset model: dna (default), tiny, 130m"))
                    .addOption(optionalInput("model", "DIR", "start from this model's weights"))
                    .addOption(optionalInput("regions", "BED", "draw training windows only inside these intervals"))
                    .addOption(optional("seq-len", "L", "bases per training window (default 1024)"))
                    .addOption(optional("holdout", "F", "fraction at the end of every contig held out for evaluation (default 0.05)"))
                    .addOption(optional("eval-windows", "N", "at most this many held-out windows are scored (default 64)"))
                    .addOption(flag("rc-augment", "read each window from the reverse strand with probability 1/2"))
                    .addOption(optional("seq-len-warmup", "START", "sequence-length warmup: first window length, doubled up to --seq-len"))
                    .addOption(optional("seq-len-warmup-steps", "W", "steps the warmup's short stages share (needed with --seq-len-warmup)"));
            TrainCommands.withRunDirectory(o);
            return CommonOptions.withBackend(TrainCommands.withOptimizer(o));
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            int slwStart = cl.hasOption("seq-len-warmup") ? CommonOptions.positiveInt(cl, "seq-len-warmup", 0) : 0;
            if (slwStart > 0 != cl.hasOption("seq-len-warmup-steps"))
                throw new UsageException("--seq-len-warmup START and --seq-len-warmup-steps W go together");
            int slwSteps = slwStart > 0 ? CommonOptions.positiveInt(cl, "seq-len-warmup-steps", 0) : 0;
            int sources = (cl.hasOption("config") ? 1 : 0) + (cl.hasOption("preset") ? 1 : 0) + (cl.hasOption("model") ? 1 : 0);
            if (sources > 1) throw new UsageException("give at most one of --config, --preset and --model");
            TrainCommands.OptimizerOptions opt = TrainCommands.OptimizerOptions.parse(cl, 1e-3, 8);
            int seqLen = CommonOptions.positiveInt(cl, "seq-len", 1024);
            if (seqLen < 2) throw new UsageException("--seq-len must be at least 2");
            double holdout = CommonOptions.number(cl, "holdout", 0.05);
            if (!(holdout >= 0 && holdout < 1)) throw new UsageException("--holdout must be in [0, 1), got " + holdout);
            int evalWindows = CommonOptions.positiveInt(cl, "eval-windows", 64);
            TrainCommands.RunDirectory runDir = TrainCommands.RunDirectory.parse(cl);
            int every = runDir.checkpointEvery(), keep = runDir.keep();
            boolean rc = cl.hasOption("rc-augment");
            Path fasta = Path.of(cl.getOptionValue("fasta"));
            runDir.refuseExistingRunUnlessResuming();
            Path outDir = runDir.out();
            boolean resume = runDir.resume();

            MambaCheckpoint start;
            String origin;
            if (cl.hasOption("model")) {
                Path dir = CommonOptions.existingDir(cl, "model");
                DnaVocabulary.check(dir); // a model trained on other ids must not silently continue on these
                start = MambaCheckpoint.load(dir);
                origin = "model " + dir;
            } else {
                String preset = cl.getOptionValue("preset", "dna");
                MambaConfig config = cl.hasOption("config") ? MambaConfig.read(CommonOptions.existingFile(cl, "config")) : Presets.get(preset);
                start = Initializer.reference(config, opt.seed());
                origin = cl.hasOption("config") ? "config " + cl.getOptionValue("config") : "preset " + preset;
            }
            if (start.config().vocabSize() < DnaVocabulary.SIZE)
                throw new UsageException(origin + " has a vocabulary of " + start.config().vocabSize() + " ids; the DNA vocabulary needs "
                        + DnaVocabulary.SIZE);

            List<DnaSequence> contigs;
            try (FastaReference ref = FastaReference.open(fasta)) {
                contigs = ref.readAll();
            }
            List<BedIntervals.Interval> regions = null;
            if (cl.hasOption("regions")) {
                java.util.Map<String, Long> lengths = new java.util.HashMap<>();
                for (DnaSequence s : contigs) lengths.put(s.name(), (long) s.length());
                regions = BedIntervals.read(Path.of(cl.getOptionValue("regions")), lengths, fasta);
            }
            BaseCounts counts = contigs.stream().map(DnaSequence::counts).reduce(BaseCounts.ZERO, BaseCounts::plus);
            HeldOutSplit split = HeldOutSplit.tails(contigs, holdout, regions);
            org.ssmtk.core.train.BatchSource windows;
            SequenceLengthWarmup warmup = null;
            try {
                windows = WindowSampler.of(split.train(), seqLen, opt.batch(), opt.seed(), rc);
            } catch (IllegalArgumentException e) {
                throw new UsageException(fasta + ": " + e.getMessage() + "; lower --seq-len or --holdout");
            }
            if (slwStart > 0) {
                try {
                    windows = warmup = SequenceLengthWarmup.of(split.train(), slwStart, seqLen, opt.batch(), slwSteps, opt.seed(), rc);
                } catch (IllegalArgumentException e) {
                    throw new UsageException("--seq-len-warmup: " + e.getMessage());
                }
            }
            err.printf(Locale.ROOT, "ssmtk dna pretrain: %s: %d contigs, %,d bases (%,d A/C/G/T, %,d N, %,d IUPAC codes read as N, %,d soft-masked)%n",
                    fasta, contigs.size(), counts.total(), counts.acgt(), counts.n(), counts.iupac(), counts.softMasked());
            err.printf(Locale.ROOT, "ssmtk dna pretrain: %,d bases for training, %,d held out; %s; %d steps x %d x %d x %d bases%n",
                    HeldOutSplit.bases(split.train()), HeldOutSplit.bases(split.heldOut()), origin, opt.steps(), opt.accumulate(), opt.batch(), seqLen);
            if (warmup != null)
                for (SequenceLengthWarmup.Stage st : warmup.stages())
                    err.printf(Locale.ROOT, "ssmtk dna pretrain: sequence-length warmup: %,d bases x %d windows at steps %d..%s%n", st.length(), st.batch(),
                            st.firstStep(), st.lastStep() == Long.MAX_VALUE ? "end" : Long.toString(st.lastStep()));
            ObjectNode run = opt.run().put("seq_len", seqLen).put("fasta", fasta.toAbsolutePath().normalize().toString())
                    .put("holdout", holdout).put("rc_augment", rc)
                    .put("regions", cl.hasOption("regions") ? Path.of(cl.getOptionValue("regions")).toAbsolutePath().normalize().toString() : "").put("vocabulary", DnaVocabulary.TYPE + " v" + DnaVocabulary.VERSION)
                    .put("start", origin);
            if (warmup != null) run.put("seq_len_warmup", slwStart).put("seq_len_warmup_steps", slwSteps); // runs without it resume as before
            try (Backend backend = CommonOptions.backend(cl, err);
                 TrainingProgress progress = new TrainingProgress(err, "dna pretrain", opt.logEvery())) {
                MambaModel model = MambaModel.load(backend, start);
                Trainer.Result r = Trainer.train(opt.prepare(model), windows, Objective.languageModel(), opt.trainer(outDir, every, keep, resume, run), progress);
                progress.close();
                Path modelDir = outDir.resolve(Trainer.MODEL);
                DnaVocabulary.write(modelDir);
                BitsPerBase.Result eval = split.heldOut().isEmpty() ? null
                        : BitsPerBase.evaluate(model, split.heldOut(), seqLen, opt.batch(), evalWindows);
                writeEval(outDir, fasta, holdout, r.lastStep(), eval);
                Path png = TrainCommands.plotLoss(outDir, "ssmtk dna pretrain: " + outDir.getFileName(), err);
                String held = eval == null ? "no held-out bases (--holdout 0)"
                        : String.format(Locale.ROOT, "held-out %.4f bits/base (%,d bases, %d windows)", eval.bitsPerBase(), eval.bases(), eval.windows());
                out.printf(Locale.ROOT, "steps %d..%d  final loss %.4f  %s  model %s  curve %s%n", r.firstStep(), r.lastStep(), r.finalLoss(),
                        held, modelDir, png);
            }
            return 0;
        }
    }

    private static void writeEval(Path outDir, Path fasta, double holdout, long step, BitsPerBase.Result eval) throws java.io.IOException {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("fasta", fasta.toString()).put("holdout", holdout).put("step", step)
                .put("scored", "A/C/G/T targets in the last holdout fraction of every contig");
        if (eval != null) n.put("bits_per_base", eval.bitsPerBase()).put("perplexity", eval.perplexity()).put("bases", eval.bases())
                .put("windows", eval.windows());
        Path tmp = outDir.resolve(EVAL + ".tmp");
        new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), n);
        Files.move(tmp, outDir.resolve(EVAL), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
