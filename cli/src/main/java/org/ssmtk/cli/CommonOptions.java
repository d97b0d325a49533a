package org.ssmtk.cli;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;
import org.ssmtk.core.backend.Backend;
import org.ssmtk.core.device.Backends;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** Options that many commands share, and their parsing into checked values. */
final class CommonOptions {
    private CommonOptions() {}

    static Option required(String longName, String arg, String description) {
        return Option.builder().longOpt(longName).hasArg().argName(arg).required().desc(description).build();
    }

    static Option optional(String longName, String arg, String description) {
        return Option.builder().longOpt(longName).hasArg().argName(arg).desc(description).build();
    }

    /** Marker type of an option whose argument is a file or folder the command reads. */
    static final class InputPath {
        private InputPath() {}
    }

    /** Marker type of an option whose argument is a file or folder the command writes. */
    static final class OutputPath {
        private OutputPath() {}
    }

    /**
     * Path options say what they are, so that a workflow knows which arguments to hash and resolve
     * against the descriptor (inputs) and which to place in the step's folder and track (outputs),
     * without guessing from argument names.
     */
    static Option requiredInput(String longName, String arg, String description) {
        return typed(required(longName, arg, description), InputPath.class);
    }

    static Option optionalInput(String longName, String arg, String description) {
        return typed(optional(longName, arg, description), InputPath.class);
    }

    static Option requiredOutput(String longName, String arg, String description) {
        return typed(required(longName, arg, description), OutputPath.class);
    }

    static Option optionalOutput(String longName, String arg, String description) {
        return typed(optional(longName, arg, description), OutputPath.class);
    }

    private static Option typed(Option o, Class<?> type) {
        o.setType(type);
        return o;
    }

    static Option flag(String longName, String description) {
        return Option.builder().longOpt(longName).desc(description).build();
    }

    /** --device, --precision and --threads, for every command that runs a model. */
    static Options withBackend(Options o) {
        o.addOption(optional("device", "cpu|cuda|auto", "where the model runs (default: cpu)"));
        o.addOption(optional("precision", "bf16|fp32", "matrix products: fp32, or bf16 tensor cores with fp32"
                + " accumulation and fp32 master weights (--device cuda only; default: fp32)"));
        o.addOption(optional("threads", "N", "CPU threads (default: SSMTK_THREADS or all processors)"));
        return o;
    }

    static Backend backend(CommandLine cl, PrintStream err) throws UsageException {
        int threads = cl.hasOption("threads") ? positiveInt(cl, "threads", 0) : 0;
        try {
            return Backends.open(cl.getOptionValue("device", "cpu"), threads, cl.getOptionValue("precision", "fp32"),
                    err::println);
        } catch (IllegalArgumentException e) {
            throw new UsageException(e.getMessage());
        }
    }

    static int positiveInt(CommandLine cl, String name, int fallback) throws UsageException {
        int v = integer(cl, name, fallback);
        if (v < 1) throw new UsageException("--" + name + " must be a positive integer, got " + v);
        return v;
    }

    static int integer(CommandLine cl, String name, int fallback) throws UsageException {
        String s = cl.getOptionValue(name);
        if (s == null) return fallback;
        try {
            return Integer.parseInt(s.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, got '" + s + "'");
        }
    }

    static long longValue(CommandLine cl, String name, long fallback) throws UsageException {
        String s = cl.getOptionValue(name);
        if (s == null) return fallback;
        try {
            return Long.parseLong(s.trim());
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be an integer, got '" + s + "'");
        }
    }

    static double number(CommandLine cl, String name, double fallback) throws UsageException {
        String s = cl.getOptionValue(name);
        if (s == null) return fallback;
        try {
            double v = Double.parseDouble(s.trim());
            if (!Double.isFinite(v)) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            throw new UsageException("--" + name + " must be a number, got '" + s + "'");
        }
    }

    static Path existingDir(CommandLine cl, String name) throws UsageException {
        Path p = Path.of(cl.getOptionValue(name));
        if (!Files.isDirectory(p)) throw new UsageException("--" + name + " " + p + ": no such directory");
        return p;
    }

    static Path existingFile(CommandLine cl, String name) throws UsageException {
        Path p = Path.of(cl.getOptionValue(name));
        if (!Files.isRegularFile(p)) throw new UsageException("--" + name + " " + p + ": no such file");
        return p;
    }

    static int[] intList(String name, String value) throws UsageException {
        String[] parts = value.split(",");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new UsageException("--" + name + " must be comma-separated integers, got '" + parts[i].trim() + "'");
            }
        }
        return out;
    }

    /**
     * Repeated NAME=PATH values (classes of a classifier) in option order: names usable as TSV
     * columns, each path passing {@code exists} (else "no such ..."), no name twice, at least 2.
     */
    static java.util.LinkedHashMap<String, Path> labeledPaths(String[] values, String form, java.util.function.Predicate<Path> exists,
                                                              String missing) throws UsageException {
        java.util.LinkedHashMap<String, Path> classes = new java.util.LinkedHashMap<>();
        for (String v : values == null ? new String[0] : values) {
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
