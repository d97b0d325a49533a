package org.ssmtk.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.cli.CommandLine;
import org.ssmtk.audio.AudioSettings;
import org.ssmtk.audio.io.AudioInput;
import org.ssmtk.audio.io.Conversions;
import org.ssmtk.audio.io.Manifest;
import org.ssmtk.audio.quantize.Quantizer;
import org.ssmtk.audio.sample.HeldOut;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.audio.sample.AudioClassifierData;
import org.ssmtk.core.classify.ClassLabels;
import org.ssmtk.core.classify.ClassifierTraining;
import org.ssmtk.core.classify.SequenceClassifier;
import org.ssmtk.core.train.BatchSource;
import org.ssmtk.core.eval.ClassificationMetrics;

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


/**
 * {@code ssmtk audio train-classifier} and {@code ssmtk audio classify}: clip classification of WAV
 * audio, through core's classifier flow ({@code org.ssmtk.core.classify}) with audio's
 * {@link AudioClassifierData} as the data.
 */
final class AudioClassifierCommands {
    private AudioClassifierCommands() {}

    static final class TrainClassifier implements Command {
        public String name() { return "train-classifier"; }

        public String summary() { return "train a clip classifier (fresh or from an audio model) on one WAV or folder of WAVs per class"; }

        public String footer() {
            return "Each --class NAME=WAV|DIR names a class and its audio (at least 2 classes; label order = option order);\n"
                    + "or --manifest TSV lists clips with labels (path, label [, start, end]; label order = first appearance),\n"
                    + "and --test-manifest TSV the clips to evaluate on, whole (no file tails are held out then).\n"
                    + "Audio is mixed to mono, resampled to --sample-rate and quantized as in train-lm. Training windows of\n"
                    + "--seq-len samples are drawn as a function of (seed, step): each row's class uniformly (balanced),\n"
                    + "then a window of that class. The last --holdout fraction of every file is held out; at the end\n"
                    + "non-overlapping windows tiling those tails are classified and OUT/" + AudioCommands.EVAL + " gets accuracy,\n"
                    + "per-class precision/recall, the confusion matrix and, for 2 classes, ROC-AUC of the second class.\n"
                    + "The model starts fresh (--d-model x --layers, or --config) with a classifier head, or from --model DIR\n"
                    + "(an audio model, e.g. from audio train-lm, at the same rate and quantization) plus a fresh head.\n"
                    + "Writes OUT/metrics.jsonl, OUT/loss.png, OUT/checkpoints/ and OUT/model (with " + AudioSettings.FILE + " and "
                    + ClassLabels.FILE + ").\n\n"
                    + "example: ssmtk audio train-classifier --class dog=dogs/ --class cat=cats/ --out run1 --steps 500 --seq-len 4000";
        }

        static final Opt<String> CLASS = Opt.labeledInput("class", "NAME=WAV|DIR", "a class and its WAV or folder of *.wav; repeat for every class");
        static final Opt<Path> MANIFEST = AudioCommands.manifest("labelled clips (path, label [, start, end]) instead of --class");
        static final Opt<Path> TEST_MANIFEST = Opt.input("test-manifest", "TSV", "labelled clips to evaluate on, whole, instead of the files' tails")
                .existingFile();
        static final Opt<Path> MODEL = Opt.input("model", "DIR", "fine-tune this audio model's weights with a fresh classifier head").existingDir();
        static final Opt<Integer> SEQ_LEN = Opt.positiveInt("seq-len", "L", "samples per window").byDefault(4096);
        static final Opt<Double> HOLDOUT = Opt.number("holdout", "F", "fraction at the end of every file held out for evaluation")
                .check(v -> v >= 0 && v < 1, "must be in [0, 1)").defaultIs("0.2; 0 with --test-manifest");
        static final Opt<Integer> EVAL_WINDOWS = Opt.positiveInt("eval-windows", "N", "at most this many held-out windows per class are classified")
                .byDefault(256);
        private final TrainCommands.Optimizer optimizer = new TrainCommands.Optimizer(1e-3, 8);

        public List<Opt<?>> options() {
            return Opt.list(CLASS, MANIFEST, TEST_MANIFEST, TrainCommands.OUT, AudioCommands.TrainLm.SAMPLE_RATE, AudioCommands.TrainLm.QUANTIZATION,
                    AudioCommands.TrainLm.CONFIG, MODEL, AudioCommands.TrainLm.D_MODEL, AudioCommands.TrainLm.LAYERS, CommonOptions.POOLING, SEQ_LEN,
                    HOLDOUT, EVAL_WINDOWS, TrainCommands.CHECKPOINT_EVERY, TrainCommands.KEEP, TrainCommands.RESUME, optimizer.options(),
                    CommonOptions.BACKEND);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            Opt<Path> config0 = AudioCommands.TrainLm.CONFIG;
            if (config0.given(cl) && MODEL.given(cl)) throw new UsageException("give at most one of --config and --model");
            if (CLASS.given(cl) == MANIFEST.given(cl)) throw new UsageException("give either --class (repeated) or --manifest");
            Map<String, List<ClipRef>> classes = MANIFEST.given(cl) ? classes(Manifest.read(MANIFEST.get(cl))) : classes(CLASS.all(cl));
            Manifest testManifest = TEST_MANIFEST.given(cl) ? Manifest.read(TEST_MANIFEST.get(cl)).requireLabels() : null;
            TrainCommands.OptimizerOptions opt = optimizer.parse(cl);
            int rate = AudioCommands.TrainLm.SAMPLE_RATE.get(cl);
            String quantization = AudioCommands.TrainLm.QUANTIZATION.get(cl);
            AudioSettings settings;
            try {
                settings = new AudioSettings(rate, quantization);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--quantization: " + e.getMessage());
            }
            int seqLen = SEQ_LEN.get(cl);
            double holdout = HOLDOUT.get(cl, testManifest != null ? 0 : 0.2);
            int evalWindows = EVAL_WINDOWS.get(cl);
            TrainCommands.RunDirectory runDir = TrainCommands.RunDirectory.parse(cl);
            String pooling = CommonOptions.POOLING.get(cl);
            runDir.refuseExistingRunUnlessResuming();
            List<String> names = new ArrayList<>(classes.keySet());
            List<int[]> testClips = new ArrayList<>();
            int[] testTruth = null;

            MambaCheckpoint pretrained = null;
            MambaConfig config = null;
            String origin;
            if (MODEL.given(cl)) {
                Path dir = MODEL.get(cl);
                AudioSettings theirs = AudioSettings.read(dir);
                if (theirs != null && !theirs.equals(settings))
                    throw new UsageException("--model " + dir + " was trained at " + theirs.sampleRate() + " Hz, " + theirs.quantization()
                            + "; this run asks for " + rate + " Hz, " + quantization);
                pretrained = MambaCheckpoint.load(dir);
                origin = "model " + dir + " + a fresh " + names.size() + "-class head";
            } else {
                if (config0.given(cl)) {
                    config = MambaConfig.read(config0.get(cl));
                    origin = "config " + config0.get(cl);
                } else {
                    int d = AudioCommands.TrainLm.D_MODEL.get(cl), layers = AudioCommands.TrainLm.LAYERS.get(cl);
                    config = MambaConfig.of(AudioSettings.LEVELS, d, 16, layers);
                    origin = "fresh d_model " + d + " x " + layers + " layers";
                }
            }
            MambaCheckpoint start = ClassifierTraining.start(pretrained, config, names.size(), pooling, opt.seed());
            CommonOptions.checkShape(start.config(), "--batch", opt.batch(), "--seq-len", seqLen, false);
            if (start.config().vocabSize() < AudioSettings.LEVELS)
                throw new UsageException(origin + " has a vocabulary of " + start.config().vocabSize() + " ids; audio needs " + AudioSettings.LEVELS);

            // Every class's audio is read before anything is written, so a bad file leaves no partial run.
            Quantizer q = settings.quantizer();
            List<List<int[]>> train = new ArrayList<>(), held = new ArrayList<>();
            ObjectNode run = opt.run().put("seq_len", seqLen).put("holdout", holdout).put("balanced", true).put("pooling", pooling)
                    .put("sample_rate", rate).put("quantization", quantization).put("start", origin);
            ObjectNode classNode = run.putObject("classes");
            Conversions conv = new Conversions(rate);
            for (var e : classes.entrySet()) {
                List<int[]> codes = new ArrayList<>();
                for (ClipRef f : e.getValue()) codes.add(q.encode(conv.add(f.read(rate)).samples()));
                HeldOut split = HeldOut.split(codes, 0, holdout);
                train.add(split.train());
                held.add(split.heldOut());
                classNode.put(e.getKey(), e.getValue().size() + " files");
                err.printf(Locale.ROOT, "ssmtk audio train-classifier: class %s: %d files, %,d samples for training, %,d held out%n", e.getKey(),
                        e.getValue().size(), split.train().stream().mapToLong(c -> c.length).sum(), split.heldOut().stream().mapToLong(c -> c.length).sum());
            }
            if (testManifest != null) {
                testTruth = new int[testManifest.entries().size()];
                for (int i = 0; i < testTruth.length; i++) {
                    Manifest.Entry e = testManifest.entries().get(i);
                    testTruth[i] = names.indexOf(e.label());
                    if (testTruth[i] < 0) throw new Manifest.ManifestException(e.where(), "label '" + e.label() + "' is not one of the training classes " + names);
                    int[] codes = q.encode(conv.add(AudioInput.read(e, rate)).samples());
                    if (codes.length == 0) throw new Manifest.ManifestException(e.where(), "no samples");
                    testClips.add(codes);
                }
                err.printf(Locale.ROOT, "ssmtk audio train-classifier: %d test clips from %s%n", testClips.size(), testManifest.file());
            }
            conv.report(err, "ssmtk audio train-classifier");
            AudioClassifierData data = new AudioClassifierData(names, train, held, settings, testManifest == null ? null : testClips, testTruth,
                    testManifest == null ? null : "every clip of --test-manifest " + testManifest.file()
                            + " (probabilities averaged over --seq-len windows tiling it)");
            BatchSource windows = ClassifierCommands.trainingWindows(data, seqLen, opt.batch(), opt.seed());
            err.printf(Locale.ROOT, "ssmtk audio train-classifier: %d classes (%s), balanced; %s; %d steps x %d x %d x %d samples%n", names.size(),
                    String.join(", ", names), origin, opt.steps(), opt.accumulate(), opt.batch(), seqLen);
            ObjectNode header = new ObjectMapper().createObjectNode();
            ObjectNode c = header.putObject("classes");
            classes.forEach((k, v) -> c.put(k, v.size() + " files"));
            header.put("sample_rate", rate).put("quantization", quantization).put("holdout", holdout);
            return ClassifierCommands.train(new ClassifierCommands.Run("audio train-classifier", start, data, windows, opt, runDir, run, seqLen,
                    evalWindows, header), cl, out, err);
        }
    }

    /** One clip of a class, read at a given rate when the whole input is known to be well-formed. */
    interface ClipRef {
        AudioInput.Named read(int rate) throws java.io.IOException;
    }

    /** NAME=WAV|DIR pairs in option order, each with its WAV files. */
    static Map<String, List<ClipRef>> classes(List<String> values) throws UsageException {
        Map<String, List<ClipRef>> classes = new LinkedHashMap<>();
        for (var e : CommonOptions.labeledPaths(values, "WAV|DIR", Files::exists, "no such file or folder").entrySet()) {
            try {
                List<ClipRef> refs = new ArrayList<>();
                for (Path f : AudioInput.files(e.getValue())) refs.add(rate -> AudioInput.read(f, rate));
                classes.put(e.getKey(), refs);
            } catch (java.io.IOException ex) {
                throw new UsageException("--class " + e.getKey() + "=" + e.getValue() + ": " + ex.getMessage());
            }
        }
        return classes;
    }

    /** A labelled manifest's clips by label, labels in order of first appearance. */
    static Map<String, List<ClipRef>> classes(Manifest m) throws java.io.IOException {
        m.requireLabels();
        Map<String, List<ClipRef>> classes = new LinkedHashMap<>();
        for (Manifest.Entry e : m.entries()) {
            if (!e.label().matches("[A-Za-z0-9_.+-]+"))
                throw new Manifest.ManifestException(e.where(), "label '" + e.label() + "' may hold only letters, digits and _ . + - (it becomes a TSV column)");
            classes.computeIfAbsent(e.label(), k -> new ArrayList<>()).add(rate -> AudioInput.read(e, rate));
        }
        if (classes.size() < 2) throw new Manifest.ManifestException(m.file().toString(), "a classifier needs at least 2 labels, got " + classes.keySet());
        return classes;
    }

    static final class Classify implements Command {
        public String name() { return "classify"; }

        public String summary() { return "classify WAV files with a trained audio classifier, to a TSV of class probabilities"; }

        public String footer() {
            return "One row per file: path, label (the most probable class), p_<class> for every class. A file no longer\n"
                    + "than --seq-len samples (default: " + SEQ_LEN.defaultText() + ", from " + ClassLabels.FILE + ") is read whole; a longer\n"
                    + "one in windows of exactly --seq-len tiling it (the last ending at its end) and its probabilities are\n"
                    + "the mean of its windows'. The TSV appears only when complete (temporary file, then rename).\n"
                    + "--manifest TSV reads the clips of a manifest instead (segments are named PATH:START-END); with\n"
                    + "--metrics JSON its labels are scored: accuracy, macro-F1, per-class precision/recall, confusion matrix.\n\n"
                    + "example: ssmtk audio classify --model run1/model --input clips/ --output calls.tsv";
        }

        static final Opt<Path> MODEL = Opt.input("model", "DIR", "a classifier from audio train-classifier").existingDir().required();
        static final Opt<Path> MANIFEST = AudioCommands.manifest("clips listed in a manifest instead of --input; labels, when every line has one, are scored");
        static final Opt<Path> METRICS = Opt.output("metrics", "JSON", "with a labelled --manifest: accuracy, macro-F1, confusion matrix here");
        static final Opt<Path> OUTPUT = Opt.output("output", "TSV", "where the table goes").required();
        static final Opt<Integer> SEQ_LEN = Opt.positiveInt("seq-len", "L", "window length for long files").defaultIs("the training length");
        static final Opt<Integer> BATCH = Opt.positiveInt("batch", "N", "windows per forward pass").byDefault(16);

        public List<Opt<?>> options() {
            return Opt.list(MODEL, AudioCommands.INPUT, MANIFEST, METRICS, OUTPUT, SEQ_LEN, BATCH, CommonOptions.INFERENCE);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            Path dir = MODEL.get(cl);
            Path output = OUTPUT.get(cl);
            int batch = BATCH.get(cl);
            MambaConfig config = MambaConfig.read(dir.resolve(MambaCheckpoint.CONFIG));
            if (!config.hasClassifier())
                throw new UsageException(dir + ": has no classification head (config.json has no ssmtk_classifier); train one with ssmtk audio train-classifier");
            AudioSettings settings = AudioSettings.read(dir);
            if (settings == null) throw new UsageException("--model " + dir + " has no " + AudioSettings.FILE + "; it was not trained by ssmtk audio train-classifier");
            ClassLabels labels = ClassLabels.read(dir, config.numLabels());
            int seqLen = SEQ_LEN.get(cl, labels.seqLen() > 0 ? labels.seqLen() : 4096);
            CommonOptions.checkShape(config, "--batch", batch, "--seq-len", seqLen, false);
            AudioCommands.Inputs inputs = AudioCommands.Inputs.parse(cl, MANIFEST);
            Path metricsOut = METRICS.get(cl);
            List<String> names = labels.names();
            Quantizer q = settings.quantizer();
            Conversions conv = new Conversions(settings.sampleRate());
            List<AudioInput.Named> clips = inputs.read(settings.sampleRate(), conv);
            conv.report(err, "ssmtk audio classify");
            int[] truth = null;
            if (metricsOut != null) {
                if (!inputs.manifest()) throw new UsageException("--metrics needs a labelled --manifest");
                Manifest m = Manifest.read(inputs.path()).requireLabels();
                truth = new int[clips.size()];
                for (int i = 0; i < truth.length; i++) {
                    Manifest.Entry e = m.entries().get(i);
                    truth[i] = names.indexOf(e.label());
                    if (truth[i] < 0) throw new Manifest.ManifestException(e.where(), "label '" + e.label() + "' is not one of the model's classes " + names);
                }
            }
            int k = config.numLabels();
            List<int[]> codes = new ArrayList<>();
            int windows = 0;
            for (AudioInput.Named c : clips) {
                int[] x = q.encode(c.samples());
                if (x.length == 0) throw new UsageException(c.id() + ": no samples");
                codes.add(x);
                windows += x.length <= seqLen ? 1 : (x.length + seqLen - 1) / seqLen;
            }
            MambaCheckpoint checkpoint = MambaCheckpoint.load(dir);
            long t0 = System.nanoTime();
            double[][] p;
            try (Backend backend = CommonOptions.backend(cl, err)) {
                p = SequenceClassifier.meanOverWindows(CommonOptions.loadForInference(cl, backend, checkpoint), codes, seqLen, batch, null);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            AtomicFiles.write(output, o -> {
                Writer wr = new java.io.OutputStreamWriter(o, StandardCharsets.UTF_8);
                StringBuilder header = new StringBuilder("path\tlabel");
                for (String n : names) header.append("\tp_").append(n);
                wr.write(header.append('\n').toString());
                for (int i = 0; i < clips.size(); i++) {
                    StringBuilder line = new StringBuilder(clips.get(i).id()).append('\t').append(names.get(ClassificationMetrics.argmax(p[i])));
                    for (double v : p[i]) line.append('\t').append(String.format(Locale.ROOT, "%.6g", v));
                    wr.write(line.append('\n').toString());
                }
                wr.flush();
            });
            out.printf(Locale.ROOT, "%d clips, %d windows of up to %d samples in %.2f s -> %s%n", clips.size(), windows, seqLen, seconds, output);
            if (metricsOut != null) {
                ClassificationMetrics m = ClassificationMetrics.of(names, truth, p);
                ObjectNode n = new ObjectMapper().createObjectNode();
                n.put("manifest", inputs.path().toString()).put("model", dir.toString());
                n.setAll(m.toJson());
                AtomicFiles.write(metricsOut, o -> o.write(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(n)));
                out.printf(Locale.ROOT, "accuracy %.4f  macro-F1 %.4f (%d clips) -> %s%n", m.accuracy(), m.macroF1(), m.total(), metricsOut);
            }
            return 0;
        }
    }
}
