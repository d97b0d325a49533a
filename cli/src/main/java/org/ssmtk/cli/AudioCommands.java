package org.ssmtk.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Options;
import org.ssmtk.audio.AudioSettings;
import org.ssmtk.audio.baseline.CodeNgram;
import org.ssmtk.audio.io.AudioInput;
import org.ssmtk.audio.io.Manifest;
import org.ssmtk.audio.io.WavWriter;
import org.ssmtk.audio.quantize.Quantizer;
import org.ssmtk.audio.sample.BitsPerSample;
import org.ssmtk.audio.sample.ClipWindows;
import org.ssmtk.audio.sample.HeldOut;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.io.AtomicFiles;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.Generator;
import org.ssmtk.core.nn.Initializer;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.nn.Sampler;
import org.ssmtk.core.train.Objective;
import org.ssmtk.core.train.Trainer;

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

/** {@code ssmtk audio ...}: autoregressive waveform models on quantized WAV samples. */
final class AudioCommands {
    private AudioCommands() {}

    static CommandGroup group() {
        return new CommandGroup("audio", "waveform models on WAV audio (8-bit mu-law language models, generation, classification)",
                List.of(new TrainLm(), new Generate(), new AudioClassifierCommands.TrainClassifier(), new AudioClassifierCommands.Classify(),
                        new AudioScoreCommands.Score(), new AudioScoreCommands.Plot(), new AudioBaselineCommands.MfccBaseline()));
    }

    static final String EVAL = "eval.json";

    /** --input WAV|DIR or --manifest TSV (exactly one), read at one rate. */
    record Inputs(Path path, boolean manifest) {
        static Inputs parse(CommandLine cl) throws UsageException {
            if (cl.hasOption("input") == cl.hasOption("manifest")) throw new UsageException("give exactly one of --input and --manifest");
            if (cl.hasOption("manifest")) return new Inputs(CommonOptions.existingFile(cl, "manifest"), true);
            Path p = Path.of(cl.getOptionValue("input"));
            if (!Files.exists(p)) throw new UsageException("--input " + p + ": no such file or folder");
            return new Inputs(p, false);
        }

        List<AudioInput.Named> read(int rate) throws java.io.IOException {
            return manifest ? AudioInput.read(Manifest.read(path), rate) : AudioInput.readAll(path, rate);
        }
    }

    static final class TrainLm implements Command {
        public String name() { return "train-lm"; }

        public String summary() { return "train (or continue training) an autoregressive model over quantized waveform samples"; }

        public String footer() {
            return "Input: one WAV, a folder of *.wav (sorted, not recursive) or --manifest TSV (path [label [start end]],\n"
                    + "paths relative to the manifest, start/end in seconds): PCM 8/16/24/32-bit or IEEE float,\n"
                    + "any channel count (mixed to mono by averaging the channels) and sample rate (resampled to\n"
                    + "--sample-rate with TarsosDSP's band-limited resampler). Each sample becomes one token: its\n"
                    + "8-bit mu-law code (or linear, --quantization linear), so the model's vocabulary is 256.\n"
                    + "With several files the last --holdout-files are held out whole; with one file (or\n"
                    + "--holdout-files 0) the last --holdout fraction of every file is; --test-manifest TSV holds out those\n"
                    + "clips instead (and trains on every input clip). Training windows of --seq-len\n"
                    + "samples are drawn at random as a function of (seed, step), so --resume sees the same batches.\n"
                    + "At the end the held-out bits per sample go to OUT/" + EVAL + " (8 bits = no compression), with an add-one\n"
                    + "unigram and bigram of the codes (fitted on the training samples, scored on the same windows) as floors.\n"
                    + "Writes OUT/metrics.jsonl, OUT/loss.png, OUT/checkpoints/step-N/ and OUT/model (HuggingFace layout\n"
                    + "plus " + AudioSettings.FILE + ": sample rate and quantization). The model starts from --model DIR,\n"
                    + "--config, or a fresh one of --d-model x --layers.\n\n"
                    + "example: ssmtk audio train-lm --input clips/ --out run1 --steps 1000 --seq-len 16000";
        }

        public Options options() {
            Options o = new Options()
                    .addOption(optionalInput("input", "WAV|DIR", "a WAV file or a folder of *.wav"))
                    .addOption(optionalInput("manifest", "TSV", "clips listed in a manifest (path [label [start end]]), instead of --input"))
                    .addOption(optionalInput("test-manifest", "TSV", "held-out clips: score these (whole) instead of holding out part of the input"))
                    .addOption(requiredOutput("out", "DIR", "run directory"))
                    .addOption(optional("sample-rate", "HZ", "model sample rate; inputs are resampled to it (default 16000)"))
                    .addOption(optional("quantization", "Q", "mu-law (default) or linear, 256 levels"))
                    .addOption(optionalInput("config", "config.json", "start from a fresh model with this config (vocab >= 256)"))
                    .addOption(optionalInput("model", "DIR", "start from this audio model's weights"))
                    .addOption(optional("d-model", "D", "hidden size of a fresh model (default 64)"))
                    .addOption(optional("layers", "N", "layers of a fresh model (default 4)"))
                    .addOption(optional("seq-len", "L", "samples per training window (default 4096)"))
                    .addOption(optional("holdout-files", "N", "files held out whole when there are more (default 1)"))
                    .addOption(optional("holdout", "F", "fraction at the end of every file held out otherwise (default 0.1)"))
                    .addOption(optional("eval-windows", "N", "at most this many held-out windows are scored (default 64)"));
            TrainCommands.withRunDirectory(o);
            return CommonOptions.withBackend(TrainCommands.withOptimizer(o));
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            if (cl.hasOption("config") && cl.hasOption("model")) throw new UsageException("give at most one of --config and --model");
            TrainCommands.OptimizerOptions opt = TrainCommands.OptimizerOptions.parse(cl, 1e-3, 8);
            int rate = CommonOptions.positiveInt(cl, "sample-rate", 16000);
            String quantization = cl.getOptionValue("quantization", "mu-law");
            AudioSettings settings;
            try {
                settings = new AudioSettings(rate, quantization);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--quantization: " + e.getMessage());
            }
            int seqLen = CommonOptions.positiveInt(cl, "seq-len", 4096);
            if (seqLen < 2) throw new UsageException("--seq-len must be at least 2");
            int holdoutFiles = CommonOptions.integer(cl, "holdout-files", 1);
            if (holdoutFiles < 0) throw new UsageException("--holdout-files must be >= 0, got " + holdoutFiles);
            double holdout = CommonOptions.number(cl, "holdout", 0.1);
            if (!(holdout >= 0 && holdout < 1)) throw new UsageException("--holdout must be in [0, 1), got " + holdout);
            int evalWindows = CommonOptions.positiveInt(cl, "eval-windows", 64);
            TrainCommands.RunDirectory runDir = TrainCommands.RunDirectory.parse(cl);
            int every = runDir.checkpointEvery(), keep = runDir.keep();
            Inputs inputs = Inputs.parse(cl);
            Path input = inputs.path();
            Path testManifest = cl.hasOption("test-manifest") ? CommonOptions.existingFile(cl, "test-manifest") : null;
            runDir.refuseExistingRunUnlessResuming();
            Path outDir = runDir.out();
            boolean resume = runDir.resume();

            MambaCheckpoint start;
            String origin;
            if (cl.hasOption("model")) {
                Path dir = CommonOptions.existingDir(cl, "model");
                AudioSettings theirs = AudioSettings.read(dir);
                // A model trained on other codes or at another rate must not silently continue on these.
                if (theirs != null && !theirs.equals(settings))
                    throw new UsageException("--model " + dir + " was trained at " + theirs.sampleRate() + " Hz, " + theirs.quantization()
                            + "; this run asks for " + rate + " Hz, " + quantization);
                start = MambaCheckpoint.load(dir);
                origin = "model " + dir;
            } else if (cl.hasOption("config")) {
                start = Initializer.reference(MambaConfig.read(CommonOptions.existingFile(cl, "config")), opt.seed());
                origin = "config " + cl.getOptionValue("config");
            } else {
                int d = CommonOptions.positiveInt(cl, "d-model", 64), layers = CommonOptions.positiveInt(cl, "layers", 4);
                start = Initializer.reference(MambaConfig.of(AudioSettings.LEVELS, d, 16, layers), opt.seed());
                origin = "fresh d_model " + d + " x " + layers + " layers";
            }
            if (start.config().vocabSize() < AudioSettings.LEVELS)
                throw new UsageException(origin + " has a vocabulary of " + start.config().vocabSize() + " ids; audio needs " + AudioSettings.LEVELS);

            Quantizer q = settings.quantizer();
            List<AudioInput.Named> clips = inputs.read(rate);
            List<int[]> codes = new ArrayList<>();
            long samples = 0;
            for (AudioInput.Named c : clips) {
                codes.add(q.encode(c.samples()));
                samples += c.samples().length;
            }
            HeldOut split;
            if (testManifest != null) {
                List<int[]> test = new ArrayList<>();
                for (AudioInput.Named c : AudioInput.read(Manifest.read(testManifest), rate)) test.add(q.encode(c.samples()));
                split = new HeldOut(codes, test);
            } else {
                split = HeldOut.split(codes, holdoutFiles, holdout);
            }
            ClipWindows windows;
            try {
                windows = ClipWindows.of(split.train(), seqLen, opt.batch(), opt.seed());
            } catch (IllegalArgumentException e) {
                throw new UsageException(input + ": " + e.getMessage() + "; lower --seq-len or --holdout");
            }
            long held = split.heldOut().stream().mapToLong(c -> c.length).sum();
            err.printf(Locale.ROOT, "ssmtk audio train-lm: %s: %d files, %,d samples at %d Hz (%.2f s), %s; %,d held out%n", input, clips.size(),
                    samples, rate, samples / (double) rate, quantization, held);
            err.printf(Locale.ROOT, "ssmtk audio train-lm: %s; %d steps x %d x %d x %d samples%n", origin, opt.steps(), opt.accumulate(), opt.batch(), seqLen);
            ObjectNode run = opt.run().put("seq_len", seqLen).put("input", input.toAbsolutePath().normalize().toString())
                    .put("sample_rate", rate).put("quantization", quantization).put("holdout_files", holdoutFiles).put("holdout", holdout)
                    .put("start", origin);
            try (Backend backend = CommonOptions.backend(cl, err);
                 TrainingProgress progress = new TrainingProgress(err, "audio train-lm", opt.logEvery())) {
                MambaModel model = MambaModel.load(backend, start);
                Trainer.Result r = Trainer.train(opt.prepare(model), windows, Objective.languageModel(), opt.trainer(outDir, every, keep, resume, run), progress);
                progress.close();
                Path modelDir = outDir.resolve(Trainer.MODEL);
                settings.write(modelDir);
                BitsPerSample.Result eval = split.heldOut().isEmpty() ? null
                        : BitsPerSample.evaluate(model, split.heldOut(), seqLen, opt.batch(), evalWindows);
                // The floor any waveform model should beat, on exactly the windows scored above.
                CodeNgram.Score floor = eval == null ? null
                        : CodeNgram.fit(split.train(), AudioSettings.LEVELS).score(BitsPerSample.windows(split.heldOut(), seqLen, evalWindows));
                writeEval(outDir, input, settings, r.lastStep(), eval, floor);
                Path png = TrainCommands.plotLoss(outDir, "ssmtk audio train-lm: " + outDir.getFileName(), err);
                String heldText = eval == null ? "no held-out samples"
                        : String.format(Locale.ROOT, "held-out %.4f bits/sample (%,d samples, %d windows; add-one unigram %.4f, bigram %.4f)",
                        eval.bitsPerSample(), eval.samples(), eval.windows(), floor.unigramBitsPerSample(), floor.bigramBitsPerSample());
                out.printf(Locale.ROOT, "steps %d..%d  final loss %.4f  %s  model %s  curve %s%n", r.firstStep(), r.lastStep(), r.finalLoss(),
                        heldText, modelDir, png);
            }
            return 0;
        }
    }

    private static void writeEval(Path outDir, Path input, AudioSettings s, long step, BitsPerSample.Result eval, CodeNgram.Score floor)
            throws java.io.IOException {
        ObjectNode n = new ObjectMapper().createObjectNode();
        n.put("input", input.toString()).put("sample_rate", s.sampleRate()).put("quantization", s.quantization()).put("step", step);
        if (eval != null) n.put("bits_per_sample", eval.bitsPerSample()).put("samples", eval.samples()).put("windows", eval.windows());
        if (floor != null)
            n.put("unigram_bits_per_sample", floor.unigramBitsPerSample()).put("bigram_bits_per_sample", floor.bigramBitsPerSample())
                    .put("baselines", "add-one smoothed code unigram/bigram fitted on the training samples, scored on the same windows");
        AtomicFiles.write(outDir.resolve(EVAL), o -> o.write(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsBytes(n)));
    }

    static final class Generate implements Command {
        public String name() { return "generate"; }

        public String summary() { return "sample a waveform from an audio model with the recurrent state, written as a WAV"; }

        public String footer() {
            return "Each new sample costs one recurrent step, however long the output. Without --prompt the model\n"
                    + "starts from one silent sample; with --prompt WAV (resampled and quantized like the training data)\n"
                    + "it continues that clip. OUT.wav holds only the --seconds of new samples, 16-bit PCM mono at the\n"
                    + "model's rate, written atomically. Samples per second go to stderr.\n\n"
                    + "example: ssmtk audio generate --model run1/model --seconds 2 --output gen.wav --temperature 1 --seed 1";
        }

        public Options options() {
            Options o = new Options()
                    .addOption(requiredInput("model", "DIR", "audio model directory (with " + AudioSettings.FILE + ")"))
                    .addOption(required("seconds", "S", "seconds of audio to generate"))
                    .addOption(requiredOutput("output", "OUT.wav", "WAV to write"))
                    .addOption(optionalInput("prompt", "WAV", "continue this clip"))
                    .addOption(optional("temperature", "T", "softmax temperature, 0 = greedy (default 1)"))
                    .addOption(optional("top-k", "K", "sample among the K most likely codes, 0 = all (default 0)"))
                    .addOption(optional("seed", "S", "sampling seed (default 0)"))
                    .addOption(flag("plot", "also draw OUT.waveform.png and OUT.spectrogram.png (OUT = --output without .wav)"));
            return CommonOptions.withBackend(o);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            Path dir = CommonOptions.existingDir(cl, "model");
            double seconds = CommonOptions.number(cl, "seconds", 0);
            if (!(seconds > 0)) throw new UsageException("--seconds must be positive, got " + seconds);
            double temperature = CommonOptions.number(cl, "temperature", 1);
            if (temperature < 0) throw new UsageException("--temperature must be >= 0, got " + temperature);
            int topK = CommonOptions.integer(cl, "top-k", 0);
            if (topK < 0) throw new UsageException("--top-k must be >= 0, got " + topK);
            long seed = CommonOptions.longValue(cl, "seed", 0);
            Path output = Path.of(cl.getOptionValue("output"));
            AudioSettings settings = AudioSettings.read(dir);
            if (settings == null) throw new UsageException("--model " + dir + " has no " + AudioSettings.FILE + "; it was not trained by ssmtk audio train-lm");
            Quantizer q = settings.quantizer();
            long n = Math.round(seconds * settings.sampleRate());
            if (n < 1 || n > Integer.MAX_VALUE - 8) throw new UsageException("--seconds " + seconds + " gives " + n + " samples");
            int[] prompt = cl.hasOption("prompt") ? q.encode(AudioInput.read(CommonOptions.existingFile(cl, "prompt"), settings.sampleRate()).samples())
                    : new int[]{q.encode(0f)};
            MambaCheckpoint ckpt = MambaCheckpoint.load(dir);
            int[] generated;
            long t0;
            double elapsed;
            try (Backend backend = CommonOptions.backend(cl, err)) {
                MambaModel model = MambaModel.load(backend, ckpt);
                // Only the 256 codes are candidates: a padded vocabulary's extra rows have no sound.
                Sampler sampler = new Sampler(AudioSettings.LEVELS, temperature, topK, seed);
                t0 = System.nanoTime();
                generated = new Generator(model).generate(prompt, (int) n, sampler, -1, null);
                elapsed = (System.nanoTime() - t0) / 1e9;
            }
            float[] wave = q.decode(generated);
            WavWriter.write(output, wave, settings.sampleRate());
            if (cl.hasOption("plot")) {
                String o = output.toString();
                Path prefix = Path.of(o.toLowerCase(Locale.ROOT).endsWith(".wav") ? o.substring(0, o.length() - 4) : o);
                AudioScoreCommands.draw(prefix, "generated: " + output.getFileName(), wave, settings.sampleRate(), err);
            }
            err.printf(Locale.ROOT, "ssmtk audio generate: %,d samples (%.3f s at %d Hz) after a %,d-sample prompt in %.2f s (prompt forward included): %,.0f samples/s%n",
                    generated.length, generated.length / (double) settings.sampleRate(), settings.sampleRate(), prompt.length, elapsed,
                    generated.length / Math.max(elapsed, 1e-9));
            out.println(output);
            return 0;
        }
    }
}
