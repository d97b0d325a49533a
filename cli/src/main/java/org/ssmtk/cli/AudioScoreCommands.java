package org.ssmtk.cli;

import org.apache.commons.cli.CommandLine;
import org.ssmtk.audio.AudioSettings;
import org.ssmtk.audio.io.AudioInput;
import org.ssmtk.audio.io.Conversions;
import org.ssmtk.audio.io.WavReader;
import org.ssmtk.audio.quantize.Quantizer;
import org.ssmtk.audio.score.SampleScorer;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;

import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;


/** {@code ssmtk audio score} (per-clip and per-frame NLL) and {@code ssmtk audio plot} (waveform and spectrogram PNGs). */
final class AudioScoreCommands {
    private AudioScoreCommands() {}

    static final class Score implements Command {
        public String name() { return "score"; }

        public String summary() { return "per-clip and per-frame negative log-likelihood of WAVs under an audio LM (novelty/anomaly), TSV and PNG"; }

        public String footer() {
            return "Every clip is resampled and quantized as the model was trained, then streamed through the recurrent\n"
                    + "state in --chunk pieces: each sample's NLL is -log2 p(code | every code before it in the clip), or,\n"
                    + "with --context L, before it in its L-sample piece (a fresh state every L samples: the windows\n"
                    + "train-lm scores, so --context = train-lm's --seq-len reproduces its held-out bits per sample).\n"
                    + "The first sample of a clip (or piece) has nothing to condition on and is not scored.\n"
                    + "With --context, --batch pieces of a clip go side by side (a pass holds --batch x --chunk samples);\n"
                    + "pieces of different clips never share a pass.\n"
                    + "--output: id, samples, seconds, scored, bits_per_sample (the clip's mean). --frames: id, frame,\n"
                    + "start_s, end_s, scored, bits_per_sample per --frame-ms frame (NA where nothing is scored).\n"
                    + "--plot: NLL over time of the first --plot-clips clips (the others are listed on stderr).\n"
                    + "Tables are written atomically once everything is scored.\n"
                    + "Scattered runs: --shard START-END scores clips START..END-1 of the list (manifest rows, or the folder's\n"
                    + "sorted WAVs; ssmtk scatter plan --clips lists shards); each clip is scored alone, so the shards' tables\n"
                    + "joined in order under one header (ssmtk gather tsv) are the unsplit run's, byte for byte. --plot needs\n"
                    + "every clip and is refused with --shard.\n\n"
                    + "example: ssmtk audio score --model run1/model --input clips/ --output clips.tsv --frames frames.tsv --plot nll.png";
        }

        static final Opt<Path> MODEL = Opt.input("model", "DIR", "an audio LM (from audio train-lm)").existingDir().required();
        static final Opt<Path> MANIFEST = AudioCommands.manifest("clips listed in a manifest instead of --input");
        static final Opt<Path> OUTPUT = Opt.output("output", "TSV", "per-clip table").required();
        static final Opt<Path> FRAMES = Opt.output("frames", "TSV", "per-frame table");
        static final Opt<Double> FRAME_MS = Opt.number("frame-ms", "MS", "frame length for --frames and --plot").byDefault(20.0);
        static final Opt<Integer> CONTEXT = Opt.integer("context", "L", "reset the state every L samples; 0: the whole clip is context")
                .check(v -> v == 0 || v >= 2, "must be 0 (whole clip) or at least 2").byDefault(0);
        static final Opt<Integer> CHUNK = Opt.positiveInt("chunk", "C", "samples per forward pass through the state").byDefault(4096);
        static final Opt<Integer> BATCH = Opt.positiveInt("batch", "N", "--context pieces of a clip fed side by side (larger on a GPU)").byDefault(8);
        static final Opt<Path> PLOT = Opt.output("plot", "PNG", "NLL over time");
        static final Opt<Integer> PLOT_CLIPS = Opt.positiveInt("plot-clips", "N", "clips drawn in --plot").byDefault(8);
        static final Opt<String> SHARD = Opt.string("shard", "START-END",
                "only clips START..END-1 of the list (0-based, in input order): a scattered job's part");

        public List<Opt<?>> options() {
            return Opt.list(MODEL, AudioCommands.INPUT, MANIFEST, OUTPUT, FRAMES, FRAME_MS, CONTEXT, CHUNK, BATCH, PLOT, PLOT_CLIPS, SHARD,
                    CommonOptions.INFERENCE);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            Path dir = MODEL.get(cl);
            AudioSettings settings = AudioSettings.read(dir);
            if (settings == null) throw new UsageException("--model " + dir + " has no " + AudioSettings.FILE + "; it was not trained by ssmtk audio train-lm");
            Path output = OUTPUT.get(cl);
            Path frames = FRAMES.get(cl);
            Path plot = PLOT.get(cl);
            double frameMs = FRAME_MS.get(cl);
            int rate = settings.sampleRate();
            int frame = (int) Math.round(frameMs * rate / 1000);
            if (!(frameMs > 0) || frame < 1) throw new UsageException("--frame-ms " + frameMs + " is less than one sample at " + rate + " Hz");
            int context = CONTEXT.get(cl);
            int chunk = CHUNK.get(cl);
            int batch = context == 0 ? 1 : BATCH.get(cl);
            int plotClips = PLOT_CLIPS.get(cl);
            AudioCommands.Inputs inputs = AudioCommands.Inputs.parse(cl, MANIFEST);
            Quantizer q = settings.quantizer();
            Conversions conv = new Conversions(rate);
            List<AudioInput.Named> clips;
            if (SHARD.given(cl)) {
                if (plot != null) throw new UsageException("--plot draws the first clips of the whole run; a --shard cannot (plot the gathered run)");
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("([0-9]{1,9})-([0-9]{1,9})").matcher(SHARD.get(cl));
                int count = inputs.count();
                if (!m.matches() || Integer.parseInt(m.group(1)) >= Integer.parseInt(m.group(2)))
                    throw new UsageException("--shard '" + SHARD.get(cl) + "' is not START-END with START < END (clips, 0-based half-open)");
                int from = Integer.parseInt(m.group(1)), to = Integer.parseInt(m.group(2));
                if (to > count) throw new UsageException("--shard " + from + "-" + to + ": " + inputs.path() + " has " + count + " clips");
                clips = inputs.read(rate, conv, from, to);
            } else clips = inputs.read(rate, conv);
            conv.report(err, "ssmtk audio score");
            for (AudioInput.Named c : clips) if (c.samples().length == 0) throw new UsageException(c.id() + ": no samples at " + rate + " Hz");
            MambaCheckpoint ckpt = MambaCheckpoint.load(dir);
            CommonOptions.checkShape(ckpt.config(), context == 0 ? "one clip" : "--batch", batch, "--chunk", chunk, true);
            List<double[]> bits = new ArrayList<>();
            long t0 = System.nanoTime(), total = 0;
            try (Backend backend = CommonOptions.backend(cl, err)) {
                SampleScorer scorer = new SampleScorer(CommonOptions.loadForInference(cl, backend, ckpt), chunk, context, batch);
                for (AudioInput.Named c : clips) {
                    bits.add(scorer.score(q.encode(c.samples())));
                    total += c.samples().length;
                }
            }
            double seconds = (System.nanoTime() - t0) / 1e9;
            double sum = 0;
            long scored = 0;
            StringBuilder clipTsv = new StringBuilder("id\tsamples\tseconds\tscored\tbits_per_sample\n");
            StringBuilder frameTsv = new StringBuilder("id\tframe\tstart_s\tend_s\tscored\tbits_per_sample\n");
            Map<String, double[][]> series = new LinkedHashMap<>();
            for (int i = 0; i < clips.size(); i++) {
                double[] b = bits.get(i);
                SampleScorer.Mean m = SampleScorer.mean(b, 0, b.length);
                for (double v : b) if (!Double.isNaN(v)) sum += v;
                scored += m.scored();
                String id = clips.get(i).id();
                clipTsv.append(String.format(Locale.ROOT, "%s\t%d\t%.6f\t%d\t%s%n", id, b.length, b.length / (double) rate, m.scored(), num(m.bits())));
                int nf = (b.length + frame - 1) / frame;
                double[] x = new double[nf], y = new double[nf];
                int kept = 0;
                for (int f = 0; f < nf; f++) {
                    int from = f * frame, to = Math.min(b.length, from + frame);
                    SampleScorer.Mean fm = SampleScorer.mean(b, from, to);
                    frameTsv.append(String.format(Locale.ROOT, "%s\t%d\t%.6f\t%.6f\t%d\t%s%n", id, f, from / (double) rate, to / (double) rate, fm.scored(),
                            num(fm.bits())));
                    if (fm.scored() > 0) {
                        x[kept] = (from + to) / 2.0 / rate;
                        y[kept++] = fm.bits();
                    }
                }
                if (series.size() < plotClips) series.put(uniqueName(series.keySet(), shortName(clips.get(i))),
                        new double[][]{java.util.Arrays.copyOf(x, kept), java.util.Arrays.copyOf(y, kept)});
            }
            write(output, clipTsv);
            if (frames != null) write(frames, frameTsv);
            if (plot != null) {
                if (clips.size() > plotClips)
                    err.printf(Locale.ROOT, "ssmtk audio score: %s shows the first %d of %d clips (--plot-clips); all are in %s%n", plot, plotClips, clips.size(),
                            frames != null ? frames : output);
                Path abs = dir.toAbsolutePath().normalize();
                String name = abs.getParent() == null ? abs.toString() : abs.getParent().getFileName() + "/" + abs.getFileName();
                AudioPlots.nll(plot, "NLL over time, " + frameMs + " ms frames: " + name, series, err);
            }
            err.printf(Locale.ROOT, "ssmtk audio score: %d clips, %,d samples in %.2f s (%,.0f samples/s)%n", clips.size(), total, seconds,
                    total / Math.max(seconds, 1e-9));
            out.printf(Locale.ROOT, "%d clips, mean %.4f bits/sample over %,d scored samples -> %s%n", clips.size(), sum / Math.max(1, scored), scored, output);
            return 0;
        }

        private static String num(double v) {
            return Double.isNaN(v) ? "NA" : String.format(Locale.ROOT, "%.6f", v);
        }

        private static void write(Path file, StringBuilder text) throws java.io.IOException {
            AtomicFiles.write(file, o -> o.write(text.toString().getBytes(StandardCharsets.UTF_8)));
        }
    }

    static String shortName(AudioInput.Named c) {
        String f = c.file().getFileName().toString();
        String base = f.toLowerCase(Locale.ROOT).endsWith(".wav") ? f.substring(0, f.length() - 4) : f;
        return c.id().equals(c.file().toString()) ? base : base + c.id().substring(c.file().toString().length());
    }

    static String uniqueName(Set<String> taken, String name) {
        String n = name;
        for (int k = 2; taken.contains(n); k++) n = name + "-" + k;
        return n;
    }

    static final class Plot implements Command {
        public String name() { return "plot"; }

        public String summary() { return "waveform and spectrogram PNGs of WAV files"; }

        public String footer() {
            return "For every clip: OUT/NAME.waveform.png (min/max envelope against time) and OUT/NAME.spectrogram.png\n"
                    + "(TarsosDSP FFT: ~32 ms Hann frames every quarter frame, power in dB, the top 80 dB shown), NAME being\n"
                    + "the file name without .wav (plus :START-END for a manifest segment). Clips are drawn at their own\n"
                    + "rate unless --sample-rate resamples them.\n\n"
                    + "example: ssmtk audio plot --input gen.wav --out pictures/";
        }

        static final Opt<Path> MANIFEST = AudioCommands.manifest("clips listed in a manifest instead of --input");
        static final Opt<Path> OUT = Opt.output("out", "DIR", "folder for the PNGs (created)").required();
        static final Opt<Integer> SAMPLE_RATE = Opt.positiveInt("sample-rate", "HZ", "resample to this rate first").defaultIs("each file's own");

        public List<Opt<?>> options() {
            return Opt.list(AudioCommands.INPUT, MANIFEST, OUT, SAMPLE_RATE);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            AudioCommands.Inputs inputs = AudioCommands.Inputs.parse(cl, MANIFEST);
            Path outDir = OUT.get(cl);
            if (Files.exists(outDir) && !Files.isDirectory(outDir)) throw new UsageException("--out " + outDir + ": exists and is not a folder");
            Integer rate = SAMPLE_RATE.get(cl);
            List<AudioInput.Named> clips = new ArrayList<>();
            if (inputs.manifest()) {
                for (var e : org.ssmtk.audio.io.Manifest.read(inputs.path()).entries()) {
                    int r = rate != null ? rate : WavReader.read(e.path()).sampleRate();
                    clips.add(AudioInput.read(e, r));
                }
            } else {
                for (Path f : AudioInput.files(inputs.path())) clips.add(AudioInput.read(f, rate != null ? rate : WavReader.read(f).sampleRate()));
            }
            Conversions conv = new Conversions(rate == null ? 0 : rate);
            conv.addAll(clips);
            conv.report(err, "ssmtk audio plot");
            Files.createDirectories(outDir);
            Set<String> names = new HashSet<>();
            int drawn = 0;
            for (AudioInput.Named c : clips) {
                String name = uniqueName(names, shortName(c).replace('/', '_'));
                names.add(name);
                int r = rate != null ? rate : c.original().sampleRate();
                drawn += draw(outDir.resolve(name), name, c.samples(), r, err);
            }
            out.printf(Locale.ROOT, "%d clips, %d PNGs -> %s%n", clips.size(), drawn, outDir);
            return 0;
        }
    }

    /** PREFIX.waveform.png and PREFIX.spectrogram.png; returns how many were drawn. */
    static int draw(Path prefix, String title, float[] samples, int rate, PrintStream err) {
        int n = 0;
        if (AudioPlots.waveform(Path.of(prefix + ".waveform.png"), title, samples, rate, err) != null) n++;
        if (AudioPlots.spectrogram(Path.of(prefix + ".spectrogram.png"), title, samples, rate, err) != null) n++;
        return n;
    }
}
