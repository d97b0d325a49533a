package org.ssmtk.cli;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.Option;
import org.apache.commons.cli.Options;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * One option of a command, declared once (Picard style): its name, argument name, kind, type,
 * default and help live here and nowhere else. {@code --help} prints the help with "(default: X)"
 * made from the declared default, commands read the value through {@link #get}, and workflows learn
 * the option's kind (flag, value, input, NAME=input, output) from {@link #kind()}. Immutable: the
 * modifiers return a new declaration.
 *
 * <pre>{@code static final Opt<Integer> BATCH = Opt.positiveInt("batch", "N", "sequences per step").byDefault(8);
 * int batch = BATCH.get(cl);}</pre>
 */
final class Opt<T> {
    /** What an option's argument is, for workflows: which values to hash and resolve (inputs) and which to place (outputs). */
    enum Kind { FLAG, VALUE, INPUT, LABELED_INPUT, OUTPUT }

    /** Text to value; throws with the whole one-line message ("--batch must be ..."). */
    @FunctionalInterface
    interface Parser<T> {
        T parse(String option, String text) throws UsageException;
    }

    private final String name, arg, help, defaultText;
    private final Kind kind;
    private final boolean required, repeatable;
    private final T defaultValue;
    private final Parser<T> parser;
    private final Function<T, String> show;

    private Opt(String name, String arg, String help, Kind kind, boolean required, boolean repeatable, T defaultValue, String defaultText,
                Parser<T> parser, Function<T, String> show) {
        if (help.toLowerCase(java.util.Locale.ROOT).contains("(default"))
            throw new IllegalArgumentException("--" + name + ": the help may not state a default; declare it (byDefault / defaultIs)");
        this.name = name;
        this.arg = arg;
        this.help = help;
        this.kind = kind;
        this.required = required;
        this.repeatable = repeatable;
        this.defaultValue = defaultValue;
        this.defaultText = defaultText;
        this.parser = parser;
        this.show = show;
    }

    private static <T> Opt<T> value(String name, String arg, String help, Parser<T> parser, Function<T, String> show) {
        return new Opt<>(name, arg, help, Kind.VALUE, false, false, null, null, parser, show);
    }

    // ---- factories -------------------------------------------------------------------------------

    /** No argument: true when given. */
    static Opt<Boolean> flag(String name, String help) {
        return new Opt<>(name, null, help, Kind.FLAG, false, false, false, null, (o, s) -> true, String::valueOf);
    }

    static Opt<String> string(String name, String arg, String help) {
        return value(name, arg, help, (o, s) -> s, s -> s);
    }

    /** One of {@code choices}; the argument name lists them ("cpu|cuda|auto"). */
    static Opt<String> choice(String name, String help, String... choices) {
        List<String> allowed = List.of(choices);
        return value(name, String.join("|", choices), help, (o, s) -> {
            if (!allowed.contains(s)) throw new UsageException("--" + o + " must be " + or(allowed) + ", got '" + s + "'");
            return s;
        }, s -> s);
    }

    static Opt<Integer> integer(String name, String arg, String help) {
        return value(name, arg, help, (o, s) -> {
            try {
                return Integer.parseInt(s.trim());
            } catch (NumberFormatException e) {
                throw new UsageException("--" + o + " must be an integer, got '" + s + "'");
            }
        }, String::valueOf);
    }

    static Opt<Integer> positiveInt(String name, String arg, String help) {
        return integer(name, arg, help).check(v -> v >= 1, "must be a positive integer");
    }

    static Opt<Long> longInt(String name, String arg, String help) {
        return value(name, arg, help, (o, s) -> {
            try {
                return Long.parseLong(s.trim());
            } catch (NumberFormatException e) {
                throw new UsageException("--" + o + " must be an integer, got '" + s + "'");
            }
        }, String::valueOf);
    }

    /** A finite number. */
    static Opt<Double> number(String name, String arg, String help) {
        return value(name, arg, help, (o, s) -> {
            try {
                double v = Double.parseDouble(s.trim());
                if (Double.isFinite(v)) return v;
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new UsageException("--" + o + " must be a number, got '" + s + "'");
        }, Opt::showNumber);
    }

    static Opt<int[]> intList(String name, String arg, String help) {
        return value(name, arg, help, (o, s) -> commaInts(s, bad -> "--" + o + " must be comma-separated integers, got '" + bad + "'"),
                v -> String.join(",", Arrays.stream(v).mapToObj(Integer::toString).toList()));
    }

    /** Comma-separated integers (spaces around them allowed); a part that is none is the error message(part). */
    static int[] commaInts(String s, java.util.function.Function<String, String> message) throws UsageException {
        String[] parts = s.split(",");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new UsageException(message.apply(parts[i].trim()));
            }
        }
        return out;
    }

    /** A path the command reads (a workflow hashes it and resolves it against the descriptor). */
    static Opt<Path> input(String name, String arg, String help) {
        return new Opt<>(name, arg, help, Kind.INPUT, false, false, null, null, (o, s) -> Path.of(s), Path::toString);
    }

    /** NAME=PATH, repeatable: a labelled input (the path part is read). */
    static Opt<String> labeledInput(String name, String arg, String help) {
        if (!arg.startsWith("NAME=")) throw new IllegalArgumentException("--" + name + ": a labelled input's argument is NAME=...");
        return new Opt<>(name, arg, help, Kind.LABELED_INPUT, false, true, null, null, (o, s) -> s, s -> s);
    }

    /** A path the command writes (a workflow places it in the step's folder and tracks it). */
    static Opt<Path> output(String name, String arg, String help) {
        return new Opt<>(name, arg, help, Kind.OUTPUT, false, false, null, null, (o, s) -> Path.of(s), Path::toString);
    }

    // ---- modifiers -------------------------------------------------------------------------------

    Opt<T> required() {
        return new Opt<>(name, arg, help, kind, true, repeatable, defaultValue, defaultText, parser, show);
    }

    /** Given any number of times ({@link #all}); every other option given twice is refused. */
    Opt<T> repeatable() {
        return new Opt<>(name, arg, help, kind, required, true, defaultValue, defaultText, parser, show);
    }

    /** The value when the option is absent; --help prints it. It must pass the option's own checks. */
    Opt<T> byDefault(T value) {
        return new Opt<>(name, arg, help, kind, required, repeatable, value, show.apply(value), parser, show);
    }

    /** A default the command computes (from other options, a file, the environment): --help prints {@code how}; get returns null. */
    Opt<T> defaultIs(String how) {
        return new Opt<>(name, arg, help, kind, required, repeatable, null, how, parser, show);
    }

    /** Refuses values failing {@code ok}: "--NAME {@code requirement}, got V". */
    Opt<T> check(Predicate<T> ok, String requirement) {
        Parser<T> inner = parser;
        return new Opt<>(name, arg, help, kind, required, repeatable, defaultValue, defaultText, (o, s) -> {
            T v = inner.parse(o, s);
            if (!ok.test(v)) throw new UsageException("--" + o + " " + requirement + ", got " + show.apply(v));
            return v;
        }, show);
    }

    /** An input that must be an existing regular file: "--NAME P: no such file". */
    Opt<T> existingFile() {
        return exists(Files::isRegularFile, "no such file");
    }

    /** An input that must be an existing directory: "--NAME P: no such directory". */
    Opt<T> existingDir() {
        return exists(Files::isDirectory, "no such directory");
    }

    /** An input that must exist (file or folder). */
    Opt<T> existing() {
        return exists(Files::exists, "no such file or folder");
    }

    private Opt<T> exists(Predicate<Path> test, String missing) {
        Parser<T> inner = parser;
        return new Opt<>(name, arg, help, kind, required, repeatable, defaultValue, defaultText, (o, s) -> {
            T v = inner.parse(o, s);
            if (!test.test((Path) v)) throw new UsageException("--" + o + " " + v + ": " + missing);
            return v;
        }, show);
    }

    // ---- reading ---------------------------------------------------------------------------------

    /** The value given, else the declared default (null where there is none or the command computes it). */
    @SuppressWarnings("unchecked")
    T get(CommandLine cl) throws UsageException {
        if (kind == Kind.FLAG) return (T) Boolean.valueOf(cl.hasOption(name));
        String s = cl.getOptionValue(name);
        return s == null ? defaultValue : parser.parse(name, s);
    }

    /** The value given, else {@code fallback}: for defaults a command computes ({@link #defaultIs}). */
    T get(CommandLine cl, T fallback) throws UsageException {
        return given(cl) ? get(cl) : fallback;
    }

    /** Every value of a repeatable option, in command-line order (empty when absent). */
    List<T> all(CommandLine cl) throws UsageException {
        String[] values = cl.getOptionValues(name);
        List<T> out = new ArrayList<>();
        if (values != null) for (String s : values) out.add(parser.parse(name, s));
        return out;
    }

    boolean given(CommandLine cl) {
        return cl.hasOption(name);
    }

    /** Parses {@code text} as a command line value would be (used by the help-versus-default test). */
    T parse(String text) throws UsageException {
        return parser.parse(name, text);
    }

    String name() { return name; }

    String argName() { return arg; }

    String help() { return help; }

    Kind kind() { return kind; }

    boolean isRequired() { return required; }

    boolean isRepeatable() { return repeatable; }

    T defaultValue() { return defaultValue; }

    /** What --help prints after "default: ", or null. */
    String defaultText() { return defaultText; }

    /** The commons-cli declaration this is parsed through; its description is the help plus the default. */
    Option option() {
        Option.Builder b = Option.builder().longOpt(name).desc(defaultText == null ? help : help + " (default: " + defaultText + ")");
        if (kind != Kind.FLAG) b.hasArg().argName(arg);
        if (required) b.required();
        return b.build();
    }

    // ---- a command's declarations ------------------------------------------------------------------

    /** The declarations given, flattening collections, in order (a command's option list). */
    static List<Opt<?>> list(Object... items) {
        List<Opt<?>> out = new ArrayList<>();
        for (Object i : items) {
            if (i instanceof Opt<?> o) out.add(o);
            else if (i instanceof Collection<?> c) out.addAll(list(c.toArray()));
            else throw new IllegalArgumentException("not an option: " + i);
        }
        return List.copyOf(out);
    }

    static Options options(List<Opt<?>> opts) {
        Options o = new Options();
        for (Opt<?> d : opts) {
            if (o.hasLongOption(d.name)) throw new IllegalStateException("--" + d.name + " is declared twice");
            o.addOption(d.option());
        }
        return o;
    }

    /** A single-valued option given twice is refused: keeping either value silently would hide a mistake. */
    static void refuseRepeats(List<Opt<?>> opts, CommandLine cl) throws UsageException {
        Map<String, Integer> seen = new HashMap<>();
        for (Option o : cl.getOptions()) if (o.getLongOpt() != null) seen.merge(o.getLongOpt(), 1, Integer::sum);
        for (Opt<?> d : opts)
            if (!d.repeatable && seen.getOrDefault(d.name, 0) > 1) throw new UsageException("--" + d.name + " given twice");
    }

    private static String or(List<String> values) {
        return values.size() == 1 ? values.getFirst()
                : String.join(", ", values.subList(0, values.size() - 1)) + " or " + values.getLast();
    }

    /** 0.001, 1e-05 as 1e-5, 1.0: what a person would type, and parses back to the same double. */
    static String showNumber(Double v) {
        String s = Double.toString(v);
        int e = s.indexOf('E');
        if (e < 0) return s;
        String mantissa = s.substring(0, e);
        if (mantissa.endsWith(".0")) mantissa = mantissa.substring(0, mantissa.length() - 2);
        return mantissa + "e" + s.substring(e + 1);
    }
}
