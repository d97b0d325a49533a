package org.ssmtk.cli;

import org.apache.commons.cli.CommandLine;
import org.ssmtk.core.io.GgufWriter;
import org.ssmtk.core.nn.GgufExport;
import org.ssmtk.core.nn.MambaCheckpoint;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** {@code ssmtk model export --gguf}: a checkpoint as the GGUF file llama.cpp runs. */
final class ModelExportCommand implements Command {
    static final Opt<Path> MODEL = Opt.input("model", "DIR", "model directory (config.json + model.safetensors)").existingDir().required();
    static final Opt<Path> GGUF = Opt.output("gguf", "FILE", "GGUF file to write").required();
    static final Opt<String> TYPE = Opt.choice("type", "how matrices are stored; norms, A, D, the conv and"
            + " matrices whose rows are not whole 32-value blocks stay f32", "f32", "f16", "q8_0").byDefault("f32");

    public String name() { return "export"; }

    public String summary() { return "write a Mamba-1 language model as GGUF for llama.cpp"; }

    public String footer() {
        return "llama.cpp's 'mamba' architecture: tensor names as its converter writes them, A = -exp(A_log),\n"
                + "the tied head omitted, no tokenizer (token ids in, logits out). q8_0 blocks hold the same\n"
                + "numbers as --weights int8 in ssmtk.";
    }

    public List<Opt<?>> options() {
        return List.of(MODEL, GGUF, TYPE);
    }

    public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
        MambaCheckpoint ckpt = MambaCheckpoint.load(MODEL.get(cl));
        GgufWriter.Type type = GgufWriter.Type.valueOf(TYPE.get(cl).toUpperCase(Locale.ROOT));
        try {
            GgufExport.write(ckpt, type, GGUF.get(cl));
        } catch (IllegalArgumentException e) { // a model llama.cpp's mamba architecture cannot hold
            throw new UsageException(MODEL.get(cl) + ": " + e.getMessage());
        }
        err.println("model export: wrote " + GGUF.get(cl) + " (" + TYPE.get(cl) + ")");
        return 0;
    }
}
