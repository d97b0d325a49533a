package org.ssmtk.cli;

import org.apache.commons.cli.CommandLine;
import org.ssmtk.core.config.Presets;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.bench.ForwardBench;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;


/** {@code ssmtk bench forward}: throughput and memory tables. */
final class BenchCommands {
    private BenchCommands() {}

    static CommandGroup group() {
        return new CommandGroup("bench", "measure speed and memory", List.of(new Forward(), new ModelRun()));
    }

    static final class Forward implements Command {
        public String name() { return "forward"; }

        public String summary() { return "forward tokens/s and peak heap vs sequence length (random weights)"; }

        public String footer() {
            return "Presets: 130m (d_model 768, 24 layers, d_state 16, vocab 50280), dna (d_model 256,\n"
                    + "8 layers, vocab 16), tiny (d_model 64, 2 layers), and Mamba-2 (SSD) beside them: 130m-mamba2\n"
                    + "(24 heads of 64, d_state 128) and dna-mamba2 (d_model 256, 8 heads of 64, d_state 64), e.g.\n"
                    + "--models dna,dna-mamba2. Batch 1; the LM head runs over blocks of\n"
                    + ForwardBench.LOGIT_BLOCK + " rows. Give the JVM enough -Xmx\n"
                    + "(SSMTK_JAVA_OPTS) for the longest length.";
        }

        static final Opt<String> MODELS = Opt.string("models", "LIST", "presets, comma-separated").byDefault("130m,dna");
        static final Opt<int[]> LENGTHS = Opt.intList("lengths", "LIST", "sequence lengths")
                .check(v -> java.util.Arrays.stream(v).allMatch(l -> l >= 1), "must all be positive").byDefault(new int[]{1024, 4096, 16384, 65536});

        public List<Opt<?>> options() {
            return Opt.list(MODELS, LENGTHS, CommonOptions.BACKEND);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            String[] models = MODELS.get(cl).split(",");
            int[] lengths = LENGTHS.get(cl);
            for (String m : models) {
                try {
                    Presets.get(m.trim());
                } catch (IllegalArgumentException e) {
                    throw new UsageException("--models: " + e.getMessage());
                }
            }
            List<ForwardBench.Row> rows = new ArrayList<>();
            String describe;
            try (Backend backend = CommonOptions.backend(cl, err)) {
                describe = backend.describe();
                for (String m : models) rows.addAll(ForwardBench.run(backend, m.trim(), lengths, s -> err.println("bench: " + s)));
            }
            out.println("# " + describe + "; " + Runtime.version() + "; max heap " + Runtime.getRuntime().maxMemory() / (1 << 20) + " MiB");
            out.printf("%-11s %12s %8s %10s %12s %12s %12s %14s %15s%n", "model", "params", "L", "seconds", "tokens/s", "us/token",
                    "weights MiB", "activ. MiB", "JVM peak MiB");
            for (ForwardBench.Row r : rows) {
                out.printf("%-11s %12s %8d %10.3f %12.1f %12.1f %12.1f %14.1f %15.1f%n", r.model(), String.format("%,d", r.parameters()),
                        r.length(), r.seconds(), r.tokensPerSecond(), 1e6 / r.tokensPerSecond(), r.modelBytes() / 1048576.0,
                        r.activationBytes() / 1048576.0, r.peakHeapBytes() / 1048576.0);
            }
            out.println("# activ. = activation buffers of one forward (exact, linear in L); JVM peak = sum of heap-pool");
            out.println("# peaks since the run began (weights, activations and not-yet-collected garbage: an upper bound)");
            return 0;
        }
    }

    /** {@code ssmtk bench model}: one checkpoint's prompt and decode speed, as the llama.cpp peer driver measures it. */
    static final class ModelRun implements Command {
        public String name() { return "model"; }

        public String summary() { return "prompt-processing and decoding speed of a checkpoint (batch 1)"; }

        public String footer() {
            return "Prints one line per repeat, 'pp SECONDS tg SECONDS_PER_TOKEN', the format of\n"
                    + "bench/peers/llama_mamba.c, after a warm-up of at least 3 s that lasts until one whole repeat\n"
                    + "runs with no JIT compilation (at most 30 s). scripts/bench-cpu.sh runs both.\n"
                    + "--decode-step both adds 'tg-ops SECONDS_PER_TOKEN': the op-by-op step, timed right after.";
        }

        static final Opt<java.nio.file.Path> MODEL = Opt.input("model", "DIR", "model directory").existingDir().required();
        static final Opt<Integer> PROMPT = Opt.positiveInt("prompt", "L", "prompt length").byDefault(1024);
        static final Opt<Integer> DECODE = Opt.positiveInt("decode", "N", "tokens decoded one at a time").byDefault(64);
        static final Opt<Integer> REPEATS = Opt.positiveInt("repeats", "R", "measured repeats").byDefault(3);
        static final Opt<String> DECODE_STEP = Opt.choice("decode-step", "decoding step timed: the fused one (where the backend"
                + " has it), op by op, or both in every repeat", "fused", "ops", "both").byDefault("fused");

        public List<Opt<?>> options() {
            return Opt.list(MODEL, PROMPT, DECODE, REPEATS, DECODE_STEP, CommonOptions.INFERENCE);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            org.ssmtk.core.nn.MambaCheckpoint ckpt = org.ssmtk.core.nn.MambaCheckpoint.load(MODEL.get(cl));
            try (Backend backend = CommonOptions.backend(cl, err)) {
                var model = CommonOptions.loadForInference(cl, backend, ckpt);
                out.println("# " + backend.describe() + "; weights " + model.weightFormat() + "; " + Runtime.version());
                var step = org.ssmtk.core.bench.ModelTiming.Step.valueOf(DECODE_STEP.get(cl).toUpperCase(java.util.Locale.ROOT));
                for (var r : org.ssmtk.core.bench.ModelTiming.run(model, PROMPT.get(cl), DECODE.get(cl), REPEATS.get(cl), step,
                        s -> err.println("bench model: " + s)))
                    out.printf(java.util.Locale.ROOT, "pp %.6f tg %.6f%s%n", r.promptSeconds(), r.secondsPerToken(),
                            Double.isNaN(r.opsSecondsPerToken()) ? "" : String.format(java.util.Locale.ROOT, " tg-ops %.6f", r.opsSecondsPerToken()));
            }
            return 0;
        }
    }
}
