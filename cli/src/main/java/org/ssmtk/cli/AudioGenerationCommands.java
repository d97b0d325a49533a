package org.ssmtk.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.cli.CommandLine;
import org.ssmtk.audio.AudioSettings;
import org.ssmtk.audio.io.AudioInput;
import org.ssmtk.audio.io.Conversions;
import org.ssmtk.audio.io.Manifest;
import org.ssmtk.audio.quantize.Quantizer;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.classify.ClassLabels;
import org.ssmtk.core.classify.SequenceClassifier;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.eval.ClassificationMetrics;
import org.ssmtk.core.eval.GenerationScores;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code ssmtk audio score-generation}: generated clips measured the way SaShiMi and Mamba measure
 * SC09 generation, with a classifier trained here instead of theirs.
 */
final class AudioGenerationCommands {
    private AudioGenerationCommands() {}

    static final class ScoreGeneration implements Command {
        public String name() { return "score-generation"; }

        public String summary() { return "score generated clips with a trained classifier: Inception Score, modified IS, Frechet distance to real clips"; }

        public String footer() {
            return "The classifier (from audio train-classifier) reads every clip of --generated and of --real\n"
                    + "(a WAV, a folder of *.wav or --real-manifest TSV), resampled to its rate, in windows of --seq-len\n"
                    + "tiling it. Per set: the Inception Score exp(mean KL(p(y|x) || p(y))), the modified Inception\n"
                    + "Score (mIS) exp(mean over all ordered pairs of KL(p(y|x_i) || p(y|x_j))), both over all clips\n"
                    + "(no splits), and the predicted classes; then the Frechet distance between Gaussians (mean,\n"
                    + "unbiased covariance) of the two sets' embeddings: the pooled hidden state the head reads. As a\n"
                    + "scale for it, one random half of the real clips against the other (seeded). This is the\n"
                    + "SC09 protocol of SaShiMi and Mamba with ssmtk's classifier in place of theirs, so the numbers\n"
                    + "compare across ssmtk runs, not with the papers'. JSON to --output (atomically), a table on\n"
                    + "stdout; --plot DIR draws the waveform and spectrogram of the first --plot-clips generated clips.\n\n"
                    + "example: ssmtk audio score-generation --model cls/model --generated gen/ --real-manifest test.tsv --output scores.json";
        }

        static final Opt<Path> MODEL = Opt.input("model", "DIR", "a classifier from audio train-classifier").existingDir().required();
        static final Opt<Path> GENERATED = Opt.input("generated", "WAV|DIR", "the generated clips: a WAV or a folder of *.wav").existing().required();
        static final Opt<Path> REAL = Opt.input("real", "WAV|DIR", "real clips to compare with: a WAV or a folder of *.wav").existing();
        static final Opt<Path> REAL_MANIFEST = Opt.input("real-manifest", "TSV", "real clips listed in a manifest, instead of --real")
                .existingFile();
        static final Opt<Path> OUTPUT = Opt.output("output", "JSON", "where the scores go").required();
        static final Opt<Path> PLOT = Opt.output("plot", "DIR", "waveform and spectrogram PNGs of the first --plot-clips generated clips here");
        static final Opt<Integer> PLOT_CLIPS = Opt.positiveInt("plot-clips", "N", "how many generated clips --plot draws").byDefault(4);
        static final Opt<Integer> SEQ_LEN = Opt.positiveInt("seq-len", "L", "classifier window length").defaultIs("the training length");
        static final Opt<Integer> BATCH = Opt.positiveInt("batch", "N", "windows per forward pass").byDefault(16);

        public List<Opt<?>> options() {
            return Opt.list(MODEL, GENERATED, REAL, REAL_MANIFEST, OUTPUT, PLOT, PLOT_CLIPS, SEQ_LEN, BATCH, CommonOptions.INFERENCE);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            Path dir = MODEL.get(cl);
            if (REAL.given(cl) == REAL_MANIFEST.given(cl)) throw new UsageException("give exactly one of --real and --real-manifest");
            Path output = OUTPUT.get(cl), plot = PLOT.get(cl);
            if (plot != null && Files.exists(plot) && !Files.isDirectory(plot)) throw new UsageException("--plot " + plot + ": exists and is not a folder");
            int batch = BATCH.get(cl), plotClips = PLOT_CLIPS.get(cl);
            MambaConfig config = MambaConfig.read(dir.resolve(MambaCheckpoint.CONFIG));
            if (!config.hasClassifier())
                throw new UsageException(dir + ": has no classification head (config.json has no ssmtk_classifier); train one with ssmtk audio train-classifier");
            AudioSettings settings = AudioSettings.read(dir);
            if (settings == null) throw new UsageException("--model " + dir + " has no " + AudioSettings.FILE + "; it was not trained by ssmtk audio train-classifier");
            ClassLabels labels = ClassLabels.read(dir, config.numLabels());
            int seqLen = SEQ_LEN.get(cl, labels.seqLen() > 0 ? labels.seqLen() : 4096);
            int rate = settings.sampleRate();
            Conversions conv = new Conversions(rate);
            List<AudioInput.Named> generated = conv.addAll(AudioInput.readAll(GENERATED.get(cl), rate));
            Path realSource = REAL.given(cl) ? REAL.get(cl) : REAL_MANIFEST.get(cl);
            List<AudioInput.Named> real = conv.addAll(REAL.given(cl) ? AudioInput.readAll(realSource, rate) : AudioInput.read(Manifest.read(realSource), rate));
            for (List<AudioInput.Named> set : List.of(generated, real)) {
                if (set.size() < 2) throw new UsageException((set == generated ? "--generated " + GENERATED.get(cl) : realSource)
                        + ": a Frechet distance needs at least 2 clips, got " + set.size());
                for (AudioInput.Named c : set) if (c.samples().length == 0) throw new UsageException(c.id() + ": no samples at " + rate + " Hz");
            }
            conv.report(err, "ssmtk audio score-generation");
            Quantizer q = settings.quantizer();
            MambaCheckpoint checkpoint = MambaCheckpoint.load(dir);
            SequenceClassifier.Readout gen, ref;
            long t0 = System.nanoTime();
            try (Backend backend = CommonOptions.backend(cl, err)) {
                MambaModel model = CommonOptions.loadForInference(cl, backend, checkpoint);
                gen = SequenceClassifier.readOut(model, codes(generated, q), seqLen, batch);
                ref = SequenceClassifier.readOut(model, codes(real, q), seqLen, batch);
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            List<String> names = labels.names();
            SetScores g = SetScores.of(gen, names), r = SetScores.of(ref, names);
            double fd = GenerationScores.frechetDistance(GenerationScores.Gaussian.fit(gen.embeddings()), GenerationScores.Gaussian.fit(ref.embeddings()));
            Double halves = null;
            if (real.size() >= 4) halves = GenerationScores.halvesDistance(ref.embeddings(), 1);

            ObjectNode n = new ObjectMapper().createObjectNode();
            n.put("model", dir.toString()).put("sample_rate", rate).put("seq_len", seqLen).put("embedding_size", config.hiddenSize());
            n.put("protocol", "SaShiMi/Mamba SC09 protocol with ssmtk's own classifier: IS and mIS over all clips (no splits); "
                    + "Frechet distance between Gaussians (unbiased covariance) of the pooled hidden state the classifier head reads");
            g.put(n.putObject("generated").put("source", GENERATED.get(cl).toString()), names);
            r.put(n.putObject("real").put("source", realSource.toString()), names);
            n.put("frechet_distance", fd);
            if (halves != null) n.put("frechet_distance_real_halves", halves);
            n.put("inception_score_ratio", g.is / r.is);
            AtomicFiles.write(output, o -> o.write(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(n)));

            int drawn = 0;
            if (plot != null) {
                Files.createDirectories(plot);
                Set<String> taken = new HashSet<>();
                for (AudioInput.Named c : generated.subList(0, Math.min(plotClips, generated.size()))) {
                    String name = AudioScoreCommands.uniqueName(taken, AudioScoreCommands.shortName(c).replace('/', '_'));
                    taken.add(name);
                    drawn += AudioScoreCommands.draw(plot.resolve(name), "generated: " + name, c.samples(), rate, err);
                }
            }
            err.printf(Locale.ROOT, "ssmtk audio score-generation: %d generated and %d real clips classified in %.2f s%n", generated.size(), real.size(), seconds);
            out.printf(Locale.ROOT, "%-10s %6s %8s %8s %10s %12s%n", "set", "clips", "IS", "mIS", "max p", "FD to real");
            out.printf(Locale.ROOT, "%-10s %6d %8.4f %8.4f %10.4f %12.4f%n", "generated", generated.size(), g.is, g.mis, g.meanMax, fd);
            out.printf(Locale.ROOT, "%-10s %6d %8.4f %8.4f %10.4f %12s%n", "real", real.size(), r.is, r.mis, r.meanMax,
                    halves == null ? "-" : String.format(Locale.ROOT, "%.4f", halves) + "*");
            out.printf(Locale.ROOT, "IS generated / real %.4f%s -> %s%s%n", g.is / r.is, halves == null ? "" : "; * one random half of the real clips vs the other",
                    output, plot == null ? "" : "; " + drawn + " PNGs in " + plot);
            return 0;
        }

        private static List<int[]> codes(List<AudioInput.Named> clips, Quantizer q) {
            List<int[]> out = new ArrayList<>();
            for (AudioInput.Named c : clips) out.add(q.encode(c.samples()));
            return out;
        }

        /** One set's classifier-based scores. */
        private record SetScores(double is, double mis, double meanMax, int[] predicted) {
            static SetScores of(SequenceClassifier.Readout r, List<String> names) {
                double[][] p = r.probabilities();
                int[] predicted = new int[names.size()];
                double max = 0;
                for (double[] row : p) {
                    int c = ClassificationMetrics.argmax(row);
                    predicted[c]++;
                    max += row[c] / p.length;
                }
                return new SetScores(GenerationScores.inceptionScore(p), GenerationScores.modifiedInceptionScore(p), max, predicted);
            }

            void put(ObjectNode node, List<String> names) {
                node.put("clips", java.util.Arrays.stream(predicted).sum()).put("inception_score", is).put("modified_inception_score", mis)
                        .put("mean_max_probability", meanMax);
                ObjectNode counts = node.putObject("predicted");
                for (int c = 0; c < names.size(); c++) counts.put(names.get(c), predicted[c]);
            }
        }
    }
}
