package org.ssmtk.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.apache.commons.cli.CommandLine;
import org.ssmtk.audio.AudioSettings;
import org.ssmtk.audio.baseline.CodeNgram;
import org.ssmtk.audio.io.AudioInput;
import org.ssmtk.audio.io.Conversions;
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


/** {@code ssmtk audio ...}: autoregressive waveform models on quantized WAV samples. */
final class AudioCommands {
    private AudioCommands() {}

    static CommandGroup group() {
        return new CommandGroup("audio", "waveform models on WAV audio (8-bit mu-law language models, generation, classification)",
                List.of(new TrainLm(), new Generate(), new AudioClassifierCommands.TrainClassifier(), new AudioClassifierCommands.Classify(),
                        new AudioScoreCommands.Score(), new AudioScoreCommands.Plot(), new AudioBaselineCommands.MfccBaseline(),
                        new AudioGenerationCommands.ScoreGeneration()));
    }

    static final String EVAL = "eval.json";

    /** --input of the commands that read audio as one WAV or a folder of them. */
    static final Opt<Path> INPUT = Opt.input("input", "WAV|DIR", "a WAV file or a folder of *.wav").existing();

    /** A --manifest TSV (each command says what it does with it). */
    static Opt<Path> manifest(String help) {
        return Opt.input("manifest", "TSV", help).existingFile();
    }

    /** --input WAV|DIR or --manifest TSV (exactly one), read at one rate. */
    record Inputs(Path path, boolean manifest) {
        static Inputs parse(CommandLine cl, Opt<Path> manifest) throws UsageException {
            if (INPUT.given(cl) == manifest.given(cl)) throw new UsageException("give exactly one of --input and --manifest");
            if (manifest.given(cl)) return new Inputs(manifest.get(cl), true);
            return new Inputs(INPUT.get(cl), false);
        }

        /** The clips at {@code rate}; channel mixing and resampling are counted in {@code conv}. */
        List<AudioInput.Named> read(int rate, Conversions conv) throws java.io.IOException {
            return conv.addAll(manifest ? AudioInput.read(Manifest.read(path), rate) : AudioInput.readAll(path, rate));
        }

        /** How many clips there are: manifest rows, or the folder's WAVs. */
        int count() throws java.io.IOException {
            return manifest ? Manifest.read(path).entries().size() : AudioInput.files(path).size();
        }

        /** Clips {@code [from, to)} of the list {@link #read(int, Conversions)} reads whole; the others are not opened. */
        List<AudioInput.Named> read(int rate, Conversions conv, int from, int to) throws java.io.IOException {
            List<AudioInput.Named> out = new ArrayList<>();
            if (manifest) for (Manifest.Entry e : Manifest.read(path).entries().subList(from, to)) out.add(AudioInput.read(e, rate));
            else for (Path f : AudioInput.files(path).subList(from, to)) out.add(AudioInput.read(f, rate));
            return conv.addAll(out);
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
                    + "--seq-len-warmup START --seq-len-warmup-steps W starts on windows of START samples and doubles\n"
                    + "the length stage by stage up to --seq-len over the first W steps (a stage of length l draws\n"
                    + "batch x seq-len / l windows, so every step sees about the same number of samples).\n"
                    + "At the end the held-out bits per sample go to OUT/" + EVAL + " (8 bits = no compression), with an add-one\n"
                    + "unigram and bigram of the codes (fitted on the training samples, scored on the same windows) as floors.\n"
                    + "Writes OUT/metrics.jsonl, OUT/loss.png, OUT/checkpoints/step-N/ and OUT/model (HuggingFace layout\n"
                    + "plus " + AudioSettings.FILE + ": sample rate and quantization). The model starts from --model DIR,\n"
                    + "--config, or a fresh one of --d-model x --layers whose initial Δ is drawn in [--dt-min, --dt-max]\n"
                    + "(a channel remembers about 1/Δ samples: lower --dt-min for windows much longer than 1,000 samples).\n\n"
                    + "example: ssmtk audio train-lm --input clips/ --out run1 --steps 1000 --seq-len 16000";
        }

        static final Opt<Path> MANIFEST = manifest("clips listed in a manifest (path [label [start end]]), instead of --input");
        static final Opt<Path> TEST_MANIFEST = Opt.input("test-manifest", "TSV",
                "held-out clips: score these (whole) instead of holding out part of the input").existingFile();
        static final Opt<Integer> SAMPLE_RATE = Opt.positiveInt("sample-rate", "HZ", "model sample rate; inputs are resampled to it")
                .byDefault(16000);
        static final Opt<String> QUANTIZATION = Opt.string("quantization", "Q", "mu-law or linear, 256 levels").byDefault("mu-law");
        static final Opt<Path> CONFIG = Opt.input("config", "config.json", "start from a fresh model with this config (vocab >= 256)")
                .existingFile();
        static final Opt<Path> MODEL = Opt.input("model", "DIR", "start from this audio model's weights").existingDir();
        static final Opt<Integer> D_MODEL = Opt.positiveInt("d-model", "D", "hidden size of a fresh model").byDefault(64);
        static final Opt<Integer> LAYERS = Opt.positiveInt("layers", "N", "layers of a fresh model").byDefault(4);
        static final Opt<Integer> SEQ_LEN = Opt.positiveInt("seq-len", "L", "samples per training window")
                .check(v -> v >= 2, "must be at least 2").byDefault(4096);
        static final Opt<Integer> DRAW_LENGTH = Opt.positiveInt("draw-length", "N", "draw N consecutive samples at a time and cut them into"
                + " --seq-len windows (each from a fresh state): runs at different --seq-len with the same N, --seed and samples per step"
                + " train on the same samples in the same order").defaultIs("--seq-len");
        static final Opt<Integer> HOLDOUT_FILES = Opt.integer("holdout-files", "N", "files held out whole when there are more")
                .check(v -> v >= 0, "must be >= 0").byDefault(1);
        static final Opt<Double> HOLDOUT = Opt.number("holdout", "F", "fraction at the end of every file held out otherwise")
                .check(v -> v >= 0 && v < 1, "must be in [0, 1)").byDefault(0.1);
        static final Opt<Integer> EVAL_WINDOWS = Opt.positiveInt("eval-windows", "N", "at most this many held-out windows are scored")
                .byDefault(64);
        private final TrainCommands.Optimizer optimizer = new TrainCommands.Optimizer(1e-3, 8);

        public List<Opt<?>> options() {
            return Opt.list(INPUT, MANIFEST, TEST_MANIFEST, SAMPLE_RATE, QUANTIZATION, CONFIG, MODEL, D_MODEL, LAYERS,
                    CommonOptions.TIME_STEP_RANGE, SEQ_LEN, DRAW_LENGTH,
                    TrainCommands.SeqLenWarmup.OPTIONS, HOLDOUT_FILES, HOLDOUT, EVAL_WINDOWS, TrainCommands.RUN_DIRECTORY, optimizer.options(),
                    CommonOptions.BACKEND);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            if (CONFIG.given(cl) && MODEL.given(cl)) throw new UsageException("give at most one of --config and --model");
            if ((CONFIG.given(cl) || MODEL.given(cl)) && (CommonOptions.DT_MIN.given(cl) || CommonOptions.DT_MAX.given(cl)))
                throw new UsageException("--dt-min and --dt-max shape a fresh model; --config and --model bring their own");
            TrainCommands.OptimizerOptions opt = optimizer.parse(cl);
            int rate = SAMPLE_RATE.get(cl);
            String quantization = QUANTIZATION.get(cl);
            AudioSettings settings;
            try {
                settings = new AudioSettings(rate, quantization);
            } catch (IllegalArgumentException e) {
                throw new UsageException("--quantization: " + e.getMessage());
            }
            int seqLen = SEQ_LEN.get(cl);
            int drawLen = DRAW_LENGTH.get(cl, seqLen);
            if (drawLen % seqLen != 0) throw new UsageException("--draw-length " + drawLen + " is not a multiple of --seq-len " + seqLen);
            if ((long) opt.batch() * seqLen % drawLen != 0)
                throw new UsageException("--batch " + opt.batch() + " x --seq-len " + seqLen + " is not a multiple of --draw-length " + drawLen);
            TrainCommands.SeqLenWarmup.start(cl); // both or neither, before any input is read
            int holdoutFiles = HOLDOUT_FILES.get(cl);
            double holdout = HOLDOUT.get(cl);
            int evalWindows = EVAL_WINDOWS.get(cl);
            TrainCommands.RunDirectory runDir = TrainCommands.RunDirectory.parse(cl);
            int every = runDir.checkpointEvery(), keep = runDir.keep();
            Inputs inputs = Inputs.parse(cl, MANIFEST);
            Path input = inputs.path();
            Path testManifest = TEST_MANIFEST.get(cl);
            runDir.refuseExistingRunUnlessResuming();
            Path outDir = runDir.out();
            boolean resume = runDir.resume();

            MambaCheckpoint start;
            String origin;
            if (MODEL.given(cl)) {
                Path dir = MODEL.get(cl);
                AudioSettings theirs = AudioSettings.read(dir);
                // A model trained on other codes or at another rate must not silently continue on these.
                if (theirs != null && !theirs.equals(settings))
                    throw new UsageException("--model " + dir + " was trained at " + theirs.sampleRate() + " Hz, " + theirs.quantization()
                            + "; this run asks for " + rate + " Hz, " + quantization);
                start = MambaCheckpoint.load(dir);
                origin = "model " + dir;
            } else if (CONFIG.given(cl)) {
                start = Initializer.reference(MambaConfig.read(CONFIG.get(cl)), opt.seed());
                origin = "config " + CONFIG.get(cl);
            } else {
                int d = D_MODEL.get(cl), layers = LAYERS.get(cl);
                MambaConfig fresh = CommonOptions.withTimeStepRange(cl, MambaConfig.of(AudioSettings.LEVELS, d, 16, layers));
                start = Initializer.reference(fresh, opt.seed());
                origin = String.format(Locale.ROOT, "fresh d_model %d x %d layers, initial Δ in [%g, %g]", d, layers,
                        fresh.timeStepMin(), fresh.timeStepMax());
            }
            CommonOptions.checkShape(start.config(), "--batch", opt.batch(), "--seq-len", seqLen, true); // held-out evaluation: all logits
            if (start.config().vocabSize() < AudioSettings.LEVELS)
                throw new UsageException(origin + " has a vocabulary of " + start.config().vocabSize() + " ids; audio needs " + AudioSettings.LEVELS);

            Quantizer q = settings.quantizer();
            Conversions conv = new Conversions(rate);
            List<AudioInput.Named> clips = inputs.read(rate, conv);
            List<int[]> codes = new ArrayList<>();
            long samples = 0;
            for (AudioInput.Named c : clips) {
                codes.add(q.encode(c.samples()));
                samples += c.samples().length;
            }
            HeldOut split;
            if (testManifest != null) {
                List<int[]> test = new ArrayList<>();
                for (AudioInput.Named c : conv.addAll(AudioInput.read(Manifest.read(testManifest), rate))) test.add(q.encode(c.samples()));
                split = new HeldOut(codes, test);
            } else {
                split = HeldOut.split(codes, holdoutFiles, holdout);
            }
            org.ssmtk.core.train.BatchSource windows;
            try {
                windows = ClipWindows.cut(split.train(), drawLen, seqLen, opt.batch(), opt.seed());
            } catch (IllegalArgumentException e) {
                throw new UsageException(input + ": " + e.getMessage() + "; lower --seq-len or --holdout");
            }
            long held = split.heldOut().stream().mapToLong(c -> c.length).sum();
            conv.report(err, "ssmtk audio train-lm");
            err.printf(Locale.ROOT, "ssmtk audio train-lm: %s: %d files, %,d samples at %d Hz (%.2f s), %s; %,d held out%n", input, clips.size(),
                    samples, rate, samples / (double) rate, quantization, held);
            err.printf(Locale.ROOT, "ssmtk audio train-lm: %s; %d steps x %d x %d x %d samples%n", origin, opt.steps(), opt.accumulate(), opt.batch(), seqLen);
            ObjectNode run = opt.run().put("seq_len", seqLen).put("input", input.toAbsolutePath().normalize().toString())
                    .put("sample_rate", rate).put("quantization", quantization).put("holdout_files", holdoutFiles).put("holdout", holdout)
                    .put("start", origin);
            if (DRAW_LENGTH.given(cl)) run.put("draw_length", drawLen); // runs without it resume as before
            windows = TrainCommands.SeqLenWarmup.apply(cl, windows, (len, rows) -> ClipWindows.cut(split.train(), drawLen, len, rows, opt.seed()),
                    seqLen, opt.batch(), run, err, "audio train-lm", "samples");
            try (org.ssmtk.core.device.TrainingDevices devices = CommonOptions.trainingDevices(cl, err, opt.gpus());
                 TrainingProgress progress = new TrainingProgress(err, "audio train-lm", opt.logEvery())) {
                org.ssmtk.core.train.Replicas replicas = devices.load(start, opt::prepare);
                MambaModel model = replicas.lead();
                Trainer.Result r = Trainer.train(replicas, windows, Objective.languageModel(), opt.trainer(outDir, every, keep, resume, run), progress);
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
                    + "model's rate, written atomically (--with-prompt: the prompt first, as the model read it). Samples\n"
                    + "per second go to stderr. --count N generates N clips\n"
                    + "at once (one batch, one recurrent step per sample for all of them; each clip its own draws)\n"
                    + "into the folder --output as 000.wav, 001.wav, ..., which appears complete or not at all; --plot\n"
                    + "then draws the first 4. --prompts LIST (a text file of WAV paths, one a line, relative to it; #\n"
                    + "comments) continues every listed clip --count times in one batch, whatever their lengths, into\n"
                    + "the folder --output as PPP-KKK.wav (prompt PPP of the list, from 000; its continuation KKK).\n\n"
                    + "example: ssmtk audio generate --model run1/model --seconds 2 --output gen.wav --temperature 1 --seed 1";
        }

        static final Opt<Path> MODEL = Opt.input("model", "DIR", "audio model directory (with " + AudioSettings.FILE + ")").existingDir()
                .required();
        static final Opt<Double> SECONDS = Opt.number("seconds", "S", "seconds of audio to generate").check(v -> v > 0, "must be positive")
                .required();
        static final Opt<Path> OUTPUT = Opt.output("output", "OUT.wav", "WAV to write").required();
        static final Opt<Path> PROMPT = Opt.input("prompt", "WAV", "continue this clip").existingFile();
        static final Opt<Path> PROMPTS = Opt.input("prompts", "LIST", "continue each WAV listed in this file (one path a line), --count times each,"
                + " in one batch").existingFile();
        static final Opt<Double> TEMPERATURE = Opt.number("temperature", "T", "softmax temperature, 0 = greedy")
                .check(v -> v >= 0, "must be >= 0").byDefault(1.0);
        static final Opt<Integer> TOP_K = Opt.integer("top-k", "K", "sample among the K most likely codes, 0 = all")
                .check(v -> v >= 0, "must be >= 0").byDefault(0);
        static final Opt<Long> SEED = Opt.longInt("seed", "S", "sampling seed").byDefault(0L);
        static final Opt<Boolean> WITH_PROMPT = Opt.flag("with-prompt",
                "start each output with the --prompt as the model read it (resampled, quantized), then the new samples");
        static final Opt<Integer> COUNT = Opt.positiveInt("count", "N", "clips to generate as one batch; N > 1 makes --output a folder")
                .byDefault(1);
        static final Opt<Boolean> PLOT = Opt.flag("plot", "also draw OUT.waveform.png and OUT.spectrogram.png (OUT = --output without .wav)");

        public List<Opt<?>> options() {
            return Opt.list(MODEL, SECONDS, OUTPUT, PROMPT, PROMPTS, WITH_PROMPT, TEMPERATURE, TOP_K, SEED, COUNT, PLOT, CommonOptions.INFERENCE);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            Path dir = MODEL.get(cl);
            double seconds = SECONDS.get(cl);
            double temperature = TEMPERATURE.get(cl);
            int topK = TOP_K.get(cl);
            long seed = SEED.get(cl);
            Path output = OUTPUT.get(cl);
            AudioSettings settings = AudioSettings.read(dir);
            if (settings == null) throw new UsageException("--model " + dir + " has no " + AudioSettings.FILE + "; it was not trained by ssmtk audio train-lm");
            Quantizer q = settings.quantizer();
            long n = Math.round(seconds * settings.sampleRate());
            if (n < 1 || n > Integer.MAX_VALUE - 8) throw new UsageException("--seconds " + seconds + " gives " + n + " samples");
            if (PROMPT.given(cl) && PROMPTS.given(cl)) throw new UsageException("give at most one of --prompt and --prompts");
            if (PROMPTS.given(cl)) return generatePrompted(cl, dir, settings, (int) n, output, out, err);
            Conversions conv = new Conversions(settings.sampleRate());
            int[] prompt = PROMPT.given(cl) ? q.encode(conv.add(AudioInput.read(PROMPT.get(cl), settings.sampleRate())).samples())
                    : new int[]{q.encode(0f)};
            conv.report(err, "ssmtk audio generate: --prompt");
            if (WITH_PROMPT.get(cl) && !PROMPT.given(cl)) throw new UsageException("--with-prompt needs --prompt or --prompts");
            int count = COUNT.get(cl);
            if (count > 1) return generateMany(cl, dir, settings, prompt, (int) n, count, output, out, err);
            MambaCheckpoint ckpt = MambaCheckpoint.load(dir);
            int[] generated;
            long t0;
            double elapsed;
            try (Backend backend = CommonOptions.backend(cl, err)) {
                MambaModel model = CommonOptions.loadForInference(cl, backend, ckpt);
                // Only the 256 codes are candidates: a padded vocabulary's extra rows have no sound.
                Sampler sampler = new Sampler(AudioSettings.LEVELS, temperature, topK, seed);
                t0 = System.nanoTime();
                generated = new Generator(model).generate(prompt, (int) n, sampler, -1, null);
                elapsed = (System.nanoTime() - t0) / 1e9;
            }
            float[] wave = withPrompt(cl, q, prompt, generated);
            WavWriter.write(output, wave, settings.sampleRate());
            if (PLOT.get(cl)) {
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

        /** The new samples as audio, after the prompt's when --with-prompt asks for it. */
        private static float[] withPrompt(CommandLine cl, Quantizer q, int[] prompt, int[] generated) throws UsageException {
            if (!WITH_PROMPT.get(cl)) return q.decode(generated);
            int[] all = java.util.Arrays.copyOf(prompt, prompt.length + generated.length);
            System.arraycopy(generated, 0, all, prompt.length, generated.length);
            return q.decode(all);
        }

        /**
         * Every clip of a --prompts list continued --count times, all in one batch: each prompt is read
         * once by a forward of its own (Generator.generate of prompts of any lengths), then one decoding
         * step per sample advances every sequence.
         */
        private static int generatePrompted(CommandLine cl, Path dir, AudioSettings settings, int n, Path output, PrintStream out,
                                            PrintStream err) throws Exception {
            if (Files.exists(output) && !Files.isDirectory(output)) throw new UsageException("--output " + output + ": exists and is not a folder (--prompts writes a folder)");
            Path list = PROMPTS.get(cl);
            List<Path> wavs = new ArrayList<>();
            List<String> lines = Files.readAllLines(list);
            for (int i = 0; i < lines.size(); i++) {
                String line = lines.get(i).strip();
                if (line.isEmpty() || line.startsWith("#")) continue;
                Path wav = (list.toAbsolutePath().getParent() == null ? Path.of(line) : list.toAbsolutePath().getParent().resolve(line));
                if (!Files.isRegularFile(wav)) throw new UsageException(list + ":" + (i + 1) + ": no such file " + wav);
                wavs.add(wav);
            }
            if (wavs.isEmpty()) throw new UsageException(list + ": lists no WAV (one path a line)");
            int count = COUNT.get(cl);
            if ((long) wavs.size() * count * n > Integer.MAX_VALUE - 8) throw new UsageException("--prompts " + list + ": "
                    + wavs.size() + " x --count " + count + " x " + n + " samples is too many for one run");
            Quantizer q = settings.quantizer();
            Conversions conv = new Conversions(settings.sampleRate());
            int[][] prompts = new int[wavs.size() * count][];
            for (int p = 0; p < wavs.size(); p++) {
                int[] codes = q.encode(conv.add(AudioInput.read(wavs.get(p), settings.sampleRate())).samples());
                if (codes.length == 0) throw new UsageException(wavs.get(p) + ": no samples to continue");
                // the same array for every continuation of a prompt: the generator reads it once
                for (int k = 0; k < count; k++) prompts[p * count + k] = codes;
            }
            conv.report(err, "ssmtk audio generate: --prompts");
            MambaCheckpoint ckpt = MambaCheckpoint.load(dir);
            int[][] generated;
            long t0 = System.nanoTime();
            try (Backend backend = CommonOptions.backend(cl, err)) {
                MambaModel model = CommonOptions.loadForInference(cl, backend, ckpt);
                Sampler sampler = new Sampler(AudioSettings.LEVELS, TEMPERATURE.get(cl), TOP_K.get(cl), SEED.get(cl));
                generated = new Generator(model).generate(prompts, n, sampler, -1);
            }
            double elapsed = (System.nanoTime() - t0) / 1e9;
            int rate = settings.sampleRate();
            float[][] waves = new float[prompts.length][];
            for (int b = 0; b < prompts.length; b++) waves[b] = withPrompt(cl, q, prompts[b], generated[b]);
            AtomicFiles.writeDirectory(output, tmp -> {
                for (int b = 0; b < prompts.length; b++)
                    WavWriter.write(tmp.resolve(String.format(Locale.ROOT, "%03d-%03d.wav", b / count, b % count)), waves[b], rate);
            });
            if (PLOT.get(cl))
                for (int b = 0; b < Math.min(4, prompts.length); b++) {
                    String name = String.format(Locale.ROOT, "%03d-%03d", b / count, b % count);
                    AudioScoreCommands.draw(output.resolve(name), "generated: " + name, waves[b], rate, err);
                }
            err.printf(Locale.ROOT, "ssmtk audio generate: %d prompts x %d clips x %,d samples (%.3f s at %d Hz) in %.2f s (prompt forwards included): %,.0f samples/s%n",
                    wavs.size(), count, n, n / (double) rate, rate, elapsed, (double) prompts.length * n / Math.max(elapsed, 1e-9));
            out.println(output);
            return 0;
        }

        /**
         * count clips as one batch: the prompt (or the one silent sample) is run for every sequence,
         * then one decoding step per sample advances them all; the sampler draws each row in turn,
         * so the clips differ and the whole set is reproducible from --seed.
         */
        private static int generateMany(CommandLine cl, Path dir, AudioSettings settings, int[] prompt, int n, int count, Path output,
                                        PrintStream out, PrintStream err) throws Exception {
            if (Files.exists(output) && !Files.isDirectory(output)) throw new UsageException("--output " + output + ": exists and is not a folder (--count > 1 writes a folder)");
            if ((long) n * count > Integer.MAX_VALUE - 8) throw new UsageException("--count " + count + " x " + n + " samples is too many for one run");
            Quantizer q = settings.quantizer();
            MambaCheckpoint ckpt = MambaCheckpoint.load(dir);
            int[][] clips = new int[count][n];
            long t0 = System.nanoTime();
            try (Backend backend = CommonOptions.backend(cl, err)) {
                MambaModel model = CommonOptions.loadForInference(cl, backend, ckpt);
                Sampler sampler = new Sampler(AudioSettings.LEVELS, TEMPERATURE.get(cl), TOP_K.get(cl), SEED.get(cl));
                org.ssmtk.core.nn.MambaState state = model.newState(count);
                int[] ids = new int[count * prompt.length];
                for (int b = 0; b < count; b++) System.arraycopy(prompt, 0, ids, b * prompt.length, prompt.length);
                org.ssmtk.core.tensor.Tensor hidden = model.backbone(ids, count, prompt.length, state, null);
                // the last position of every sequence: rows b * len + len - 1
                org.ssmtk.core.tensor.Tensor lastRows = backend.allocate(count, model.config().hiddenSize());
                for (int b = 0; b < count; b++)
                    backend.copy(lastRows.rows(b, b + 1), hidden.rows(b * prompt.length + prompt.length - 1, b * prompt.length + prompt.length));
                backend.release(hidden);
                org.ssmtk.core.tensor.Tensor logits = model.logits(lastRows);
                backend.release(lastRows);
                int[] next = sampler.sample(backend, logits);
                backend.release(logits);
                try (Generator.Decoder decoder = new Generator.Decoder(model, state, next.clone(), sampler)) {
                    for (int t = 0; t < n; t++) {
                        for (int b = 0; b < count; b++) clips[b][t] = next[b];
                        if (t + 1 < n) next = decoder.step();
                    }
                }
            }
            double elapsed = (System.nanoTime() - t0) / 1e9;
            int rate = settings.sampleRate();
            float[][] waves = new float[count][];
            for (int b = 0; b < count; b++) waves[b] = withPrompt(cl, q, prompt, clips[b]);
            AtomicFiles.writeDirectory(output, tmp -> {
                for (int b = 0; b < count; b++) WavWriter.write(tmp.resolve(String.format(Locale.ROOT, "%03d.wav", b)), waves[b], rate);
            });
            if (PLOT.get(cl))
                for (int b = 0; b < Math.min(4, count); b++) {
                    String name = String.format(Locale.ROOT, "%03d", b);
                    AudioScoreCommands.draw(output.resolve(name), "generated: " + name, waves[b], rate, err);
                }
            err.printf(Locale.ROOT, "ssmtk audio generate: %d clips x %,d samples (%.3f s at %d Hz) after a %,d-sample prompt in %.2f s: %,.0f samples/s%n",
                    count, n, n / (double) rate, rate, prompt.length, elapsed, (double) count * n / Math.max(elapsed, 1e-9));
            out.println(output);
            return 0;
        }
    }
}
