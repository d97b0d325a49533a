package org.ssmtk.cli;

import org.apache.commons.cli.CommandLine;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.config.Presets;
import org.ssmtk.core.device.BackendUnavailableException;
import org.ssmtk.core.device.Backends;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;
import org.ssmtk.core.nn.WeightFormat;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.function.Predicate;

/** Options that many commands share, and their parsing into checked values. */
final class CommonOptions {
    private CommonOptions() {}

    static final Opt<String> DEVICE = Opt.choice("device", "where the model runs", "cpu", "cuda", "auto").byDefault("cpu");
    static final Opt<String> PRECISION = Opt.choice("precision", "matrix products: fp32, or bf16 tensor cores with fp32"
            + " accumulation and fp32 master weights (--device cuda only)", "bf16", "fp32").byDefault("fp32");
    static final Opt<Integer> THREADS = Opt.positiveInt("threads", "N", "CPU threads").defaultIs("SSMTK_THREADS or all processors");
    static final Opt<String> SSD_PRODUCTS = Opt.choice("ssd-products", "how Mamba-2's SSD scan multiplies inside a chunk (--device cuda"
            + " only): tf32x3 (fp32's accuracy on tensor cores), tf32 (as state-spaces/mamba's Triton kernels: faster, ~1e-3 relative),"
            + " fp32 (exact, on CUDA cores)", "tf32x3", "tf32", "fp32").defaultIs("tf32x3 under --precision fp32, tf32 under bf16");

    /** How a classifier's window of hidden states becomes one vector (DNA and audio). */
    static final Opt<String> POOLING = Opt.choice("pooling", "how a window's hidden states become one vector", "mean", "last")
            .byDefault("mean");

    /** --device, --precision, --ssd-products and --threads, for every command that runs a model. */
    static final List<Opt<?>> BACKEND = List.of(DEVICE, PRECISION, SSD_PRODUCTS, THREADS);

    static final Opt<String> WEIGHTS = Opt.choice("weights", "how the linear layers' weights are held: fp32, or int8"
            + " (32-value blocks with one scale each, a quarter of the memory, times activations quantized alike on the fly"
            + " as llama.cpp's Q8_0; --device cpu; inference only)", "fp32", "int8").byDefault("fp32");

    /**
     * The range of a fresh model's initial Δ (the reference draws it log-uniform in [0.001, 0.1]). A state channel
     * forgets over about 1 / (Δ |A|) steps, so that range bounds what a fresh model can remember before training
     * moves it: at most ~1,000 steps by default, a lower --dt-min gives some channels memory as long as the
     * windows they will be trained on.
     */
    static final Opt<Double> DT_MIN = Opt.number("dt-min", "X", "smallest initial Δ of a fresh model (dt_proj.bias = softplus^-1 of a"
            + " log-uniform draw in [dt-min, dt-max])").check(v -> v > 0, "must be positive").byDefault(0.001);
    static final Opt<Double> DT_MAX = Opt.number("dt-max", "X", "largest initial Δ of a fresh model").check(v -> v > 0, "must be positive")
            .byDefault(0.1);
    static final List<Opt<?>> TIME_STEP_RANGE = List.of(DT_MIN, DT_MAX);

    /** The config with --dt-min and --dt-max as its initial Δ range (and a time-step floor no higher than --dt-min). */
    static MambaConfig withTimeStepRange(CommandLine cl, MambaConfig config) throws UsageException {
        double min = DT_MIN.get(cl), max = DT_MAX.get(cl);
        if (min > max) throw new UsageException("--dt-min " + min + " is above --dt-max " + max);
        return config.withTimeStepRange(min, max);
    }

    /** BACKEND plus --weights, for commands that only run a model forward (no training). */
    static final List<Opt<?>> INFERENCE = List.of(DEVICE, PRECISION, SSD_PRODUCTS, THREADS, WEIGHTS);

    /** The checkpoint on the backend, its linear weights held as --weights says. */
    static MambaModel loadForInference(CommandLine cl, Backend backend, MambaCheckpoint checkpoint) throws UsageException {
        WeightFormat format = WeightFormat.valueOf(WEIGHTS.get(cl).toUpperCase(java.util.Locale.ROOT));
        try {
            return MambaModel.load(backend, checkpoint, format);
        } catch (UnsupportedOperationException e) { // int8 on a backend without int8 products
            throw new UsageException(e.getMessage());
        }
    }

    /**
     * Refuses, before anything runs or is written, a step shape whose largest tensor could not be one
     * Java array ({@link MambaConfig#activationElements}): {@code --batch 2147483647} would otherwise
     * overflow an int inside a sampler or kernel (an internal error, exit 2) instead of being the
     * user's option to fix. {@code logits}: the step holds every position's logits at once (scoring,
     * held-out evaluation), not in blocks as training does.
     */
    static void checkShape(MambaConfig config, String batchOption, long batch, String lenOption, long len, boolean logits) throws UsageException {
        long elements = config.activationElements(batch, len, logits);
        if (elements > MambaConfig.MAX_TENSOR_ELEMENTS)
            throw new UsageException(String.format(java.util.Locale.ROOT,
                    "%s %d x %s %d is too large for this model: one step's largest tensor would hold %s elements, more than one array"
                            + " holds (2^31 - 1); lower %s or %s", batchOption, batch, lenOption, len,
                    elements == Long.MAX_VALUE ? "over 9.2e18" : String.format(java.util.Locale.ROOT, "%.3g", (double) elements),
                    batchOption, lenOption));
    }

    static Backend backend(CommandLine cl, PrintStream err) throws UsageException {
        try {
            return Backends.open(DEVICE.get(cl), THREADS.get(cl, 0), PRECISION.get(cl), SSD_PRODUCTS.get(cl, null), err::println);
        } catch (BackendUnavailableException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** The devices of a trainer: the backend of --device, or with --gpus N, N GPUs bound by NCCL. */
    static org.ssmtk.core.device.TrainingDevices trainingDevices(CommandLine cl, PrintStream err, int gpus) throws UsageException {
        try {
            return org.ssmtk.core.device.TrainingDevices.open(DEVICE.get(cl), THREADS.get(cl, 0), PRECISION.get(cl), SSD_PRODUCTS.get(cl, null), gpus,
                    err::println);
        } catch (BackendUnavailableException e) {
            throw new UsageException(e.getMessage());
        }
    }

    /** A preset model config by name; an unknown name is the user's to fix. */
    static MambaConfig preset(String name) throws UsageException {
        try {
            return Presets.get(name);
        } catch (IllegalArgumentException e) {
            // preset() is a lookup by name: its only failure is a name it does not know
            throw new UsageException("--preset: " + e.getMessage());
        }
    }

    /**
     * Repeated NAME=PATH values (classes of a classifier) in option order: names usable as TSV
     * columns, each path passing {@code exists} (else "no such ..."), no name twice, at least 2.
     */
    static LinkedHashMap<String, Path> labeledPaths(List<String> values, String form, Predicate<Path> exists, String missing)
            throws UsageException {
        LinkedHashMap<String, Path> classes = new LinkedHashMap<>();
        for (String v : values) {
            int eq = v.indexOf('=');
            if (eq <= 0 || eq == v.length() - 1) throw new UsageException("--class wants NAME=" + form + ", got '" + v + "'");
            String name = v.substring(0, eq);
            if (!name.matches("[A-Za-z0-9_.+-]+"))
                throw new UsageException("--class name '" + name + "' may hold only letters, digits and _ . + - (it becomes a TSV column)");
            Path p = Path.of(v.substring(eq + 1));
            if (!exists.test(p)) throw new UsageException("--class " + v + ": " + p + ": " + missing);
            if (classes.put(name, p) != null) throw new UsageException("--class " + name + " is given twice");
        }
        if (classes.size() < 2)
            throw new UsageException("a classifier needs at least 2 classes (--class NAME=" + form + ", repeated), got " + classes.size());
        return classes;
    }
}
