package org.ssmtk.cli;

import org.apache.commons.cli.CommandLine;
import org.apache.commons.cli.DefaultParser;
import org.apache.commons.cli.HelpFormatter;
import org.apache.commons.cli.MissingOptionException;
import org.apache.commons.cli.Options;
import org.apache.commons.cli.ParseException;
import org.ssmtk.core.device.BackendUnavailableException;
import org.ssmtk.core.train.TrainingDivergedException;
import org.ssmtk.core.io.InputOutputGuard;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.List;
import java.util.Properties;

/**
 * {@code ssmtk <group> <command> [options]}. Exit codes: 0 success; 1 bad usage or bad input, with
 * one line on stderr naming the file and the problem; 2 an internal failure (a bug: the stack trace
 * is printed with SSMTK_DEBUG=1).
 */
public final class Main {
    static final int OK = 0, BAD_INPUT = 1, INTERNAL = 2;

    private Main() {}

    static List<CommandGroup> groups() {
        return List.of(ModelCommands.group(), TrainCommands.group(), SyntheticCommands.group(), TensorCommands.group(), BenchCommands.group(), DnaCommands.group(), AudioCommands.group(), ReportCommands.group(), ScatterCommands.group(), GatherCommands.group(), WorkflowCommands.group());
    }

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        System.out.flush();
        System.exit(code);
    }

    static String version() {
        Properties p = new Properties();
        try (InputStream in = Main.class.getResourceAsStream("/ssmtk-version.properties")) {
            if (in != null) p.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return p.getProperty("version", "unknown");
    }

    public static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || isHelp(args[0])) {
            topHelp(args.length == 0 ? err : out);
            return args.length == 0 ? BAD_INPUT : OK;
        }
        if (args[0].equals("--version") || args[0].equals("-V")) {
            out.println("ssmtk " + version());
            return OK;
        }
        CommandGroup group = groups().stream().filter(g -> g.name().equals(args[0])).findFirst().orElse(null);
        if (group == null) return usage(err, "unknown command group '" + args[0] + "' (try ssmtk --help)");
        if (args.length == 1 || isHelp(args[1])) {
            groupHelp(group, args.length == 1 ? err : out);
            return args.length == 1 ? BAD_INPUT : OK;
        }
        Command command = group.find(args[1]);
        if (command == null) return usage(err, "unknown command 'ssmtk " + group.name() + " " + args[1] + "' (try ssmtk " + group.name() + " --help)");
        String[] rest = Arrays.copyOfRange(args, 2, args.length);
        if (Arrays.asList(rest).contains("--help") || Arrays.asList(rest).contains("-h")) {
            commandHelp(group, command, out);
            return OK;
        }
        return execute("ssmtk " + group.name() + " " + command.name() + ": ", command, rest, out, err);
    }

    /**
     * Parses {@code rest} and runs the command, mapping failures to exit codes: the user's (bad
     * options, input files, an unavailable device, a diverged run) exit 1, anything else is a bug
     * and exits 2 saying so.
     */
    static int execute(String prefix, Command command, String[] rest, PrintStream out, PrintStream err) {
        try {
            CommandLine cl;
            try {
                cl = new DefaultParser().parse(Opt.options(command.options()), rest);
            } catch (MissingOptionException e) {
                return usage(err, prefix + "missing required option" + (e.getMissingOptions().size() > 1 ? "s " : " ")
                        + e.getMissingOptions().stream().map(o -> "--" + o).reduce((a, b) -> a + ", " + b).orElse(""));
            } catch (ParseException e) {
                return usage(err, prefix + e.getMessage());
            }
            Opt.refuseRepeats(command.options(), cl);
            if (!cl.getArgList().isEmpty() && !(command instanceof WorkflowCommands.TakesFile)) return usage(err, prefix + "unexpected argument '" + cl.getArgList().get(0) + "'");
            guardPaths(command, cl);
            return command.run(cl, out, err);
        } catch (UsageException | IOException | BackendUnavailableException | TrainingDivergedException
                 | org.ssmtk.core.nn.ModelTooLargeException e) {
            // the user's to fix: options, input files, the device asked for, a run that diverged
            err.println(prefix + oneLine(e));
            if (debug()) e.printStackTrace(err);
            return BAD_INPUT;
        } catch (OutOfMemoryError e) {
            err.println(prefix + "out of memory (" + e.getMessage() + "); raise -Xmx through SSMTK_JAVA_OPTS or use shorter inputs");
            return INTERNAL;
        } catch (Throwable e) {
            if (String.valueOf(e.getMessage()).contains("CUDA_ERROR_OUT_OF_MEMORY")) {
                // the GPU's memory, not the JVM's: the model's activations grow with batch x length
                err.println(prefix + "out of GPU memory; training: add --recompute-activations (keeps one layer's activations,"
                        + " not all), or use a smaller --batch or --seq-len; or --device cpu");
                if (debug()) e.printStackTrace(err);
                return INTERNAL;
            }
            // IllegalArgumentException, IllegalStateException and the rest are bugs, not the user's input
            err.println(prefix + "internal error (a bug in ssmtk, not a problem with your input): " + e
                    + (debug() ? "" : " (SSMTK_DEBUG=1 shows the stack trace)"));
            if (debug()) e.printStackTrace(err);
            return INTERNAL;
        }
    }

    /**
     * Every command, before it reads or writes anything: no output may be one of its inputs or another
     * output (core's InputOutputGuard). Which options are which comes from their declarations, the
     * same kinds workflows use; a workflow command's FILE argument is an input.
     */
    static void guardPaths(Command command, CommandLine cl) throws IOException, UsageException {
        try {
            guardPathsOf(command, cl);
        } catch (java.nio.file.InvalidPathException e) {
            throw new UsageException("'" + e.getInput().replaceAll("\\p{Cntrl}", "?") + "' is not a valid path (" + e.getReason() + ")");
        }
    }

    private static void guardPathsOf(Command command, CommandLine cl) throws IOException {
        List<InputOutputGuard.Arg> inputs = new java.util.ArrayList<>(), outputs = new java.util.ArrayList<>();
        java.util.Map<String, Opt<?>> declared = new java.util.HashMap<>();
        for (Opt<?> o : command.options()) declared.put(o.name(), o);
        // the raw texts as given (a path need not parse as the option's value type to be compared)
        for (org.apache.commons.cli.Option given : cl.getOptions()) {
            Opt<?> o = declared.get(given.getLongOpt());
            if (o == null || given.getValues() == null) continue;
            for (String v : given.getValues()) {
                switch (o.kind()) {
                    case INPUT -> inputs.add(new InputOutputGuard.Arg("--" + o.name(), java.nio.file.Path.of(v)));
                    case LABELED_INPUT -> {
                        int eq = v.indexOf('=');
                        if (eq > 0) inputs.add(new InputOutputGuard.Arg("--" + o.name(), java.nio.file.Path.of(v.substring(eq + 1))));
                    }
                    case OUTPUT -> outputs.add(new InputOutputGuard.Arg("--" + o.name(), java.nio.file.Path.of(v)));
                    default -> { }
                }
            }
        }
        if (command instanceof WorkflowCommands.TakesFile)
            for (String a : cl.getArgList()) inputs.add(new InputOutputGuard.Arg("FILE", java.nio.file.Path.of(a)));
        InputOutputGuard.check(inputs, outputs);
    }

    private static String oneLine(Throwable e) {
        String m = e.getMessage();
        if (e instanceof java.nio.file.NoSuchFileException) m = e.getMessage() + ": no such file";
        else if (e instanceof java.nio.file.AccessDeniedException) m = e.getMessage() + ": permission denied";
        if (m == null) m = e.toString();
        return m.replace('\n', ' ');
    }

    private static boolean debug() {
        return System.getenv("SSMTK_DEBUG") != null;
    }

    private static boolean isHelp(String a) {
        return a.equals("--help") || a.equals("-h") || a.equals("help");
    }

    private static int usage(PrintStream err, String message) {
        err.println(message);
        return BAD_INPUT;
    }

    private static void topHelp(PrintStream out) {
        out.println("ssmtk " + version() + " - selective state-space models (Mamba) for genomics and audio");
        out.println();
        out.println("usage: ssmtk <group> <command> [options]");
        out.println("       ssmtk <group> --help | ssmtk <group> <command> --help | ssmtk --version");
        out.println();
        out.println("groups:");
        for (CommandGroup g : groups()) out.printf("  %-10s %s%n", g.name(), g.summary());
        out.println();
        out.println("Exit codes: 0 success, 1 bad usage or input, 2 internal error.");
    }

    private static void groupHelp(CommandGroup g, PrintStream out) {
        out.println("usage: ssmtk " + g.name() + " <command> [options]");
        out.println();
        out.println(g.summary());
        out.println();
        out.println("commands:");
        for (Command c : g.commands()) out.printf("  %-10s %s%n", c.name(), c.summary());
    }

    private static void commandHelp(CommandGroup g, Command c, PrintStream out) {
        HelpFormatter f = HelpFormatter.builder().get();
        PrintWriter w = new PrintWriter(out);
        Options o = Opt.options(c.options());
        f.printHelp(w, 100, "ssmtk " + g.name() + " " + c.name() + " [options]", c.summary(), o, 2, 2, c.footer().isEmpty() ? null : "\n" + c.footer());
        w.flush();
    }
}
