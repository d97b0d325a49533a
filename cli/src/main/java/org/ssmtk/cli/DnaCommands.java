package org.ssmtk.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.ssmtk.core.config.Presets;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.cli.CommandLine;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.io.AtomicFiles;
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
import org.ssmtk.genomics.sample.WindowSampler;
import org.ssmtk.genomics.tokenize.DnaVocabulary;
import org.ssmtk.genomics.tokenize.CaduceusVocabulary;
import org.ssmtk.genomics.sample.MaskedWindows;
import org.ssmtk.genomics.eval.MaskedBitsPerBase;
import org.ssmtk.core.config.CaduceusSettings;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;


/** {@code ssmtk dna ...}: DNA language models on FASTA references. */
final class DnaCommands {
    private DnaCommands() {}

    static CommandGroup group() {
        return new CommandGroup("dna", "DNA models on FASTA references (pretraining, classification, scoring, embeddings)",
                List.of(new Pretrain(), new DnaClassifierCommands.TrainClassifier(), new DnaClassifierCommands.Classify(), new DnaKmerBaselineCommand(), new DnaClassifyReadsCommand(),
                        new DnaScoreCommand(), new DnaScoreVariantsCommand(), new DnaEmbedCommand()));
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
                    + "plus " + DnaVocabulary.FILE + "). The model starts from --model DIR, --config or --preset (default " + PRESET.defaultText() + ").\n\n"
                    + "example: ssmtk dna pretrain --fasta ref.fa --out run1 --steps 1000 --seq-len 1024";
        }

        static final Opt<Path> FASTA = Opt.input("fasta", "FILE", "reference FASTA (.fa, .fa.gz; bgzip with .fai/.gzi for random access)").required();
        static final Opt<Path> CONFIG = Opt.input("config", "config.json", "start from a fresh model with this config").existingFile();
        static final Opt<String> PRESET = Opt.string("preset", "NAME", "start from a fresh preset model: dna, tiny, 130m").byDefault("dna");
        static final Opt<Path> MODEL = Opt.input("model", "DIR", "start from this model's weights").existingDir();
        static final Opt<Path> REGIONS = Opt.input("regions", "BED", "draw training windows only inside these intervals");
        static final Opt<Integer> SEQ_LEN = Opt.positiveInt("seq-len", "L", "bases per training window").check(v -> v >= 2, "must be at least 2")
                .byDefault(1024);
        static final Opt<Double> HOLDOUT = Opt.number("holdout", "F", "fraction at the end of every contig held out for evaluation")
                .check(v -> v >= 0 && v < 1, "must be in [0, 1)").byDefault(0.05);
        static final Opt<Integer> EVAL_WINDOWS = Opt.positiveInt("eval-windows", "N", "at most this many held-out windows are scored").byDefault(64);
        static final Opt<String> ARCH = Opt.choice("arch",
                "model family of a fresh model: mamba (next-base LM) or Caduceus, bidirectional (caduceus-ph) or also"
                        + " reverse-complement equivariant (caduceus-ps), trained as masked LMs", "mamba", "caduceus-ph", "caduceus-ps")
                .byDefault("mamba");
        private final TrainCommands.Optimizer optimizer = new TrainCommands.Optimizer(1e-3, 8);

        public List<Opt<?>> options() {
            return Opt.list(FASTA, TrainCommands.OUT, CONFIG, PRESET, ARCH, MODEL, REGIONS, SEQ_LEN, HOLDOUT, EVAL_WINDOWS,
                    DnaClassifierCommands.TrainClassifier.RC_AUGMENT, TrainCommands.SeqLenWarmup.OPTIONS, TrainCommands.CHECKPOINT_EVERY, TrainCommands.KEEP,
                    TrainCommands.RESUME, optimizer.options(), CommonOptions.BACKEND);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            TrainCommands.SeqLenWarmup.start(cl); // both or neither, before any input is read
            int sources = (CONFIG.given(cl) ? 1 : 0) + (PRESET.given(cl) ? 1 : 0) + (MODEL.given(cl) ? 1 : 0);
            if (sources > 1) throw new UsageException("give at most one of --config, --preset and --model");
            TrainCommands.OptimizerOptions opt = optimizer.parse(cl);
            int seqLen = SEQ_LEN.get(cl);
            double holdout = HOLDOUT.get(cl);
            int evalWindows = EVAL_WINDOWS.get(cl);
            TrainCommands.RunDirectory runDir = TrainCommands.RunDirectory.parse(cl);
            int every = runDir.checkpointEvery(), keep = runDir.keep();
            boolean rc = DnaClassifierCommands.TrainClassifier.RC_AUGMENT.get(cl);
            Path fasta = FASTA.get(cl);
            runDir.refuseExistingRunUnlessResuming();
            Path outDir = runDir.out();
            boolean resume = runDir.resume();

            MambaCheckpoint start;
            String origin;
            if (MODEL.given(cl)) {
                Path dir = MODEL.get(cl);
                if (ARCH.given(cl)) throw new UsageException("--arch chooses the family of a fresh model; --model continues " + dir + " as it is");
                DnaVocabulary.check(dir); // a model trained on other ids must not silently continue on these
                start = MambaCheckpoint.load(dir);
                origin = "model " + dir;
            } else {
                String preset = PRESET.get(cl);
                MambaConfig config = CONFIG.given(cl) ? MambaConfig.read(CONFIG.get(cl)) : CommonOptions.preset(preset);
                if (ARCH.given(cl) && !ARCH.get(cl).equals("mamba")) {
                    if (CONFIG.given(cl) && MambaConfig.CADUCEUS.equals(config.modelType()))
                        throw new UsageException("--arch builds a Caduceus from a Mamba config's shape; " + CONFIG.get(cl)
                                + " is already a Caduceus config: leave --arch out");
                    config = caduceus(config, ARCH.get(cl).equals("caduceus-ps"));
                }
                start = Initializer.reference(config, opt.seed());
                origin = (CONFIG.given(cl) ? "config " + CONFIG.get(cl) : "preset " + preset)
                        + (MambaConfig.CADUCEUS.equals(config.modelType()) ? " as " + ARCH.get(cl) : "");
            }
            CommonOptions.checkShape(start.config(), "--batch", opt.batch(), "--seq-len", seqLen, true); // held-out evaluation: all logits
            if (MambaConfig.CADUCEUS.equals(start.config().modelType()))
                return pretrainMasked(cl, out, err, start, origin, opt, runDir);
            if (start.config().vocabSize() < DnaVocabulary.SIZE)
                throw new UsageException(origin + " has a vocabulary of " + start.config().vocabSize() + " ids; the DNA vocabulary needs "
                        + DnaVocabulary.SIZE);

            List<DnaSequence> contigs;
            try (FastaReference ref = FastaReference.open(fasta)) {
                contigs = ref.readAll();
            }
            List<BedIntervals.Interval> regions = null;
            if (REGIONS.given(cl)) {
                java.util.Map<String, Long> lengths = new java.util.HashMap<>();
                for (DnaSequence s : contigs) lengths.put(s.name(), (long) s.length());
                regions = BedIntervals.read(REGIONS.get(cl), lengths, fasta);
            }
            BaseCounts counts = contigs.stream().map(DnaSequence::counts).reduce(BaseCounts.ZERO, BaseCounts::plus);
            HeldOutSplit split = HeldOutSplit.tails(contigs, holdout, regions);
            org.ssmtk.core.train.BatchSource windows;
            try {
                windows = WindowSampler.of(split.train(), seqLen, opt.batch(), opt.seed(), rc);
            } catch (IllegalArgumentException e) {
                throw new UsageException(fasta + ": " + e.getMessage() + "; lower --seq-len or --holdout");
            }
            err.printf(Locale.ROOT, "ssmtk dna pretrain: %s: %d contigs, %,d bases (%,d A/C/G/T, %,d N, %,d IUPAC codes read as N, %,d soft-masked)%n",
                    fasta, contigs.size(), counts.total(), counts.acgt(), counts.n(), counts.iupac(), counts.softMasked());
            err.printf(Locale.ROOT, "ssmtk dna pretrain: %,d bases for training, %,d held out; %s; %d steps x %d x %d x %d bases%n",
                    HeldOutSplit.bases(split.train()), HeldOutSplit.bases(split.heldOut()), origin, opt.steps(), opt.accumulate(), opt.batch(), seqLen);
            ObjectNode run = opt.run().put("seq_len", seqLen).put("fasta", fasta.toAbsolutePath().normalize().toString())
                    .put("holdout", holdout).put("rc_augment", rc)
                    .put("regions", REGIONS.given(cl) ? REGIONS.get(cl).toAbsolutePath().normalize().toString() : "").put("vocabulary", DnaVocabulary.TYPE + " v" + DnaVocabulary.VERSION)
                    .put("start", origin);
            windows = TrainCommands.SeqLenWarmup.apply(cl, windows, (len, rows) -> WindowSampler.of(split.train(), len, rows, opt.seed(), rc),
                    seqLen, opt.batch(), run, err, "dna pretrain", "bases");
            try (org.ssmtk.core.device.TrainingDevices devices = CommonOptions.trainingDevices(cl, err, opt.gpus());
                 TrainingProgress progress = new TrainingProgress(err, "dna pretrain", opt.logEvery())) {
                org.ssmtk.core.train.Replicas replicas = devices.load(start, opt::prepare);
                MambaModel model = replicas.lead();
                Trainer.Result r = Trainer.train(replicas, windows, Objective.languageModel(), opt.trainer(outDir, every, keep, resume, run), progress);
                progress.close();
                Path modelDir = outDir.resolve(Trainer.MODEL);
                DnaVocabulary.write(modelDir);
                BitsPerBase.Result eval = split.heldOut().isEmpty() ? null
                        : BitsPerBase.evaluate(model, split.heldOut(), seqLen, opt.batch(), evalWindows);
                // the same windows and targets, scored by order-k Markov chains fitted on the training part
                List<org.ssmtk.genomics.baseline.MarkovFloor.Result> floors = eval == null ? List.of()
                        : org.ssmtk.genomics.baseline.MarkovFloor.evaluate(split.train(), split.heldOut(), seqLen, evalWindows, MARKOV_ORDERS);
                writeEval(outDir, fasta, holdout, r.lastStep(), eval, floors);
                Path png = TrainCommands.plotLoss(outDir, "ssmtk dna pretrain: " + outDir.getFileName(), err);
                String held = eval == null ? "no held-out bases (--holdout 0)"
                        : String.format(Locale.ROOT, "held-out %.4f bits/base (%,d bases, %d windows; order-%d Markov floor %.4f)", eval.bitsPerBase(),
                        eval.bases(), eval.windows(), floors.getLast().order(), floors.getLast().bitsPerBase());
                out.printf(Locale.ROOT, "steps %d..%d  final loss %.4f  %s  model %s  curve %s%n", r.firstStep(), r.lastStep(), r.finalLoss(),
                        held, modelDir, png);
            }
            return 0;
        }
    }

    /**
     * Commands that read ssmtk's DNA ids (or stream through a recurrent state) refuse a Caduceus
     * checkpoint in one line rather than feed it ids it does not know.
     */
    static void refuseCaduceus(Path dir, String command) throws java.io.IOException, UsageException {
        Path config = dir.resolve(MambaCheckpoint.CONFIG);
        if (Files.isRegularFile(config) && MambaConfig.CADUCEUS.equals(MambaConfig.read(config).modelType()))
            throw new UsageException(dir + ": a Caduceus model; dna " + command + " does not take Caduceus models yet"
                    + " (dna pretrain, train-classifier, classify, classify-reads, embed and score-variants do)");
    }

    /**
     * A fresh Caduceus of a Mamba config's shape (d_model, n_layer, d_state, d_conv, expand, dt_rank)
     * over Caduceus' character vocabulary: bidirectional, add, tied in/out projections, fused
     * add+norm (as the released checkpoints), RC parameter sharing for caduceus-ps.
     */
    static MambaConfig caduceus(MambaConfig shape, boolean rcps) {
        CaduceusVocabulary v = CaduceusVocabulary.standard();
        int padded = (v.size() + 7) / 8 * 8;
        MambaConfig c = CaduceusSettings.config(v.size(), shape.hiddenSize(), shape.stateSize(), shape.numHiddenLayers(), 8,
                new CaduceusSettings(true, CaduceusSettings.ADD, true, rcps, true, v.complementMap(padded)));
        return new MambaConfig(c.vocabSize(), c.hiddenSize(), c.stateSize(), c.numHiddenLayers(), shape.expand(), shape.convKernel(),
                shape.timeStepRank(), shape.expand() * shape.hiddenSize(), false, true, c.layerNormEpsilon(), true,
                c.padVocabSizeMultiple(), c.residualInFp32(), c.initializerRange(), c.timeStepScale(), c.timeStepMin(),
                c.timeStepMax(), c.timeStepFloor(), c.timeStepInitScheme(), c.rescalePrenormResidual(), CaduceusVocabulary.PAD,
                c.bosTokenId(), c.eosTokenId(), true, 0, c.pooling(), c.modelType(), null, c.caduceus());
    }

    /** dna pretrain for a Caduceus: the masked-LM objective, bits per masked base on the held-out tails. */
    private static int pretrainMasked(CommandLine cl, PrintStream out, PrintStream err, MambaCheckpoint start, String origin,
                                      TrainCommands.OptimizerOptions opt, TrainCommands.RunDirectory runDir) throws Exception {
        if (TrainCommands.SeqLenWarmup.START.given(cl) || Pretrain.REGIONS.given(cl))
            throw new UsageException("--seq-len-warmup and --regions are for next-base models; a Caduceus trains on whole windows");
        CaduceusVocabulary vocab = Pretrain.MODEL.given(cl) ? CaduceusVocabulary.read(Pretrain.MODEL.get(cl), start.config())
                : CaduceusVocabulary.standard();
        Path fasta = Pretrain.FASTA.get(cl);
        int seqLen = Pretrain.SEQ_LEN.get(cl);
        double holdout = Pretrain.HOLDOUT.get(cl);
        boolean rc = DnaClassifierCommands.TrainClassifier.RC_AUGMENT.get(cl);
        List<DnaSequence> contigs;
        try (FastaReference ref = FastaReference.open(fasta)) {
            contigs = ref.readAll();
        }
        HeldOutSplit split = HeldOutSplit.tails(contigs, holdout, null);
        org.ssmtk.core.train.BatchSource windows;
        try {
            windows = new MaskedWindows(WindowSampler.of(split.train(), seqLen, opt.batch(), opt.seed(), rc), vocab, opt.seed());
        } catch (IllegalArgumentException e) {
            throw new UsageException(fasta + ": " + e.getMessage() + "; lower --seq-len or --holdout");
        }
        Path outDir = runDir.out();
        err.printf(Locale.ROOT, "ssmtk dna pretrain: %s: %d contigs; %,d bases for training, %,d held out; %s; masked LM (%.0f%% of positions;"
                        + " 80/10/10 mask/random/keep); %d steps x %d x %d x %d bases%n", fasta, contigs.size(), HeldOutSplit.bases(split.train()),
                HeldOutSplit.bases(split.heldOut()), origin, MaskedWindows.MASK_FRACTION * 100, opt.steps(), opt.accumulate(), opt.batch(), seqLen);
        ObjectNode run = opt.run().put("seq_len", seqLen).put("fasta", fasta.toAbsolutePath().normalize().toString())
                .put("holdout", holdout).put("rc_augment", rc).put("objective", "masked-lm").put("start", origin);
        try (org.ssmtk.core.device.TrainingDevices devices = CommonOptions.trainingDevices(cl, err, opt.gpus());
             TrainingProgress progress = new TrainingProgress(err, "dna pretrain", opt.logEvery())) {
            org.ssmtk.core.train.Replicas replicas = devices.load(start, opt::prepare);
            MambaModel model = replicas.lead();
            Trainer.Result r = Trainer.train(replicas, windows, Objective.languageModel(),
                    opt.trainer(outDir, runDir.checkpointEvery(), runDir.keep(), runDir.resume(), run), progress);
            progress.close();
            Path modelDir = outDir.resolve(Trainer.MODEL);
            vocab.write(modelDir, seqLen);
            BitsPerBase.Result eval = split.heldOut().isEmpty() ? null
                    : MaskedBitsPerBase.evaluate(model, vocab, split.heldOut(), seqLen, Pretrain.EVAL_WINDOWS.get(cl), opt.seed());
            ObjectNode n = new ObjectMapper().createObjectNode();
            n.put("fasta", fasta.toString()).put("holdout", holdout).put("step", r.lastStep())
                    .put("scored", "masked A/C/G/T positions (15%, fixed seed) in the last holdout fraction of every contig");
            if (eval != null) n.put("masked_bits_per_base", eval.bitsPerBase()).put("bases", eval.bases()).put("windows", eval.windows());
            byte[] json = new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(n);
            org.ssmtk.core.io.AtomicFiles.write(outDir.resolve(EVAL), o -> o.write(json));
            Path png = TrainCommands.plotLoss(outDir, "ssmtk dna pretrain: " + outDir.getFileName(), err);
            String held = eval == null ? "no held-out bases (--holdout 0)"
                    : String.format(Locale.ROOT, "held-out %.4f bits per masked base (%,d bases, %d windows)", eval.bitsPerBase(), eval.bases(), eval.windows());
            out.printf(Locale.ROOT, "steps %d..%d  final loss %.4f  %s  model %s  curve %s%n", r.firstStep(), r.lastStep(), r.finalLoss(),
                    held, modelDir, png);
        }
        return 0;
    }

    /** Orders of the Markov floors in eval.json (the last one is printed). */
    static final int[] MARKOV_ORDERS = {2, 4, 6};

    private static void writeEval(Path outDir, Path fasta, double holdout, long step, BitsPerBase.Result eval,
                                  List<org.ssmtk.genomics.baseline.MarkovFloor.Result> floors) throws java.io.IOException {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("fasta", fasta.toString()).put("holdout", holdout).put("step", step)
                .put("scored", "A/C/G/T targets in the last holdout fraction of every contig");
        if (eval != null) n.put("bits_per_base", eval.bitsPerBase()).put("perplexity", eval.perplexity()).put("bases", eval.bases())
                .put("windows", eval.windows());
        var markov = n.putArray("markov_floors");
        for (var f : floors) markov.addObject().put("order", f.order()).put("bits_per_base", f.bitsPerBase()).put("bases", f.bases());
        AtomicFiles.write(outDir.resolve(EVAL), o -> new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(o, n));
    }
}
