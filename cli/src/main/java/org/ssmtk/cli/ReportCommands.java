package org.ssmtk.cli;

import org.apache.commons.cli.CommandLine;
import org.ssmtk.workflows.report.HtmlReport;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;


/** {@code ssmtk report html}: one self-contained HTML page (plus MultiQC files) over what runs wrote. */
final class ReportCommands {
    private ReportCommands() {}

    static CommandGroup group() {
        return new CommandGroup("report", "reports over what other commands wrote (self-contained HTML, MultiQC JSON)", List.of(new Html()));
    }

    static final class Html implements Command {
        public String name() { return "html"; }

        public String summary() { return "one self-contained HTML report (inline charts) of runs' metrics, evaluations, calls, scores and audio"; }

        public String footer() {
            return "Each --input (a file, or a folder searched 4 levels deep) contributes what it holds: run.json (a workflow's\n"
                    + "steps), metrics.jsonl (training curve), eval.json (held-out metrics, per-class table, confusion matrix),\n"
                    + "classify TSVs (calls per label), .bedGraph (score track), .wav (spectrogram). --truth CLASS=TSV names calls\n"
                    + "of sequences known to be CLASS; two classes give a ROC curve (score: p of the second class).\n"
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
}
