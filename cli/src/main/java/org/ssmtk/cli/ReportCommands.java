package org.ssmtk.cli;

import org.apache.commons.cli.CommandLine;
import org.ssmtk.workflows.report.HtmlReport;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;


/**
 * {@code ssmtk report html}: one self-contained HTML page (plus MultiQC files) over what runs wrote;
 * {@code ssmtk report plot}: a TSV table of numbers as a line chart (PNG), for scripts' sweeps.
 */
final class ReportCommands {
    private ReportCommands() {}

    static CommandGroup group() {
        return new CommandGroup("report", "reports over what other commands wrote (self-contained HTML, MultiQC JSON, line plots)",
                List.of(new Html(), new Plot()));
    }

    static final class Html implements Command {
        public String name() { return "html"; }

        public String summary() { return "one self-contained HTML report (inline charts) of runs' metrics, evaluations, calls, scores and audio"; }

        public String footer() {
            return "Each --input (a file, or a folder searched 4 levels deep) contributes what it holds: run.json (a workflow's\n"
                    + "steps), metrics.jsonl (training curve), eval.json (held-out metrics, per-class table, confusion matrix),\n"
                    + "classify TSVs (calls per label), long-context TSVs (bits/sample against context), .bedGraph (score\n"
                    + "track), .wav (spectrogram). --truth CLASS=TSV names calls of sequences known to be CLASS; two classes\n"
                    + "give a ROC curve (score: p of the second class).\n"
                    + "Beside OUT.html: OUT_mqc.json (a MultiQC custom-content table of headline numbers) and, with training\n"
                    + "curves, OUT_loss_mqc.json (a MultiQC line graph).\n\n"
                    + "example: ssmtk report html --input runs/cls --input calls.tsv --output report.html";
        }

        static final Opt<Path> INPUT = Opt.input("input", "DIR|FILE", "a run folder or output file to report on (repeat for more)").required()
                .repeatable();
        static final Opt<String> TRUTH = Opt.labeledInput("truth", "NAME=FILE", "calls TSV of sequences of known class NAME, for a ROC curve (repeat)");
        static final Opt<String> TITLE = Opt.string("title", "TEXT", "page title").byDefault("ssmtk report");
        static final Opt<Path> OUTPUT = Opt.output("output", "OUT.html", "the HTML file to write").required();

        public List<Opt<?>> options() {
            return List.of(INPUT, TRUTH, TITLE, OUTPUT);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            Path output = OUTPUT.get(cl);
            if (!output.getFileName().toString().matches(".*\\.html?")) throw new UsageException("--output " + output + ": name it *.html");
            List<Path> inputs = new ArrayList<>(INPUT.all(cl));
            Map<String, List<Path>> truth = new LinkedHashMap<>();
            for (String v : TRUTH.all(cl)) {
                int eq = v.indexOf('=');
                if (eq <= 0 || eq == v.length() - 1) throw new UsageException("--truth wants NAME=FILE, got '" + v + "'");
                truth.computeIfAbsent(v.substring(0, eq), k -> new ArrayList<>()).add(Path.of(v.substring(eq + 1)));
            }
            HtmlReport.Summary s = HtmlReport.write(TITLE.get(cl), inputs, truth, output, Main.version());
            out.println("report: " + output + " (" + s.sections() + " sections, " + s.charts() + " charts; MultiQC: "
                    + output.getFileName().toString().replaceFirst("\\.html?$", "") + "_mqc.json)");
            return Main.OK;
        }
    }

    static final class Plot implements Command {
        public String name() { return "plot"; }

        public String summary() { return "a TSV of numbers as a line chart (PNG): first column x, every other column a line"; }

        public String footer() {
            return "The TSV's first line names the columns; the first column is x, each further column one line\n"
                    + "(its name the legend). Cells are numbers; '-', 'NA' or empty leave that point out.\n\n"
                    + "example: ssmtk report plot --table accuracy.tsv --output accuracy.png --log-x --y-label accuracy";
        }

        static final Opt<Path> TABLE = Opt.input("table", "TSV", "the numbers: a header line, x in the first column").required();
        static final Opt<Path> OUTPUT = Opt.output("output", "OUT.png", "the PNG to write").required();
        static final Opt<String> TITLE = Opt.string("title", "TEXT", "chart title").byDefault("");
        static final Opt<String> X_LABEL = Opt.string("x-label", "TEXT", "x axis title").defaultIs("the first column's name");
        static final Opt<String> Y_LABEL = Opt.string("y-label", "TEXT", "y axis title").byDefault("");
        static final Opt<Boolean> LOG_X = Opt.flag("log-x", "logarithmic x axis");

        public List<Opt<?>> options() {
            return List.of(TABLE, OUTPUT, TITLE, X_LABEL, Y_LABEL, LOG_X);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            Path table = TABLE.get(cl), output = OUTPUT.get(cl);
            if (!output.getFileName().toString().endsWith(".png")) throw new UsageException("--output " + output + ": name it *.png");
            List<String> lines = java.nio.file.Files.readAllLines(table).stream().filter(l -> !l.isBlank()).toList();
            if (lines.size() < 2) throw new UsageException(table + ": wants a header line and at least one row of numbers");
            String[] header = lines.get(0).split("\t", -1);
            if (header.length < 2) throw new UsageException(table + ": the header names x and at least one line, tab-separated");
            int rows = lines.size() - 1;
            double[][] v = new double[header.length][rows];
            for (int r = 0; r < rows; r++) {
                String[] cells = lines.get(r + 1).split("\t", -1);
                if (cells.length != header.length)
                    throw new UsageException(table + " line " + (r + 2) + ": " + cells.length + " cells, the header has " + header.length);
                for (int c = 0; c < cells.length; c++) v[c][r] = number(cells[c].trim(), table, r + 2, c == 0);
            }
            org.ssmtk.workflows.report.Charts.Lines chart = new org.ssmtk.workflows.report.Charts.Lines(TITLE.get(cl),
                    X_LABEL.get(cl, header[0]), Y_LABEL.get(cl)).markers();
            if (LOG_X.get(cl)) chart.logX();
            for (int c = 1; c < header.length; c++) {
                List<double[]> pts = new ArrayList<>();
                for (int r = 0; r < rows; r++) if (!Double.isNaN(v[c][r])) pts.add(new double[]{v[0][r], v[c][r]});
                if (pts.isEmpty()) continue;
                chart.add(header[c], pts.stream().mapToDouble(p -> p[0]).toArray(), pts.stream().mapToDouble(p -> p[1]).toArray());
            }
            try {
                chart.writePng(output);
            } catch (RuntimeException | LinkageError | InternalError e) {
                // a headless machine without fonts (the Java runtime finds no fontconfig): the machine's to fix, not a bug
                String why = e.getMessage() == null ? e.toString() : e.getMessage().lines().findFirst().orElse("");
                throw new IOException(output + ": cannot draw the chart here (" + why + "); a Java with fonts (fontconfig and a"
                        + " font package) can draw " + table + " later");
            }
            out.println("plot: " + output + " (" + (header.length - 1) + " lines, " + rows + " points each at most)");
            return Main.OK;
        }

        /** A cell's number; a missing point is NaN, but x may not be missing. */
        private static double number(String cell, Path table, int line, boolean x) throws UsageException {
            if (!x && (cell.isEmpty() || cell.equals("-") || cell.equals("NA"))) return Double.NaN;
            try {
                double d = Double.parseDouble(cell);
                if (Double.isFinite(d)) return d;
            } catch (NumberFormatException e) {
                // reported below
            }
            throw new UsageException(table + " line " + line + ": '" + cell + "' is not a number" + (x ? " (x may not be missing)" : ""));
        }
    }
}
