package org.ssmtk.cli;

import org.apache.commons.cli.CommandLine;
import org.ssmtk.workflows.descriptor.Workflow;
import org.ssmtk.workflows.descriptor.WorkflowException;
import org.ssmtk.workflows.descriptor.WorkflowParser;
import org.ssmtk.workflows.nextflow.NextflowExport;
import org.ssmtk.workflows.runner.WorkflowRunner;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;


/** {@code ssmtk workflow run|validate|graph}: YAML descriptors that chain ssmtk commands. */
final class WorkflowCommands {
    static final String GROUP = "workflow";

    private WorkflowCommands() {}

    /** Commands that take the descriptor as a bare argument (Main rejects bare arguments for the rest). */
    interface TakesFile extends Command {}

    static CommandGroup group() {
        return new CommandGroup(GROUP, "run, validate and draw YAML workflows that chain ssmtk commands",
                List.of(new Run(), new Validate(), new Graph(), new Export(), new Schema()));
    }

    static final String FORMAT = "A descriptor names steps; each runs one ssmtk command (op: group.command) with params as its\n"
            + "options (key: value; a list repeats the option; true/false for flags) after the steps it needs:\n\n"
            + "  name: demo\n"
            + "  inputs: [../data]              # folders outside this one that steps may read\n"
            + "  steps:\n"
            + "    - id: train\n"
            + "      op: dna.train-classifier\n"
            + "      params: {class: [A=../data/a.fa, B=../data/b.fa], out: run, steps: 20}\n"
            + "    - id: classify\n"
            + "      op: dna.classify\n"
            + "      needs: [train]\n"
            + "      params:\n"
            + "        model: ${train}/run/model   # a file in step train's work directory\n"
            + "        fasta: ../data/a.fa\n"
            + "        output: a.tsv\n\n"
            + "Input paths resolve against the descriptor's folder and may not leave it unless under 'inputs';\n"
            + "outputs (--out, --output) resolve inside WORK/ID.";

    static final Opt<String> PARAM = Opt.string("param", "STEP.PARAM=VALUE",
            "override a step's param (repeat; several for one param make a list; flags take true/false)").repeatable();

    /** Reads the descriptor, turning its one-line problems into usage errors. */
    static Workflow load(CommandLine cl) throws Exception {
        if (cl.getArgList().size() != 1) throw new UsageException("give one descriptor FILE.yaml");
        try {
            return WorkflowParser.parse(Path.of(cl.getArgList().getFirst()), new WorkflowOps(), PARAM.all(cl));
        } catch (WorkflowException e) {
            throw new UsageException(e.getMessage());
        }
    }

    static final class Run implements TakesFile {
        public String name() { return "run"; }

        public String summary() { return "run FILE.yaml's steps in dependency order, caching each by op, params and input contents"; }

        public String footer() {
            return FORMAT + "\n\nStep ID logs to WORK/ID.log; WORK/" + WorkflowRunner.LOG + " records every step's start, end, status,\n"
                    + "exit code, outputs and cache key. --resume skips steps whose key matches a completed record and\n"
                    + "whose outputs exist. A failed step stops the run; what earlier steps wrote stays. --cpus N runs\n"
                    + "independent steps at once (a step takes as many CPUs as its threads param); --param STEP.PARAM=VALUE\n"
                    + "overrides a descriptor value. Descriptors are checked against the JSON Schema (ssmtk workflow schema).\n\n"
                    + "example: ssmtk workflow run workflows/examples/dna-species.yaml --work wf-run --cpus 2 --resume";
        }

        static final Opt<Path> WORK = Opt.output("work", "DIR", "work directory: one folder per step, logs and " + WorkflowRunner.LOG)
                .byDefault(Path.of("ssmtk-work"));
        static final Opt<Boolean> RESUME = Opt.flag("resume", "skip steps already completed with the same op, params and inputs");
        static final Opt<Integer> CPUS = Opt.positiveInt("cpus", "N", "CPU slots for steps running at once; a step takes as many as its threads param")
                .byDefault(1);

        public List<Opt<?>> options() {
            return List.of(WORK, RESUME, CPUS, PARAM);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            Workflow wf = load(cl);
            Path work = WORK.get(cl);
            try {
                int cpus = CPUS.get(cl);
                var outcomes = new WorkflowRunner(wf, work, Main::run, err).run(RESUME.get(cl), cpus);
                long cached = outcomes.stream().filter(o -> o.status() == WorkflowRunner.Status.CACHED).count();
                out.println("workflow " + wf.name() + ": " + outcomes.size() + " steps done (" + cached + " cached); log: " + work.resolve(WorkflowRunner.LOG));
                return Main.OK;
            } catch (WorkflowException e) {
                throw new UsageException(e.getMessage());
            }
        }
    }

    static final class Validate implements TakesFile {
        public String name() { return "validate"; }

        public String summary() { return "check FILE.yaml (keys, types, ops and their params, needs, cycles, paths) without running it"; }

        public String footer() { return FORMAT; }

        public List<Opt<?>> options() { return List.of(PARAM); }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            Workflow wf = load(cl);
            out.println(cl.getArgList().getFirst() + ": ok, workflow " + wf.name() + ", " + wf.steps().size() + " steps: "
                    + String.join(" -> ", wf.steps().stream().map(s -> s.id()).toList()));
            return Main.OK;
        }
    }

    static final class Graph implements TakesFile {
        public String name() { return "graph"; }

        public String summary() { return "print FILE.yaml's step graph as Mermaid or DOT text, and/or draw it to a PNG"; }

        public String footer() {
            return "example: ssmtk workflow graph workflows/examples/dna-species.yaml --format dot --png dag.png";
        }

        static final Opt<String> FORMAT_OPT = Opt.string("format", "mermaid|dot", "text printed on stdout").byDefault("mermaid");
        static final Opt<Path> PNG = Opt.output("png", "OUT.png", "also draw the graph to this PNG (Java2D; no Graphviz needed)");

        public List<Opt<?>> options() {
            return List.of(FORMAT_OPT, PNG, PARAM);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            String format = FORMAT_OPT.get(cl);
            if (!format.equals("mermaid") && !format.equals("dot")) throw new UsageException("--format must be mermaid or dot, not '" + format + "'");
            Workflow wf = load(cl);
            if (PNG.given(cl)) org.ssmtk.workflows.report.GraphImage.writePng(wf, PNG.get(cl));
            out.print(format.equals("dot") ? wf.dot() : wf.mermaid());
            return Main.OK;
        }
    }

    static final class Export implements TakesFile {
        public String name() { return "export"; }

        public String summary() { return "write FILE.yaml as a Nextflow DSL2 pipeline that calls ssmtk (one module per step)"; }

        public String footer() {
            return "DIR gets main.nf, nextflow.config (every descriptor value as a param: --<step>_<param> overrides it)\n"
                    + "and modules/local/<step>/main.nf (nf-core style: meta map, versions.yml, stub block). Input paths\n"
                    + "become absolute params; ${ID}/path references become joins on step ID's output channel.\n"
                    + "--scatter runs each dna score and dna classify step as one task per shard of its FASTA (planned from\n"
                    + "FASTA.fai: one per contig, or N-base pieces), each dna classify-reads step per shard of its sorted, indexed\n"
                    + "BAM/CRAM (@SQ pieces, then the unplaced reads) and each dna score-variants step per shard of its VCF\n"
                    + "(pieces holding records), the last two listed by a planning task (ssmtk scatter plan); --scatter-clips N\n"
                    + "runs each audio score step as one task per N clips. Each step's parts are joined by ssmtk gather into the\n"
                    + "files one task writes, byte for byte (a BAM's header text and @PG lines kept, a VCF's index rebuilt).\n\n"
                    + "example: ssmtk workflow export --nextflow nf-dna workflows/examples/dna-classify.yaml\n"
                    + "         nextflow run nf-dna -stub-run && nextflow run nf-dna --outdir results";
        }

        static final Opt<Path> NEXTFLOW = Opt.output("nextflow", "DIR", "folder to write the pipeline to (must not exist or be empty)").required();
        static final Opt<String> SCATTER = Opt.string("scatter", "contigs|N",
                "split dna score, classify, classify-reads and score-variants steps into one task per contig or per N bases");
        static final Opt<Integer> SCATTER_CLIPS = Opt.positiveInt("scatter-clips", "N", "split audio score steps into one task per N clips");

        public List<Opt<?>> options() {
            return List.of(NEXTFLOW, PARAM, SCATTER, SCATTER_CLIPS);
        }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            Workflow wf = load(cl);
            Path dir = NEXTFLOW.get(cl);
            try {
                String scatter = SCATTER.given(cl) ? SCATTER.get(cl) : null;
                if (scatter != null && !scatter.equals("contigs") && !scatter.matches("[1-9][0-9]{0,17}"))
                    throw new UsageException("--scatter: '" + scatter + "' is not 'contigs' or a positive number of bases");
                NextflowExport.write(wf, dir, Main.version(), scatter, SCATTER_CLIPS.given(cl) ? SCATTER_CLIPS.get(cl).toString() : null);
            } catch (WorkflowException e) {
                throw new UsageException(e.getMessage());
            }
            out.println("workflow " + wf.name() + ": Nextflow pipeline with " + wf.steps().size() + " modules written to " + dir
                    + " (nextflow run " + dir + " -stub-run for a dry run)");
            return Main.OK;
        }
    }

    static final class Schema implements Command {
        public String name() { return "schema"; }

        public String summary() { return "print the descriptors' JSON Schema with every op and its params (for editors and CI)"; }

        public String footer() {
            return "The structure is workflows/src/main/resources" + org.ssmtk.workflows.descriptor.DescriptorSchema.RESOURCE + "; this adds the ops\n"
                    + "of this ssmtk build. validate, run, graph and export check descriptors against the same schema.\n\n"
                    + "example: ssmtk workflow schema > workflow.schema.json   (YAML language server: # yaml-language-server: $schema=workflow.schema.json)";
        }

        public List<Opt<?>> options() { return List.of(); }

        public int run(CommandLine cl, PrintStream out, PrintStream err) throws Exception {
            out.println(new com.fasterxml.jackson.databind.ObjectMapper().writerWithDefaultPrettyPrinter()
                    .writeValueAsString(org.ssmtk.workflows.descriptor.DescriptorSchema.full(new WorkflowOps())));
            return Main.OK;
        }
    }
}
