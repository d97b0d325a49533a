package org.ssmtk.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.cli.CommandLine;
import org.ssmtk.audio.baseline.Standardizer;
import org.ssmtk.audio.features.Mfcc;
import org.ssmtk.audio.io.AudioInput;
import org.ssmtk.audio.io.Conversions;
import org.ssmtk.audio.io.Manifest;
import org.ssmtk.core.eval.ClassificationMetrics;
import org.ssmtk.core.eval.SoftmaxRegression;
import org.ssmtk.core.io.AtomicFiles;

import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;


/** {@code ssmtk audio mfcc-baseline}: the classical reference a waveform classifier is compared with. */
final class AudioBaselineCommands {
    private AudioBaselineCommands() {}

    static final class MfccBaseline implements Command {
        public String name() { return "mfcc-baseline"; }

        public String summary() { return "clip classification baseline: pooled MFCCs (TarsosDSP) + softmax regression, same metrics as train-classifier"; }

        public String footer() {
            return "Every clip (resampled to --sample-rate) becomes the mean and standard deviation over frames of\n"
                    + "20 MFCCs (TarsosDSP: 32 ms Hamming frames, 16 ms hop, 30 mel filters from 133 Hz). A multinomial\n"
                    + "logistic regression (standardized features, L2 --l2, --iterations of full-batch Adam at --lr;\n"
                    + "the same regression as dna kmer-baseline)\n"
                    + "is fitted on --manifest and scored on --test-manifest. Writes OUT/" + AudioCommands.EVAL
                    + " (accuracy, macro-F1, per-class\nprecision/recall, confusion matrix: train-classifier's format) and OUT/predictions.tsv.\n\n"
                    + "example: ssmtk audio mfcc-baseline --manifest digits/train.tsv --test-manifest digits/test.tsv --out mfcc --sample-rate 8000";
        }

        static final Opt<Path> MANIFEST = Opt.input("manifest", "TSV", "labelled training clips (path, label [, start, end])").existingFile()
                .required();
        static final Opt<Path> TEST_MANIFEST = Opt.input("test-manifest", "TSV", "labelled clips to score").existingFile().required();
        static final Opt<Path> OUT = Opt.output("out", "DIR", "output folder (must not exist or be empty)").required();
        static final Opt<Integer> SAMPLE_RATE = Opt.positiveInt("sample-rate", "HZ", "clips are resampled to this rate first").byDefault(16000);
        static final Opt<Double> L2 = Opt.number("l2", "LAMBDA", "L2 penalty on the weights").check(v -> v >= 0, "must be >= 0").byDefault(1e-3);
        static final Opt<Integer> ITERATIONS = Opt.positiveInt("iterations", "N", "full-batch Adam iterations").byDefault(1000);
        static final Opt<Double> LR = Opt.number("lr", "X", "Adam learning rate").check(v -> v > 0, "must be positive").byDefault(0.05);

        public List<Opt<?>> options() {
            return Opt.list(MANIFEST, TEST_MANIFEST, OUT, SAMPLE_RATE, L2, ITERATIONS, LR);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            Manifest train = Manifest.read(MANIFEST.get(cl)).requireLabels();
            Manifest test = Manifest.read(TEST_MANIFEST.get(cl)).requireLabels();
            Path outDir = OUT.get(cl);
            if (Files.isRegularFile(outDir) || (Files.isDirectory(outDir) && Files.list(outDir).findAny().isPresent()))
                throw new UsageException("--out " + outDir + ": exists and is not an empty folder");
            int rate = SAMPLE_RATE.get(cl);
            double l2 = L2.get(cl);
            int iterations = ITERATIONS.get(cl);
            double lr = LR.get(cl);
            List<String> names = train.labels();
            if (names.size() < 2) throw new UsageException(train.file() + ": a classifier needs at least 2 labels, got " + names);
            Mfcc mfcc = Mfcc.standard(rate);
            long t0 = System.nanoTime();
            Conversions conv = new Conversions(rate);
            double[][] x = features(train, rate, mfcc, conv);
            int[] y = labels(train, names);
            double[][] xt = features(test, rate, mfcc, conv);
            conv.report(err, "ssmtk audio mfcc-baseline");
            int[] yt = labels(test, names);
            double featureSeconds = (System.nanoTime() - t0) / 1e9;
            t0 = System.nanoTime();
            Standardizer standardizer = Standardizer.fit(x);
            List<SoftmaxRegression.Features> z = new ArrayList<>(x.length);
            for (double[] row : x) z.add(standardizer.apply(row));
            SoftmaxRegression model = SoftmaxRegression.fit(z, y, names.size(), standardizer.dimensions(), iterations, lr, l2, null);
            double fitSeconds = (System.nanoTime() - t0) / 1e9;
            double[][] p = new double[xt.length][];
            for (int i = 0; i < xt.length; i++) p[i] = model.probabilities(standardizer.apply(xt[i]));
            ClassificationMetrics m = ClassificationMetrics.of(names, yt, p);

            Files.createDirectories(outDir);
            ObjectNode n = new ObjectMapper().createObjectNode();
            n.put("method", "mfcc-mean-std + softmax regression").put("manifest", train.file().toString()).put("test_manifest", test.file().toString())
                    .put("sample_rate", rate).put("train_clips", x.length).put("features", mfcc.pooledSize()).put("l2", l2).put("iterations", iterations).put("lr", lr)
                    .put("scored", "every clip of --test-manifest " + test.file());
            n.setAll(m.toJson());
            AtomicFiles.write(outDir.resolve(AudioCommands.EVAL), o -> o.write(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(n)));
            AtomicFiles.write(outDir.resolve("predictions.tsv"), o -> {
                Writer w = new java.io.OutputStreamWriter(o, StandardCharsets.UTF_8);
                StringBuilder h = new StringBuilder("path\ttruth\tlabel");
                for (String c : names) h.append("\tp_").append(c);
                w.write(h.append('\n').toString());
                for (int i = 0; i < p.length; i++) {
                    StringBuilder line = new StringBuilder(test.entries().get(i).id()).append('\t').append(names.get(yt[i])).append('\t')
                            .append(names.get(ClassificationMetrics.argmax(p[i])));
                    for (double v : p[i]) line.append('\t').append(String.format(Locale.ROOT, "%.6g", v));
                    w.write(line.append('\n').toString());
                }
                w.flush();
            });
            err.printf(Locale.ROOT, "ssmtk audio mfcc-baseline: %d train / %d test clips, %d features; MFCCs %.1f s, fit %.1f s%n", x.length, xt.length,
                    mfcc.pooledSize(), featureSeconds, fitSeconds);
            out.printf(Locale.ROOT, "accuracy %.4f  macro-F1 %.4f (%d test clips) -> %s%n", m.accuracy(), m.macroF1(), m.total(), outDir.resolve(AudioCommands.EVAL));
            return 0;
        }

        private static double[][] features(Manifest m, int rate, Mfcc mfcc, Conversions conv) throws java.io.IOException {
            double[][] x = new double[m.entries().size()][];
            for (int i = 0; i < x.length; i++) {
                Manifest.Entry e = m.entries().get(i);
                float[] s = conv.add(AudioInput.read(e, rate)).samples();
                if (s.length == 0) throw new Manifest.ManifestException(e.where(), "no samples");
                x[i] = mfcc.pooled(s);
            }
            return x;
        }

        private static int[] labels(Manifest m, List<String> names) throws Manifest.ManifestException {
            int[] y = new int[m.entries().size()];
            for (int i = 0; i < y.length; i++) {
                Manifest.Entry e = m.entries().get(i);
                y[i] = names.indexOf(e.label());
                if (y[i] < 0) throw new Manifest.ManifestException(e.where(), "label '" + e.label() + "' is not among the training labels " + names);
            }
            return y;
        }
    }
}
