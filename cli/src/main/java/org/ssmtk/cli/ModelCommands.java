package org.ssmtk.cli;

import org.apache.commons.cli.CommandLine;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.io.SafeTensorsReader;
import org.ssmtk.core.io.SafeTensorsWriter;
import org.ssmtk.core.io.TensorInfo;
import org.ssmtk.core.nn.Generator;
import org.ssmtk.core.nn.Gradients;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.nn.ParameterSpec;
import org.ssmtk.core.nn.Sampler;
import org.ssmtk.core.tensor.Tensor;
import org.ssmtk.core.train.LanguageModelLoss;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;


/** {@code ssmtk model info|forward|generate}: a checkpoint directory in HuggingFace layout. */
final class ModelCommands {
    private ModelCommands() {}

    static CommandGroup group() {
        return new CommandGroup("model", "inspect and run Mamba checkpoints (HuggingFace layout)",
                List.of(new Info(), new Init(), new Forward(), new Generate(), new ModelExportCommand()));
    }

    static final class Info implements Command {
        public String name() { return "info"; }

        public String summary() { return "print a checkpoint's config, parameter count and tensors"; }

        static final Opt<Path> MODEL = Opt.input("model", "DIR", "model directory (config.json + model.safetensors)").existingDir().required();

        public List<Opt<?>> options() {
            return List.of(MODEL);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            Path dir = MODEL.get(cl);
            MambaCheckpoint ckpt = MambaCheckpoint.load(dir); // validates everything before printing anything
            MambaConfig c = ckpt.config();
            out.printf("model            %s%n", dir);
            out.printf("architecture     %s%n", c.isMamba2() ? "Mamba-2 (SSD; model_type mamba2)" : "Mamba (selective scan; model_type mamba)");
            out.printf("vocab_size       %d%s%n", c.vocabSize(), c.paddedVocabSize() != c.vocabSize() ? " (padded to " + c.paddedVocabSize() + ")" : "");
            out.printf("hidden_size      %d%n", c.hiddenSize());
            out.printf("layers           %d%n", c.numHiddenLayers());
            out.printf("intermediate     %d (expand %d)%n", c.intermediateSize(), c.expand());
            out.printf("state_size       %d%n", c.stateSize());
            out.printf("conv_kernel      %d%n", c.convKernel());
            if (c.isMamba2()) {
                var s = c.ssd();
                out.printf("heads            %d of head_dim %d, n_groups %d%n", s.numHeads(), s.headDim(), s.nGroups());
                out.printf("chunk_size       %d%n", s.chunkSize());
                out.printf("time_step_limit  [%s, %s]%n", s.timeStepLimitLow(), s.timeStepLimitHigh());
            } else {
                out.printf("time_step_rank   %d%n", c.timeStepRank());
            }
            out.printf("biases           in/out_proj %s, conv %s%n", c.useBias(), c.useConvBias());
            out.printf("lm_head          %s%n", c.tieWordEmbeddings() ? "tied to embeddings" : "separate");
            out.printf("parameters       %,d%n", ParameterSpec.count(c));
            out.println();
            List<Path> files = Files.isRegularFile(dir.resolve(MambaCheckpoint.WEIGHTS)) ? List.of(dir.resolve(MambaCheckpoint.WEIGHTS)) : List.of();
            for (Path f : files) {
                try (SafeTensorsReader r = SafeTensorsReader.open(f)) {
                    for (TensorInfo t : r.tensors().values())
                        out.printf("%-48s %-5s %s%n", t.name(), t.dtype(), t.shapeString());
                }
            }
            if (files.isEmpty())
                for (ParameterSpec.Entry e : ParameterSpec.of(c)) out.printf("%-48s %s%n", e.name(), java.util.Arrays.toString(e.shape()));
            return 0;
        }
    }

    static final class Init implements Command {
        public String name() { return "init"; }

        public String summary() { return "write a freshly initialized model (transformers' initialization)"; }

        public String footer() {
            return "The config is a HuggingFace config.json (missing keys take transformers' defaults) or a\n"
                    + "preset: " + String.join(", ", org.ssmtk.core.config.Presets.NAMES) + ". The output directory loads in ssmtk and in transformers.";
        }

        static final Opt<Path> CONFIG = Opt.input("config", "config.json", "model hyper-parameters").existingFile();
        static final Opt<String> PRESET = Opt.string("preset", "NAME", "a shipped config (" + String.join(", ", org.ssmtk.core.config.Presets.NAMES) + ") instead of --config");
        static final Opt<Path> OUT = Opt.output("out", "DIR", "directory to write config.json and model.safetensors to").required();
        static final Opt<Long> SEED = Opt.longInt("seed", "S", "random seed").byDefault(0L);

        public List<Opt<?>> options() {
            return List.of(CONFIG, PRESET, OUT, SEED);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            if (CONFIG.given(cl) == PRESET.given(cl)) throw new UsageException("give exactly one of --config and --preset");
            MambaConfig config;
            if (CONFIG.given(cl)) config = MambaConfig.read(CONFIG.get(cl));
            else config = CommonOptions.preset(PRESET.get(cl));
            Path dir = OUT.get(cl);
            if (Files.exists(dir.resolve(MambaCheckpoint.WEIGHTS)))
                throw new UsageException("--out " + dir + " already holds a model; remove it first");
            org.ssmtk.core.nn.Initializer.reference(config, SEED.get(cl)).save(dir);
            err.printf("ssmtk model init: wrote %s (%,d parameters)%n", dir, ParameterSpec.count(config));
            return 0;
        }
    }

    static final class Forward implements Command {
        public String name() { return "forward"; }

        public String summary() { return "run the causal LM over token ids and write logits (safetensors)"; }

        public String footer() {
            return "Input: a safetensors file with input_ids (int64 or int32; (batch, L) or (L)).\n"
                    + "Output: logits (float32, (batch, L, vocab)) and, with --hidden-states, hidden_states.K\n"
                    + "(float32, (batch, L, hidden)) numbered as transformers numbers them: K < layers is the\n"
                    + "residual after layer K, K = layers is norm_f of the last. With --loss also loss (float32\n"
                    + "(1), mean next-token cross-entropy of logits[:, :-1] against input_ids[:, 1:], the fixtures'\n"
                    + "definition); with --grads also grad.<parameter> (float32, the parameter's shape) for every\n"
                    + "parameter, d loss / d parameter. Written atomically.";
        }

        static final Opt<Path> MODEL = Opt.input("model", "DIR", "model directory").existingDir().required();
        static final Opt<Path> INPUT = Opt.input("input", "IDS.safetensors", "token ids in tensor input_ids").existingFile().required();
        static final Opt<Path> OUTPUT = Opt.output("output", "OUT.safetensors", "where to write logits").required();
        static final Opt<Boolean> HIDDEN_STATES = Opt.flag("hidden-states", "also write every hidden state");
        static final Opt<Boolean> LOSS = Opt.flag("loss", "also write the mean next-token cross-entropy");
        static final Opt<Boolean> GRADS = Opt.flag("grads", "also write the gradient of the loss for every parameter (implies --loss)");

        public List<Opt<?>> options() {
            return Opt.list(MODEL, INPUT, OUTPUT, HIDDEN_STATES, LOSS, GRADS, CommonOptions.INFERENCE);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            Path dir = MODEL.get(cl);
            Path input = INPUT.get(cl);
            Path output = OUTPUT.get(cl);
            if (Files.exists(output) && Files.isSameFile(output, input))
                throw new UsageException("--output " + output + " is the input file");
            int batch, len;
            int[] ids;
            try (SafeTensorsReader r = SafeTensorsReader.open(input)) {
                if (!r.contains("input_ids")) throw new UsageException(input + ": no tensor named input_ids");
                TensorInfo t = r.info("input_ids");
                if (t.dtype().isFloatingPoint()) throw new UsageException(input + ": input_ids is " + t.dtype() + ", expected int64 or int32");
                long[] shape = t.shape();
                if (shape.length == 1) { batch = 1; len = Math.toIntExact(shape[0]); }
                else if (shape.length == 2) { batch = Math.toIntExact(shape[0]); len = Math.toIntExact(shape[1]); }
                else throw new UsageException(input + ": input_ids has shape " + t.shapeString() + ", expected (batch, L) or (L)");
                if (batch == 0 || len == 0) throw new UsageException(input + ": input_ids is empty " + t.shapeString());
                long[] raw = r.longs("input_ids");
                ids = new int[raw.length];
                for (int i = 0; i < raw.length; i++) {
                    if (raw[i] < 0 || raw[i] > Integer.MAX_VALUE)
                        throw new UsageException(input + ": input_ids[" + i + "] = " + raw[i] + " is not a token id");
                    ids[i] = (int) raw[i];
                }
            }
            MambaCheckpoint ckpt = MambaCheckpoint.load(dir);
            int vocab = ckpt.config().paddedVocabSize(), hidden = ckpt.config().hiddenSize();
            for (int i = 0; i < ids.length; i++)
                if (ids[i] >= vocab)
                    throw new UsageException(input + ": input_ids[" + i + "] = " + ids[i] + " is outside the model's vocabulary of " + vocab);
            SafeTensorsWriter w = new SafeTensorsWriter().metadata("producer", "ssmtk " + Main.version());
            if ((GRADS.get(cl) || LOSS.get(cl)) && !"fp32".equals(CommonOptions.WEIGHTS.get(cl)))
                throw new UsageException("--loss and --grads need --weights fp32 (int8 weights are for inference)");
            try (Backend backend = CommonOptions.backend(cl, err)) {
                MambaModel model = CommonOptions.loadForInference(cl, backend, ckpt);
                boolean keepHidden = HIDDEN_STATES.get(cl);
                boolean grads = GRADS.get(cl), loss = grads || LOSS.get(cl);
                int b = batch, l = len;
                if (!loss || keepHidden) {
                    Tensor last = model.backbone(ids, batch, len, null, keepHidden
                            ? (k, h) -> w.putF32("hidden_states." + k, backend.toHost(h), b, l, hidden) : null);
                    if (!loss) w.putF32("logits", backend.toHost(model.logits(last)), batch, len, vocab);
                }
                if (loss) {
                    if (len < 2) throw new UsageException(input + ": --loss needs sequences of at least 2 tokens (there is no next token)");
                    writeLossAndGradients(model, ids, batch, len, grads, w);
                }
            }
            w.write(output);
            return 0;
        }
    }

    /** Training forward, logits, next-token loss and, when asked, the backward into grad.<name>: the trainers' own loss. */
    static void writeLossAndGradients(MambaModel model, int[] ids, int batch, int len, boolean withGrads, SafeTensorsWriter w) {
        Backend backend = model.backend();
        Gradients g = withGrads ? model.newGradients() : null;
        LanguageModelLoss.Result r = LanguageModelLoss.lossAndGradients(model, ids, LanguageModelLoss.nextTokenTargets(ids, batch, len,
                LanguageModelLoss.IGNORE), batch, len, g, 1f, logits -> w.putF32("logits", backend.toHost(logits), batch, len,
                model.config().paddedVocabSize()));
        w.putF32("loss", new float[]{(float) r.loss()}, 1); // shape (1), as the fixtures store it
        if (g != null) g.all().forEach((name, t) -> w.putF32("grad." + name, backend.toHost(t), t.shape()));
    }

    static final class Generate implements Command {
        public String name() { return "generate"; }

        public String summary() { return "continue a prompt with the recurrent O(1) state; print new token ids"; }

        public String footer() {
            return "Prints exactly --max-new ids, comma-separated, on one line; with --stop-token it stops\n"
                    + "after that id. Temperature 0 (the default) is greedy; otherwise softmax(logits / T) over\n"
                    + "the top-k (0 = all) logits, seeded by --seed.\n\n"
                    + "--prompts FILE: one prompt per line (comma-separated ids, any lengths; blank lines and\n"
                    + "# comments skipped), generated together in one batch (one recurrent step for all per\n"
                    + "token); one output line per prompt, in order, each stopping on its own. Greedy, each\n"
                    + "line is what --prompt-ids gives that prompt alone on the CPU.";
        }

        static final Opt<Path> MODEL = Opt.input("model", "DIR", "model directory").existingDir().required();
        static final Opt<int[]> PROMPT_IDS = Opt.intList("prompt-ids", "ID,ID,...", "prompt token ids");
        static final Opt<Path> PROMPTS = Opt.input("prompts", "FILE", "one prompt per line (comma-separated ids), generated in one batch")
                .existingFile();
        static final Opt<Integer> MAX_NEW = Opt.integer("max-new", "N", "number of tokens to generate").check(v -> v >= 0, "must be >= 0").required();
        static final Opt<Double> TEMPERATURE = Opt.number("temperature", "T", "sampling temperature, 0 = greedy").check(v -> v >= 0, "must be >= 0")
                .byDefault(0.0);
        static final Opt<Integer> TOP_K = Opt.integer("top-k", "K", "sample among the K most likely tokens, 0 = all").check(v -> v >= 0, "must be >= 0")
                .byDefault(0);
        static final Opt<Long> SEED = Opt.longInt("seed", "S", "random seed").byDefault(0L);
        static final Opt<Integer> STOP_TOKEN = Opt.integer("stop-token", "ID", "stop after generating this id");

        public List<Opt<?>> options() {
            return Opt.list(MODEL, PROMPT_IDS, PROMPTS, MAX_NEW, TEMPERATURE, TOP_K, SEED, STOP_TOKEN, CommonOptions.INFERENCE);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            Path dir = MODEL.get(cl);
            if (PROMPT_IDS.given(cl) == PROMPTS.given(cl)) throw new UsageException("give exactly one of --prompt-ids and --prompts");
            String from = PROMPTS.given(cl) ? PROMPTS.get(cl).toString() : "--prompt-ids";
            int[][] prompts = PROMPTS.given(cl) ? readPrompts(PROMPTS.get(cl)) : new int[][]{PROMPT_IDS.get(cl)};
            int maxNew = MAX_NEW.get(cl);
            double temperature = TEMPERATURE.get(cl);
            int topK = TOP_K.get(cl);
            long seed = SEED.get(cl);
            int stop = STOP_TOKEN.get(cl, -1);
            MambaCheckpoint ckpt = MambaCheckpoint.load(dir);
            int vocab = ckpt.config().vocabSize();
            for (int b = 0; b < prompts.length; b++) {
                String where = PROMPTS.given(cl) ? from + ": prompt " + (b + 1) : from;
                if ((long) prompts[b].length + maxNew > MambaConfig.MAX_TENSOR_ELEMENTS) // the ids are one array
                    throw new UsageException(where + ": --max-new " + maxNew + " plus the prompt's " + prompts[b].length
                            + " ids is more than one array holds (2^31 - 1)");
                for (int id : prompts[b])
                    if (id < 0 || id >= ckpt.config().paddedVocabSize())
                        throw new UsageException(where + ": " + id + " is outside the model's vocabulary of " + vocab);
            }
            int[][] generated;
            try (Backend backend = CommonOptions.backend(cl, err)) {
                MambaModel model = CommonOptions.loadForInference(cl, backend, ckpt);
                Sampler sampler = new Sampler(vocab, temperature, topK, seed);
                generated = prompts.length == 1 && !PROMPTS.given(cl)
                        ? new int[][]{new Generator(model).generate(prompts[0], maxNew, sampler, stop, null)}
                        : new Generator(model).generate(prompts, maxNew, sampler, stop);
            }
            for (int[] row : generated) {
                StringJoiner j = new StringJoiner(",");
                for (int id : row) j.add(Integer.toString(id));
                out.println(j);
            }
            return 0;
        }

        /** The prompts of a --prompts file: comma-separated ids a line; blank lines and # comments skipped. */
        static int[][] readPrompts(Path file) throws IOException, UsageException {
            List<int[]> prompts = new ArrayList<>();
            List<String> lines = Files.readAllLines(file);
            for (int n = 0; n < lines.size(); n++) {
                String line = lines.get(n).strip();
                if (line.isEmpty() || line.startsWith("#")) continue;
                int lineNo = n + 1;
                prompts.add(Opt.commaInts(line, bad -> file + ":" + lineNo + ": '" + bad + "' is not a token id"));
            }
            if (prompts.isEmpty()) throw new UsageException(file + ": no prompts (one comma-separated line of ids per prompt)");
            return prompts.toArray(new int[0][]);
        }
    }
}
