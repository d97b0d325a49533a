package org.ssmtk.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.cli.CommandLine;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.classify.ClassLabels;
import org.ssmtk.core.classify.ClassifierTraining;
import org.ssmtk.core.classify.SequenceClassifier;
import org.ssmtk.core.train.BatchSource;
import org.ssmtk.genomics.classify.DnaClassifierData;
import org.ssmtk.core.eval.ClassificationMetrics;
import org.ssmtk.genomics.io.FastaReference;
import org.ssmtk.genomics.sample.HeldOutSplit;
import org.ssmtk.genomics.sample.Region;
import org.ssmtk.genomics.tokenize.DnaTokens;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.io.IOException;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;


/** {@code ssmtk dna train-classifier} and {@code ssmtk dna classify}: sequence classification of DNA. */
final class DnaClassifierCommands {
    private DnaClassifierCommands() {}

    static final class TrainClassifier implements Command {
        public String name() { return "train-classifier"; }

        public String summary() { return "train a DNA sequence classifier (from scratch or a pretrained DNA model) on one FASTA per class"; }

        public String footer() {
            return DnaLabeledInputs.HELP
                    + "At least 2 classes; label order = --class order, else order of first appearance.\n"
                    + "Training windows of --seq-len bases are drawn at random as a function of (seed, step): each row's\n"
                    + "class uniformly (balanced; --proportional: in proportion to each class's bases), then a window of\n"
                    + "that class. The last --holdout fraction of every contig (record, interval) of every class is held out; at the end\n"
                    + "non-overlapping windows tiling those tails are classified and OUT/" + DnaCommands.EVAL + " gets accuracy,\n"
                    + "per-class precision/recall, the confusion matrix and, for 2 classes, ROC-AUC of the second class.\n"
                    + "The model starts fresh from --preset (default " + PRESET.defaultText() + ") or --config with a classifier head added, or from\n"
                    + "--model DIR (a pretrained DNA model, e.g. from dna pretrain): its weights plus a fresh head.\n"
                    + "--arch caduceus-ph|caduceus-ps makes the fresh model a Caduceus of that shape; --model may be a Caduceus\n"
                    + "(dna pretrain --arch, or a released checkpoint). A Caduceus reads bases with its own tokenizer's ids,\n"
                    + "and a Caduceus-PS head pools both strands (mean: every position of both; last: each strand's own last\n"
                    + "base), so it classifies a sequence and its reverse complement alike.\n"
                    + "Writes OUT/metrics.jsonl, OUT/loss.png, OUT/checkpoints/ and OUT/model (HuggingFace layout plus\n"
                    + DnaVocabulary.FILE + ", or a Caduceus' " + org.ssmtk.genomics.tokenize.CaduceusVocabulary.FILE + ", and "
                    + ClassLabels.FILE + ", the class names).\n\n"
                    + "example: ssmtk dna train-classifier --class human=h.fa --class worm=w.fa --out run1 --steps 500 --seq-len 1024";
        }

        static final Opt<Path> CONFIG = Opt.input("config", "config.json", "start from a fresh model with this config").existingFile();
        static final Opt<String> PRESET = Opt.string("preset", "NAME", "start from a fresh preset model: dna, tiny, 130m").byDefault("dna");
        static final Opt<Path> MODEL = Opt.input("model", "DIR", "fine-tune this DNA model's weights with a fresh classifier head").existingDir();
        static final Opt<String> ARCH = Opt.choice("arch", "model family of a fresh model: mamba, or Caduceus (caduceus-ph: bidirectional;"
                + " caduceus-ps: also reverse-complement equivariant)", "mamba", "caduceus-ph", "caduceus-ps").byDefault("mamba");
        static final Opt<Integer> SEQ_LEN = Opt.positiveInt("seq-len", "L", "bases per window").byDefault(1024);
        static final Opt<Double> HOLDOUT = Opt.number("holdout", "F", "fraction at the end of every contig held out for evaluation")
                .check(v -> v >= 0 && v < 1, "must be in [0, 1)").byDefault(0.1);
        static final Opt<Integer> EVAL_WINDOWS = Opt.positiveInt("eval-windows", "N", "at most this many held-out windows per class are classified")
                .byDefault(256);
        static final Opt<Boolean> RC_AUGMENT = Opt.flag("rc-augment", "read each window from the reverse strand with probability 1/2");
        static final Opt<Boolean> PROPORTIONAL = Opt.flag("proportional", "draw classes in proportion to their bases instead of uniformly");
        private final TrainCommands.Optimizer optimizer = new TrainCommands.Optimizer(1e-3, 8);

        public List<Opt<?>> options() {
            return Opt.list(TrainCommands.OUT, CONFIG, PRESET, ARCH, MODEL, CommonOptions.POOLING, SEQ_LEN, HOLDOUT, EVAL_WINDOWS, RC_AUGMENT, PROPORTIONAL,
                    TrainCommands.SeqLenWarmup.OPTIONS,
                    DnaLabeledInputs.OPTIONS, TrainCommands.CHECKPOINT_EVERY, TrainCommands.KEEP, TrainCommands.RESUME, optimizer.options(),
                    CommonOptions.BACKEND);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            int sources = (CONFIG.given(cl) ? 1 : 0) + (PRESET.given(cl) ? 1 : 0) + (MODEL.given(cl) ? 1 : 0);
            if (sources > 1) throw new UsageException("give at most one of --config, --preset and --model");
            TrainCommands.OptimizerOptions opt = optimizer.parse(cl);
            int seqLen = SEQ_LEN.get(cl);
            double holdout = HOLDOUT.get(cl);
            int evalWindows = EVAL_WINDOWS.get(cl);
            TrainCommands.SeqLenWarmup.start(cl); // both or neither, before any input is read
            TrainCommands.RunDirectory runDir = TrainCommands.RunDirectory.parse(cl);
            String pooling = CommonOptions.POOLING.get(cl);
            boolean rc = RC_AUGMENT.get(cl), balanced = !PROPORTIONAL.get(cl);
            runDir.refuseExistingRunUnlessResuming();
            // Every input is read before anything is written, so a bad one leaves no partial run.
            DnaLabeledInputs inputs = DnaLabeledInputs.read(cl);
            List<String> names = inputs.names();

            MambaCheckpoint pretrained = null;
            MambaConfig config = null;
            String origin;
            DnaTokens tokens;
            if (MODEL.given(cl)) {
                Path dir = MODEL.get(cl);
                if (ARCH.given(cl)) throw new UsageException("--arch chooses the family of a fresh model; --model continues " + dir + " as it is");
                pretrained = MambaCheckpoint.load(dir);
                // a model trained on other ids must not silently continue on these: its vocabulary file is checked
                tokens = DnaTokens.of(dir, pretrained.config());
                origin = "model " + dir + " + a fresh " + names.size() + "-class head";
            } else {
                String preset = PRESET.get(cl);
                config = CONFIG.given(cl) ? MambaConfig.read(CONFIG.get(cl)) : CommonOptions.preset(preset);
                origin = CONFIG.given(cl) ? "config " + CONFIG.get(cl) : "preset " + preset;
                if (ARCH.given(cl) && !ARCH.get(cl).equals("mamba")) {
                    if (MambaConfig.CADUCEUS.equals(config.modelType()))
                        throw new UsageException("--arch builds a Caduceus from a Mamba config's shape; " + CONFIG.get(cl)
                                + " is already a Caduceus config: leave --arch out");
                    config = DnaCommands.caduceus(config, ARCH.get(cl).equals("caduceus-ps"));
                    origin += " as " + ARCH.get(cl);
                }
                tokens = DnaTokens.fresh(config);
            }
            MambaCheckpoint start = ClassifierTraining.start(pretrained, config, names.size(), pooling, opt.seed());
            CommonOptions.checkShape(start.config(), "--batch", opt.batch(), "--seq-len", seqLen, false);
            if (!tokens.isCaduceus() && start.config().vocabSize() < DnaVocabulary.SIZE)
                throw new UsageException(origin + " has a vocabulary of " + start.config().vocabSize() + " ids; the DNA vocabulary needs "
                        + DnaVocabulary.SIZE);

            List<List<Region>> train = new ArrayList<>(), held = new ArrayList<>();
            ObjectNode run = opt.run().put("seq_len", seqLen).put("holdout", holdout).put("rc_augment", rc).put("balanced", balanced)
                    .put("pooling", pooling).put("vocabulary", tokens.isCaduceus() ? "caduceus characters"
                            : DnaVocabulary.TYPE + " v" + DnaVocabulary.VERSION).put("start", origin);
            splitAndDescribe(inputs, holdout, run, train, held, err, "dna train-classifier");
            DnaClassifierData data = new DnaClassifierData(names, train, held, rc, balanced, tokens);
            BatchSource windows = ClassifierCommands.trainingWindows(data, seqLen, opt.batch(), opt.seed());
            err.printf(Locale.ROOT, "ssmtk dna train-classifier: %d classes (%s), %s; %s; %d steps x %d x %d x %d bases%n", names.size(),
                    String.join(", ", names), balanced ? "balanced" : "proportional", origin, opt.steps(), opt.accumulate(), opt.batch(), seqLen);
            windows = TrainCommands.SeqLenWarmup.apply(cl, windows, (len, rows) -> data.trainingWindows(len, rows, opt.seed()), seqLen,
                    opt.batch(), run, err, "dna train-classifier", "bases");
            return ClassifierCommands.train(new ClassifierCommands.Run("dna train-classifier", start, data, windows, opt, runDir, run, seqLen,
                    evalWindows, evalHeader(inputs, holdout)), cl, out, err);
        }
    }

    /** NAME=FASTA pairs in option order; the files must exist. */
    static Map<String, Path> classes(List<String> values) throws UsageException {
        return CommonOptions.labeledPaths(values, "FASTA", Files::isRegularFile, "no such file");
    }

    /**
     * Cuts every class's regions into training parts and held-out tails, records the inputs in the
     * run's JSON ("classes": name to FASTA for --class, as runs always had; else "inputs" and
     * "class_names") and reports each class on stderr.
     */
    static void splitAndDescribe(DnaLabeledInputs inputs, double holdout, ObjectNode run, List<List<Region>> train, List<List<Region>> held,
                                 PrintStream err, String command) {
        if (inputs.form().equals(DnaLabeledInputs.BY_CLASS)) {
            ObjectNode c = run.putObject("classes");
            inputs.sources().forEach(c::put);
        } else {
            ObjectNode i = run.putObject("inputs");
            inputs.sources().forEach(i::put);
            var a = run.putArray("class_names");
            inputs.names().forEach(a::add);
        }
        for (int c = 0; c < inputs.names().size(); c++) {
            List<Region> regions = inputs.regions().get(c);
            HeldOutSplit split = HeldOutSplit.regionTails(regions, holdout);
            train.add(split.train());
            held.add(split.heldOut());
            err.printf(Locale.ROOT, "ssmtk %s: class %s: %s: %d regions, %,d bases for training, %,d held out%n", command, inputs.names().get(c),
                    inputs.sources().getOrDefault(inputs.names().get(c), inputs.form()), regions.size(), HeldOutSplit.bases(split.train()),
                    HeldOutSplit.bases(split.heldOut()));
        }
    }

    /** eval.json's first keys: the inputs ("classes" for --class, else "inputs") and the held-out fraction. */
    static ObjectNode evalHeader(DnaLabeledInputs inputs, double holdout) {
        ObjectNode n = new ObjectMapper().createObjectNode();
        ObjectNode c = n.putObject(inputs.form().equals(DnaLabeledInputs.BY_CLASS) ? "classes" : "inputs");
        inputs.sources().forEach(c::put);
        return n.put("holdout", holdout);
    }

    static final class Classify implements Command {
        public String name() { return "classify"; }

        public String summary() { return "classify the records of a FASTA with a trained DNA classifier, to a TSV of class probabilities"; }

        public String footer() {
            return "A record no longer than --seq-len (default: " + SEQ_LEN.defaultText() + ", from " + ClassLabels.FILE + ")\n"
                    + "is classified whole and its row's id is the record name. A longer record is cut into consecutive\n"
                    + "windows of --seq-len bases (the last one shorter) and each gets a row with id NAME:START-END\n"
                    + "(1-based, inclusive, as samtools writes regions). Columns: id, label (the most probable class),\n"
                    + "p_<class> for every class. --rc-average averages forward and reverse-complement probabilities.\n"
                    + "Instead of --fasta, --reference FASTA --labeled-bed BED classifies the BED's intervals (ids\n"
                    + "CONTIG:START-END, 1-based, per window). With true labels (--fasta F --labels TSV, or --labeled-bed's\n"
                    + "label column) --metrics JSON gets accuracy, macro-F1, per-class precision/recall/F1, the confusion\n"
                    + "matrix and, for 2 classes, ROC-AUC (a window's truth is its record's or interval's label; every\n"
                    + "label must be one of the model's classes).\n"
                    + "The TSV appears only when complete (temporary file, then rename).\n"
                    + "Scattered runs (workflow export --scatter): --shard CONTIG:START-END (0-based half-open) writes only the rows\n"
                    + "of windows that start in that range of that record (or of intervals on that contig); every window is\n"
                    + "classified on its own, so the shards' rows, concatenated in order under one header, are the unsplit TSV.\n\n"
                    + "example: ssmtk dna classify --model run1/model --fasta reads.fa --output calls.tsv --rc-average";
        }

        static final Opt<Path> MODEL = Opt.input("model", "DIR", "a classifier from dna train-classifier").existingDir().required();
        static final Opt<Path> FASTA = Opt.input("fasta", "FILE", "sequences to classify (.fa, .fa.gz)");
        static final Opt<Path> LABELS = Opt.input("labels", "TSV_FILE", "true labels of --fasta's records (record id<TAB>label), for --metrics")
                .existingFile();
        static final Opt<Path> REFERENCE = Opt.input("reference", "FASTA", "with --labeled-bed: the reference its intervals lie on").existingFile();
        static final Opt<Path> LABELED_BED = Opt.input("labeled-bed", "BED", "classify these intervals of --reference; their label column is the truth")
                .existingFile();
        static final Opt<Path> METRICS = Opt.output("metrics", "JSON",
                "write accuracy, per-class metrics and the confusion matrix here (needs true labels)");
        static final Opt<Path> OUTPUT = Opt.output("output", "TSV", "where the table goes").required();
        static final Opt<String> SHARD = Opt.string("shard", "CONTIG:START-END", "write only the rows of windows starting in this range (a scattered job's part)");
        static final Opt<Integer> SEQ_LEN = Opt.positiveInt("seq-len", "L", "window length for long records").defaultIs("the training length");
        static final Opt<Integer> BATCH = Opt.positiveInt("batch", "N", "windows per forward pass").byDefault(16);
        static final Opt<Boolean> RC_AVERAGE = Opt.flag("rc-average", "average the forward and reverse-complement probabilities");

        public List<Opt<?>> options() {
            return Opt.list(MODEL, FASTA, LABELS, REFERENCE, LABELED_BED, DnaLabeledInputs.LABEL_COLUMN, METRICS, OUTPUT, SEQ_LEN, BATCH, RC_AVERAGE,
                    SHARD, CommonOptions.INFERENCE);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            Path dir = MODEL.get(cl);
            Path output = OUTPUT.get(cl);
            int batch = BATCH.get(cl);
            boolean rc = RC_AVERAGE.get(cl);
            MambaConfig config = MambaConfig.read(dir.resolve(MambaCheckpoint.CONFIG));
            if (!config.hasClassifier())
                throw new UsageException(dir + ": has no classification head (config.json has no ssmtk_classifier); train one with ssmtk dna train-classifier");
            DnaTokens tokens = DnaTokens.of(dir, config);
            ClassLabels labels = ClassLabels.read(dir, config.numLabels());
            int seqLen = SEQ_LEN.get(cl, labels.seqLen() > 0 ? labels.seqLen() : 1024);
            CommonOptions.checkShape(config, "--batch", batch, "--seq-len", seqLen, false);
            MambaCheckpoint checkpoint = MambaCheckpoint.load(dir);
            Path metricsFile = METRICS.get(cl);
            boolean truthKnown = LABELED_BED.given(cl) || LABELS.given(cl);
            if (metricsFile != null && !truthKnown)
                throw new UsageException("--metrics needs true labels: --fasta with --labels TSV, or --reference with --labeled-bed");
            org.ssmtk.genomics.score.ScoreShard shard;
            try {
                shard = SHARD.given(cl) ? org.ssmtk.genomics.score.ScoreShard.parse(SHARD.get(cl)) : null;
            } catch (IllegalArgumentException e) {
                throw new UsageException("--shard: " + e.getMessage());
            }
            if (shard != null && metricsFile != null)
                throw new UsageException("--metrics scores every row; a --shard holds a part of them (score the gathered TSV instead)");
            if (shard != null) { // shards are planned from the FASTA's .fai: one naming another contig is a planning error
                Path fa = FASTA.given(cl) ? FASTA.get(cl) : REFERENCE.get(cl);
                if (fa != null && Files.isRegularFile(fa))
                    try (FastaReference ref = FastaReference.open(fa)) {
                        if (ref.isIndexed() && ref.contigs().stream().noneMatch(c -> c.name().equals(shard.contig())))
                            throw new UsageException("--shard " + shard + ": " + fa + " has no contig '" + shard.contig() + "'");
                    }
            }
            boolean[] shardSeen = {false};
            List<String> names = labels.names();
            // Streamed: one record (or interval) at a time is read, cut and classified, and its rows are
            // written as they come; only each row's probabilities stay (for the metrics), so a genome
            // costs memory for its largest record, not for all of it.
            List<double[]> probabilities = truthKnown ? new ArrayList<>() : null;
            List<Integer> truth = truthKnown ? new ArrayList<>() : null;
            long[] counts = new long[4]; // items, split, rows, bases
            boolean[] intervals = {false};
            long t0 = System.nanoTime();
            try (Backend backend = CommonOptions.backend(cl, err)) {
                MambaModel model = CommonOptions.loadForInference(cl, backend, checkpoint);
                AtomicFiles.write(output, o -> {
                    Writer wr = new java.io.BufferedWriter(new java.io.OutputStreamWriter(o, StandardCharsets.UTF_8));
                    StringBuilder header = new StringBuilder("id\tlabel");
                    for (String n : names) header.append("\tp_").append(n);
                    wr.write(header.append('\n').toString());
                    Pending pending = new Pending();
                    try {
                        forEachItem(cl, names, s -> {
                            if (shard != null && !shard.contig().equals(s.name())) return; // another shard's record
                            shardSeen[0] = true;
                            byte[] enc = DnaVocabulary.encode(s.bases());
                            if (enc.length == 0) throw new UsageException(s.source() + ": " + s.name() + " has no bases");
                            counts[0]++;
                            intervals[0] |= s.interval();
                            if (enc.length <= seqLen && !s.interval()) {
                                if (shard == null || shard.owns(s.name(), s.start()))
                                    pending.add(s.name(), tokens.tokens(enc, 0, enc.length), s.truth());
                            } else {
                                if (enc.length > seqLen) counts[1]++;
                                for (int from = 0; from < enc.length; from += seqLen) {
                                    int to = Math.min(enc.length, from + seqLen);
                                    if (shard != null && !shard.owns(s.name(), s.start() + from)) continue;
                                    pending.add(s.name() + ":" + (s.start() + from + 1) + "-" + (s.start() + to), tokens.tokens(enc, from, to), s.truth());
                                    if (pending.size() >= 64 * batch) pending.flush(model, batch, rc ? tokens.reverseComplement() : null, names, wr, probabilities, truth, counts);
                                }
                            }
                            if (pending.size() >= 64 * batch) pending.flush(model, batch, rc ? tokens.reverseComplement() : null, names, wr, probabilities, truth, counts);
                        });
                        pending.flush(model, batch, rc ? tokens.reverseComplement() : null, names, wr, probabilities, truth, counts);
                    } catch (IOException e) {
                        throw e;
                    } catch (Exception e) {
                        throw new WrappedFailure(e);
                    }
                    wr.flush();
                });
            } catch (WrappedFailure e) {
                throw e.cause;
            }
            if (shard != null && !shardSeen[0])
                err.println("ssmtk dna classify: note: --shard " + shard + ": no record or interval on '" + shard.contig() + "'; the TSV holds its header only");
            double seconds = (System.nanoTime() - t0) / 1e9;
            String scored = "";
            if (truthKnown) {
                double[][] p = probabilities.toArray(double[][]::new);
                ClassificationMetrics m = ClassificationMetrics.of(names, truth.stream().mapToInt(Integer::intValue).toArray(), p);
                scored = String.format(Locale.ROOT, "; accuracy %.4f, macro-F1 %.4f%s", m.accuracy(), m.macroF1(),
                        Double.isNaN(m.rocAuc()) ? "" : String.format(Locale.ROOT, ", ROC-AUC %.4f", m.rocAuc()));
                if (metricsFile != null) {
                    ObjectNode n = new ObjectMapper().createObjectNode();
                    n.put("model", dir.toAbsolutePath().normalize().toString()).put("seq_len", seqLen).put("rc_average", rc)
                            .put("scored", "every row of " + output + ", its truth the label of its record or interval");
                    n.setAll(m.toJson());
                    AtomicFiles.write(metricsFile, o -> new ObjectMapper().writerWithDefaultPrettyPrinter().writeValue(o, n));
                }
            }
            out.printf(Locale.ROOT, "%d %s (%d cut into %d-base windows), %d rows, %,d bases in %.2f s (%,.0f bases/s)%s%s -> %s%n", counts[0],
                    intervals[0] ? "intervals" : "records", counts[1], seqLen, counts[2], counts[3], seconds,
                    counts[3] / Math.max(seconds, 1e-9), rc ? ", forward+RC averaged" : "", scored, output);
            return 0;
        }

        /** A sequence to classify: a FASTA record or a BED interval, with its true class index (-1: unknown). */
        record Item(String name, long start, byte[] bases, int truth, boolean interval, Path source) {}

        /** Rows waiting for a forward pass, in file order; flushed in groups of one length at a time. */
        private static final class Pending {
            final List<String> ids = new ArrayList<>();
            final List<int[]> windows = new ArrayList<>();
            final List<Integer> truth = new ArrayList<>();

            void add(String id, int[] window, int t) {
                ids.add(id);
                windows.add(window);
                truth.add(t);
            }

            int size() {
                return ids.size();
            }

            void flush(MambaModel model, int batch, SequenceClassifier.Reading twin, List<String> names, Writer wr, List<double[]> allP, List<Integer> allTruth,
                       long[] counts) throws IOException {
                if (ids.isEmpty()) return;
                double[][] p = new double[windows.size()][];
                // one length per forward pass: windows of many lengths are grouped, the rows keep file order
                Map<Integer, List<Integer>> byLength = new LinkedHashMap<>();
                for (int i = 0; i < windows.size(); i++) byLength.computeIfAbsent(windows.get(i).length, k -> new ArrayList<>()).add(i);
                for (List<Integer> group : byLength.values()) {
                    double[][] q = SequenceClassifier.probabilities(model, group.stream().map(windows::get).toList(), batch,
                            twin);
                    for (int i = 0; i < group.size(); i++) p[group.get(i)] = q[i];
                }
                for (int i = 0; i < ids.size(); i++) {
                    StringBuilder line = new StringBuilder(ids.get(i)).append('\t').append(names.get(ClassificationMetrics.argmax(p[i])));
                    for (double v : p[i]) line.append('\t').append(String.format(Locale.ROOT, "%.6g", v));
                    wr.write(line.append('\n').toString());
                    if (allP != null) { // kept only when there is truth to score against
                        allP.add(p[i]);
                        allTruth.add(truth.get(i));
                    }
                    counts[2]++;
                    counts[3] += windows.get(i).length;
                }
                ids.clear();
                windows.clear();
                truth.clear();
            }
        }

        /** Carries a checked failure out of AtomicFiles' writer, whose callback may throw only IOException. */
        private static final class WrappedFailure extends IOException {
            final Exception cause;

            WrappedFailure(Exception cause) {
                super(cause.getMessage(), cause);
                this.cause = cause;
            }
        }

        private interface ItemSink {
            void accept(Item item) throws Exception;
        }

        /** The sequences to classify, one at a time in file order: FASTA records, or BED intervals over a reference. */
        private static void forEachItem(CommandLine cl, List<String> classes, ItemSink sink) throws Exception {
            boolean bed = LABELED_BED.given(cl);
            if (bed == FASTA.given(cl))
                throw new UsageException("give the sequences as either --fasta FILE [--labels TSV] or --reference FASTA --labeled-bed BED");
            if (!bed) {
                if (REFERENCE.given(cl)) throw new UsageException("--reference goes with --labeled-bed, not --fasta");
                Path fasta = FASTA.get(cl);
                Path tsv = LABELS.get(cl);
                Map<String, String> truth = tsv == null ? null : org.ssmtk.genomics.io.RecordLabels.read(tsv);
                java.util.Set<String> seen = new java.util.HashSet<>();
                try (FastaReference ref = FastaReference.open(fasta)) {
                    ref.forEachRecord(s -> {
                        int t = -1;
                        if (truth != null) {
                            String label = truth.get(s.name());
                            if (label == null) throw new org.ssmtk.genomics.io.FastaException(fasta, "record '" + s.name() + "' has no label in " + tsv);
                            t = classIndex(classes, label, tsv);
                            seen.add(s.name());
                        }
                        sink.accept(new Item(s.name(), s.start(), s.bases(), t, false, fasta));
                    });
                }
                // known only once the file is read; the output is not in place yet, so nothing is left behind
                if (truth != null)
                    for (String id : truth.keySet())
                        if (!seen.contains(id)) throw new org.ssmtk.genomics.io.FastaException(tsv, "record id '" + id + "' is not in " + fasta);
                return;
            }
            if (LABELS.given(cl)) throw new UsageException("--labels goes with --fasta; --labeled-bed carries its own labels");
            if (!REFERENCE.given(cl)) throw new UsageException("--labeled-bed needs --reference (the FASTA its intervals lie on)");
            Path reference = REFERENCE.get(cl), bedFile = LABELED_BED.get(cl);
            int column = DnaLabeledInputs.LABEL_COLUMN.get(cl);
            try (FastaReference ref = FastaReference.open(reference)) {
                Map<String, Long> lengths = new LinkedHashMap<>();
                for (FastaReference.Contig c : ref.contigs()) lengths.put(c.name(), c.length());
                for (org.ssmtk.genomics.io.BedIntervals.Labeled l : org.ssmtk.genomics.io.BedIntervals.readLabeled(bedFile, lengths, reference, column)) {
                    var iv = l.interval();
                    sink.accept(new Item(iv.contig(), iv.start(), ref.subsequence(iv.contig(), iv.start(), iv.end()).bases(),
                            classIndex(classes, l.label(), bedFile), true, bedFile));
                }
            }
        }

        private static int classIndex(List<String> classes, String label, Path file) throws org.ssmtk.genomics.io.FastaException {
            int i = classes.indexOf(label);
            if (i < 0)
                throw new org.ssmtk.genomics.io.FastaException(file, "label '" + label + "' is not one of the model's classes (" + String.join(", ", classes) + ")");
            return i;
        }
    }
}
