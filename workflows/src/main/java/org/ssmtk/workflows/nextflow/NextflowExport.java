package org.ssmtk.workflows.nextflow;

import org.ssmtk.workflows.descriptor.ParamSpec;
import org.ssmtk.workflows.descriptor.ParamSpec.Kind;
import org.ssmtk.workflows.descriptor.Step;
import org.ssmtk.workflows.descriptor.Workflow;
import org.ssmtk.workflows.descriptor.WorkflowException;
import org.ssmtk.workflows.descriptor.WorkflowParser;

import org.ssmtk.core.io.AtomicFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.stream.Stream;

/**
 * Writes a descriptor as a Nextflow DSL2 pipeline that calls the {@code ssmtk} CLI, so the same steps
 * run on any Nextflow executor. The layout follows nf-core: {@code main.nf} wires the steps,
 * {@code modules/local/<step>/main.nf} holds one process per step (a {@code meta} map travels with
 * every file, and a {@code stub:} block makes {@code -stub-run}
 * dry runs possible), and {@code nextflow.config} carries the descriptor's values as {@code params}
 * (overridable with {@code --<step>_<param>}) that reach the command through {@code ext.args}, as
 * nf-core's modules.config does. File inputs are params without a default (the exporting machine's
 * paths mean nothing elsewhere): each comes from {@code --<param>} or a samplesheet column, and the
 * export writes {@code samplesheet.csv} naming the descriptor's own files relative to the pipeline
 * folder. {@code ${ID}/rest} references become channel joins on the upstream process's output.
 * Versions travel on the {@code versions} topic, each module has a conda {@code environment.yml},
 * and a run folder is published without its checkpoints.
 */
public final class NextflowExport {
    private final Workflow wf;
    private final String version;
    private final Map<String, String> paramNames = new HashMap<>(); // Nextflow name -> step.param it came from
    /** null: one task per step; "contigs" or a number of bases: the genome-wide steps run one task per shard. */
    private final String scatter;
    /** null: audio score runs as one task; a number: one task per that many clips. */
    private final String scatterClips;
    /** Where the pipeline will live: samplesheet.csv names the descriptor's files relative to it. */
    private final Path home;
    /**
     * Where a scattered step's shards come from: a FASTA's .fai, read by main.nf itself (dna score and
     * classify: shards of the genome), or a planning task ({@code ssmtk scatter plan}) over the file the
     * shards split, whose content decides them: a BAM/CRAM's @SQ lines, the contigs and positions a VCF
     * holds, the clips of a manifest or folder.
     */
    enum Plan { FASTA, READS, VCF, CLIPS }

    /** An op that can run as shards (its command takes --shard), the option naming the file its shards split, and how they are planned. */
    record Scatterable(List<String> options, Plan plan) {}

    static final Map<String, Scatterable> SCATTERABLE = Map.of(
            "dna.score", new Scatterable(List.of("fasta"), Plan.FASTA),
            "dna.classify", new Scatterable(List.of("fasta"), Plan.FASTA),
            "dna.classify-reads", new Scatterable(List.of("input"), Plan.READS),
            "dna.score-variants", new Scatterable(List.of("vcf"), Plan.VCF),
            "audio.score", new Scatterable(List.of("manifest", "input"), Plan.CLIPS));

    /** The {@code ssmtk gather} kind that joins an output's parts, by its name; null: none can. */
    static String gatherKind(String path) {
        String n = path.toLowerCase(Locale.ROOT);
        if (n.endsWith(".bedgraph")) return "bedgraph";
        if (n.endsWith(".tsv")) return "tsv";
        if (n.endsWith(".bam")) return "bam";
        if (n.endsWith(".vcf.gz") || n.endsWith(".vcf.bgz")) return "vcf";
        return null;
    }

    /**
     * One path a step reads, staged under its own folder {@code var}: a file (a params entry {@code param}
     * holding the absolute path {@code value}) or an upstream output ({@code upstream}'s channel
     * {@code emit}, plus {@code rest} below it).
     */
    private record Slot(String option, String var, String label, String param, String value, String upstream, String emit, String rest) {}

    /** One path a step writes: its name in the task folder and the channel it is emitted on. */
    private record Output(String path, String emit, boolean directory) {}

    private NextflowExport(Workflow wf, String version, String scatter, String scatterClips, Path home) {
        if (scatter != null && !scatter.equals("contigs") && !scatter.matches("[1-9][0-9]{0,17}"))
            throw new IllegalArgumentException("scatter must be 'contigs' or a number of bases, got '" + scatter + "'");
        if (scatterClips != null && !scatterClips.matches("[1-9][0-9]{0,8}"))
            throw new IllegalArgumentException("scatter-clips must be a positive number of clips, got '" + scatterClips + "'");
        this.wf = wf;
        this.version = version;
        this.scatter = scatter;
        this.scatterClips = scatterClips;
        this.home = home.toAbsolutePath().normalize();
    }

    /**
     * Writes the pipeline to {@code dir}, which must not exist or be empty; everything is written to a
     * sibling temporary folder first and renamed, so a failure leaves no half pipeline behind.
     */
    public static void write(Workflow wf, Path dir, String ssmtkVersion) throws WorkflowException, IOException {
        write(wf, dir, ssmtkVersion, null);
    }

    /**
     * As {@link #write(Workflow, Path, String)}, with the scatterable steps ({@link #SCATTERABLE}) split
     * into one task per shard of their FASTA ({@code "contigs"}: one per contig; a number: shards of
     * that many bases, from the FASTA's .fai) and their outputs gathered into the file an unsplit task
     * writes; {@code null}: no scatter.
     */
    public static void write(Workflow wf, Path dir, String ssmtkVersion, String scatter) throws WorkflowException, IOException {
        write(wf, dir, ssmtkVersion, scatter, null);
    }

    /**
     * As {@link #write(Workflow, Path, String, String)}, with audio score steps also split, into shards of
     * {@code scatterClips} clips ({@code null}: not split).
     */
    public static void write(Workflow wf, Path dir, String ssmtkVersion, String scatter, String scatterClips) throws WorkflowException, IOException {
        Path target = dir.toAbsolutePath().normalize();
        Map<String, String> files = new NextflowExport(wf, ssmtkVersion, scatter, scatterClips, target).files();
        if (Files.exists(target)) {
            if (!Files.isDirectory(target)) throw new WorkflowException(target + ": exists and is not a folder");
            try (Stream<Path> s = Files.list(target)) {
                if (s.findAny().isPresent()) throw new WorkflowException(target + ": folder is not empty (export writes a fresh pipeline)");
            }
        }
        AtomicFiles.writeDirectory(target, tmp -> {
            for (Map.Entry<String, String> e : files.entrySet()) {
                Path f = tmp.resolve(e.getKey());
                Files.createDirectories(f.getParent());
                Files.writeString(f, e.getValue(), StandardCharsets.UTF_8);
            }
        });
    }

    /** The pipeline's files by relative path. */
    public static Map<String, String> files(Workflow wf, String ssmtkVersion) throws WorkflowException {
        return files(wf, ssmtkVersion, null);
    }

    /** The pipeline's files by relative path, scattered as in {@link #write(Workflow, Path, String, String)}. */
    public static Map<String, String> files(Workflow wf, String ssmtkVersion, String scatter) throws WorkflowException {
        return files(wf, ssmtkVersion, scatter, Path.of(""));
    }

    /** As {@link #files(Workflow, String, String)}, for a pipeline that will live in {@code home}. */
    public static Map<String, String> files(Workflow wf, String ssmtkVersion, String scatter, Path home) throws WorkflowException {
        return files(wf, ssmtkVersion, scatter, null, home);
    }

    /** As {@link #files(Workflow, String, String, Path)}, audio score steps split into shards of {@code scatterClips} clips. */
    public static Map<String, String> files(Workflow wf, String ssmtkVersion, String scatter, String scatterClips, Path home) throws WorkflowException {
        return new NextflowExport(wf, ssmtkVersion, scatter, scatterClips, home).files();
    }

    private boolean scattered(Step s) {
        Scatterable sc = SCATTERABLE.get(s.op());
        return sc != null && (sc.plan() == Plan.CLIPS ? scatterClips != null : scatter != null);
    }

    /** A scattered step whose shards a planning task lists (not main.nf from a .fai). */
    private boolean planned(Step s) {
        return scattered(s) && SCATTERABLE.get(s.op()).plan() != Plan.FASTA;
    }

    /** The file param the shards of a scattered step split (its FASTA, BAM/CRAM, VCF, manifest or clip folder). */
    private Slot shardSource(Step s, List<Slot> slots) throws WorkflowException {
        Scatterable sc = SCATTERABLE.get(s.op());
        Slot found = slots.stream().filter(x -> sc.options().contains(x.option())).findFirst().orElse(null);
        if (found == null || found.param() == null)
            throw new WorkflowException(wf.file() + ":" + s.line() + ": step '" + s.id() + "': --scatter needs its " + String.join(" or ", sc.options())
                    + " as a file (the shards are planned from it before the step's tasks run), not another step's output");
        return found;
    }

    /**
     * Whether a slot is an audio manifest given as a file: a TSV naming WAVs by paths relative to its own
     * folder, which a task can only read if those WAVs are staged too (main.nf lists them at run time,
     * {@code ssmtkManifestClips}, so a samplesheet's other manifests work as well as the descriptor's).
     */
    private static boolean manifest(Step s, Slot slot) {
        return s.op().startsWith("audio.") && slot.option().endsWith("manifest") && slot.param() != null;
    }

    /** The inputs a manifest slot adds after its file and indexes: its clips, one staged folder each, and where they go. */
    private static String manifestInputs(String var) {
        return ", path(" + var + "_clips, stageAs: '" + var + "_clips/?/*'), val(" + var + "_layout)";
    }

    /**
     * Groovy for a script block: links each staged clip of manifest slot {@code var} at the path the
     * manifest names it by, relative to the manifest (and the manifest itself deeper when paths climb
     * with '..'), so ssmtk reads the manifest unchanged. {@code var_at} is the manifest to pass, and
     * {@code var_tree} the shell lines.
     */
    private static String manifestLinks(String var) {
        return """
                    // @V@: the clips its manifest lists, staged one per folder (names may repeat), linked at the
                    // paths the manifest gives relative to itself, so that it is read unchanged
                    def @V@_from = (@V@_clips instanceof Collection ? @V@_clips.toList() : [@V@_clips]).collect { it.toString() }
                    def @V@_pairs = [@V@_from, @V@_layout.clips.collect { '@V@/' + it }].transpose()
                    def @V@_at = '@V@/' + @V@_layout.manifest
                    if (@V@_at != @V@.toString()) @V@_pairs << [@V@.toString(), @V@_at]
                    def @V@_tree = @V@_pairs.collect { from, to -> "mkdir -p ${ssmtkQuote(to.substring(0, to.lastIndexOf('/')))} && ln -s ${ssmtkQuote('../' * to.count('/') + from)} ${ssmtkQuote(to)}" }.join('\\n    ')
                """.replace("@V@", var);
    }

    /** The shell quoting closure the manifest links use (defined once per script block). */
    private static final String QUOTE = "    def ssmtkQuote = { x -> \"'\" + x.toString().replace(\"'\", \"'\\\\''\") + \"'\" }\n";

    /** The process whose output channels later steps read: the gather of a scattered step. */
    private String producer(Step s) {
        return processName(s) + (scattered(s) ? "_GATHER" : "");
    }

    private Map<String, String> files() throws WorkflowException {
        Map<String, List<Slot>> slots = new LinkedHashMap<>();
        Map<String, List<Output>> outputs = new LinkedHashMap<>();
        for (Step s : wf.steps()) outputs.put(s.id(), outputs(s));
        for (Step s : wf.steps()) slots.put(s.id(), slots(s, outputs));

        Map<String, String> files = new LinkedHashMap<>();
        StringBuilder params = new StringBuilder();
        StringBuilder process = new StringBuilder();
        for (Step s : wf.steps()) {
            files.put("modules/local/" + dirName(s) + "/main.nf", module(s, slots.get(s.id()), outputs.get(s.id())));
            files.put("modules/local/" + dirName(s) + "/environment.yml", environment(
                    "the JDK that runs ssmtk; ssmtk itself is not a conda package: its bin/ssmtk must be on PATH", "conda-forge::openjdk=25"));
            if (scattered(s)) {
                Slot source = shardSource(s, slots.get(s.id()));
                String jdk = "the JDK that runs ssmtk; ssmtk itself is not a conda package: its bin/ssmtk must be on PATH";
                files.put("modules/local/" + dirName(s) + "_gather/main.nf", gatherModule(s, outputs.get(s.id())));
                files.put("modules/local/" + dirName(s) + "_gather/environment.yml", environment(jdk, "conda-forge::openjdk=25"));
                if (planned(s)) {
                    files.put("modules/local/" + dirName(s) + "_plan/main.nf", planModule(s, source));
                    files.put("modules/local/" + dirName(s) + "_plan/environment.yml", environment(jdk, "conda-forge::openjdk=25"));
                }
                if (SCATTERABLE.get(s.op()).plan() == Plan.CLIPS)
                    params.append("    ").append(identifier(s.id())).append("_scatter = ").append(scatterClips).append("   // clips per shard\n");
                else params.append("    ").append(identifier(s.id())).append("_scatter = ")
                        .append(scatter.equals("contigs") ? "'contigs'" : scatter).append("   // 'contigs' or bases per shard\n");
            }
            for (Slot slot : slots.get(s.id()))
                if (slot.param() != null && params.indexOf("    " + slot.param() + " = ") < 0)
                    params.append("    ").append(slot.param()).append(" = null   // a file: --").append(slot.param())
                            .append(" PATH, or a samplesheet column\n");
            process.append(processConfig(s, params));
        }
        files.put("main.nf", main(slots));
        files.put("samplesheet.csv", samplesheet(slots));
        String config = config(params.toString(), process.toString());
        files.put("nextflow.config", config);
        java.util.Set<String> fileParams = new java.util.HashSet<>();
        for (List<Slot> l : slots.values()) for (Slot slot : l) if (slot.param() != null) fileParams.add(slot.param());
        String block = config.substring(config.indexOf("params {\n") + 9, config.indexOf("\n}\n", config.indexOf("params {\n")));
        files.put("nextflow_schema.json", NextflowSchema.of(wf.name(), "ssmtk workflow " + wf.name() + " (exported from " + wf.file().getFileName() + ")",
                block, fileParams));
        return files;
    }

    private List<Output> outputs(Step s) throws WorkflowException {
        List<Output> out = new ArrayList<>();
        Map<String, ParamSpec> spec = wf.specs().get(s.op());
        for (Map.Entry<String, Object> e : s.params().entrySet()) {
            if (spec.get(e.getKey()).kind() != Kind.OUTPUT) continue;
            for (Object o : (List<?>) e.getValue()) {
                String path = Path.of((String) o).normalize().toString();
                // ssmtk's --out names a run folder, every other output option a file; a name with an extension is a file anyway
                out.add(new Output(path, identifier(path), e.getKey().equals("out") && !Path.of(path).getFileName().toString().contains(".")));
            }
        }
        for (int i = 0; i < out.size(); i++)
            for (int j = 0; j < i; j++)
                if (out.get(i).emit().equals(out.get(j).emit()))
                    throw new WorkflowException(wf.file() + ":" + s.line() + ": step '" + s.id() + "': outputs '" + out.get(j).path() + "' and '"
                            + out.get(i).path() + "' would both be emitted as '" + out.get(i).emit() + "' in Nextflow; rename one");
        return out;
    }

    private List<Slot> slots(Step s, Map<String, List<Output>> outputs) throws WorkflowException {
        List<Slot> out = new ArrayList<>();
        Map<String, ParamSpec> spec = wf.specs().get(s.op());
        for (Map.Entry<String, Object> e : s.params().entrySet()) {
            ParamSpec p = spec.get(e.getKey());
            if (p.kind() != Kind.INPUT && p.kind() != Kind.LABELED_INPUT) continue;
            List<?> list = (List<?>) e.getValue();
            for (int i = 0; i < list.size(); i++) {
                String v = (String) list.get(i), label = null;
                if (p.kind() == Kind.LABELED_INPUT) {
                    label = v.substring(0, v.indexOf('='));
                    v = v.substring(v.indexOf('=') + 1);
                }
                String var = variable(identifier(e.getKey()) + (list.size() > 1 ? "_" + (i + 1) : ""));
                String where = wf.file() + ":" + s.line() + ": step '" + s.id() + "': param '" + e.getKey() + "' ";
                Matcher m = WorkflowParser.REF.matcher(v);
                if (m.matches()) {
                    String up = m.group(1), rest = m.group(2) == null ? "" : Path.of(m.group(2).substring(1)).normalize().toString();
                    Output from = null;
                    for (Output o : outputs.get(up))
                        if (rest.equals(o.path()) || rest.startsWith(o.path() + "/")) from = o;
                    if (from == null)
                        throw new WorkflowException(where + "'" + v + "' is not inside an output (--out/--output) of step '" + up
                                + "'; Nextflow can only pass declared outputs between steps");
                    out.add(new Slot(e.getKey(), var, label, null, null, up, from.emit(), rest.substring(from.path().length())));
                } else {
                    String absolute = WorkflowParser.resolveInput(wf, s, v, where, null).toString();
                    out.add(new Slot(e.getKey(), var, label, paramName(s, var), absolute, null, null, ""));
                }
            }
        }
        return out;
    }

    private String paramName(Step s, String var) throws WorkflowException {
        String name = identifier(s.id()) + "_" + var;
        String before = paramNames.putIfAbsent(name, s.id() + "." + var);
        if (before != null && !before.equals(s.id() + "." + var))
            throw new WorkflowException(wf.file() + ":" + s.line() + ": step '" + s.id() + "': its Nextflow parameter '" + name + "' clashes with "
                    + before + "'s; rename one of the steps");
        return name;
    }

    private String module(Step s, List<Slot> slots, List<Output> outputs) {
        String[] op = s.op().split("\\.", 2);
        Map<String, ParamSpec> spec = wf.specs().get(s.op());
        StringBuilder in = new StringBuilder("tuple val(meta)"), links = new StringBuilder();
        for (Slot slot : slots) {
            in.append(", path(").append(slot.var()).append(", stageAs: '").append(slot.var()).append("/*')");
            // a file param's indexes (.fai, .gzi, .bai, .crai, ...: whichever exist) land in the same folder, beside it;
            // main.nf sends them right after the file, so the declaration follows it too
            if (slot.param() != null) in.append(", path(").append(slot.var()).append("_index, stageAs: '").append(slot.var()).append("/*')");
            if (manifest(s, slot)) {
                in.append(manifestInputs(slot.var()));
                links.append(manifestLinks(slot.var()));
            }
        }
        if (!links.isEmpty()) links.insert(0, QUOTE);
        // Every word that reaches the shell is single-quoted: descriptor values are checked to be plain
        // file names, but staged names come from whatever files params point to at run time.
        StringBuilder cmd = new StringBuilder("ssmtk ").append(op[0]).append(' ').append(op[1]).append(" \\\\\n");
        for (Slot slot : slots) {
            if (manifest(s, slot)) {   // the manifest where its clips' paths resolve (see manifestLinks)
                cmd.append("        --").append(slot.option()).append(" ${ssmtkQuote(").append(slot.var()).append("_at)} \\\\\n");
                continue;
            }
            cmd.append("        --").append(slot.option()).append(" '").append(script(shellInQuotes((slot.label() == null ? "" : slot.label() + "="))))
                    .append("${").append(slot.var()).append(".toString().replace(\"'\", \"'\\\\''\")}")
                    .append(script(shellInQuotes(slot.rest()))).append("' \\\\\n");
        }
        for (Output o : outputs) cmd.append("        --").append(outputParam(s, o)).append(' ').append(shellWord(o.path())).append(" \\\\\n");
        if (spec.containsKey("threads")) cmd.append("        --threads ${task.cpus} \\\\\n");
        if (scattered(s)) cmd.append("        ${meta.shard ? \"--shard '${meta.shard.replace(\"'\", \"'\\\\''\")}'\" : ''} \\\\\n");
        cmd.append("        $args");
        StringBuilder prepare = new StringBuilder(), stub = new StringBuilder();
        for (Output o : outputs) {
            Path parent = Path.of(o.path()).getParent();
            if (parent != null) prepare.append("    mkdir -p ").append(shellWord(parent.toString())).append('\n');
            stub.append(o.directory() ? "    mkdir -p " + shellWord(o.path()) + "\n"
                    : "    mkdir -p " + shellWord(parent == null ? "." : parent.toString()) + " && touch " + shellWord(o.path()) + "\n");
        }
        StringBuilder outDecl = new StringBuilder();
        for (Output o : outputs) outDecl.append("    tuple val(meta), path(").append(groovy(o.path())).append("), emit: ").append(o.emit()).append('\n');
        // report.html writes its MultiQC files beside the page; publish them too (MultiQC picks up *_mqc.json)
        boolean report = s.op().equals("report.html") && outputs.size() == 1;
        String mqc = report ? outputs.getFirst().path().replaceFirst("\\.html?$", "") + "*_mqc.json" : null;
        if (report) {
            outDecl.append("    tuple val(meta), path(").append(groovy(mqc)).append("), emit: mqc\n");
            stub.append("    touch ").append(shellWord(mqc.replace("*", ""))).append('\n');
        }
        // a run folder is published as results: its checkpoints (for resuming this training outside
        // Nextflow, which caches the whole task instead) and the run lock stay in the task folder
        StringBuilder tidy = new StringBuilder();
        for (Output o : outputs)
            if (o.directory())
                tidy.append("    if [ -d ").append(shellWord(o.path() + "/checkpoints")).append(" ]; then mv ").append(shellWord(o.path() + "/checkpoints"))
                        .append(' ').append(shellWord(".checkpoints_" + o.emit())).append("; fi\n    rm -f ").append(shellWord(o.path() + "/.ssmtk.lock")).append('\n');
        return "// step '" + s.id() + "' of " + wf.file().getFileName() + ": ssmtk " + op[0] + " " + op[1] + ". Generated by ssmtk " + version + " (workflow export --nextflow).\n"
                + "process " + processName(s) + " {\n"
                + "    tag \"${meta.id}" + (scattered(s) ? "${meta.shard ? ' ' + meta.shard : ''}" : "") + "\"\n"
                + "    label 'process_ssmtk'\n"
                + "    conda \"${moduleDir}/environment.yml\"\n\n"
                + "    input:\n    " + in + "\n\n"
                + "    output:\n" + outDecl
                + "    tuple val(\"${task.process}\"), val('ssmtk'), eval('ssmtk --version | sed \"s/^ssmtk //\"'), emit: versions_ssmtk, topic: versions\n\n"
                + "    when:\n    task.ext.when == null || task.ext.when\n\n"
                + "    script:\n    def args = task.ext.args ?: ''\n" + links
                + "    // the JVM's heap from the task's memory, leaving a sixth for the JVM itself and native buffers\n"
                + "    def heap = task.memory ? \"export SSMTK_JAVA_OPTS='-Xmx${(task.memory.toMega() * 5 / 6) as long}m'\" : ''\n"
                + "    \"\"\"\n    ${heap}\n" + prepare + manifestTrees(s, slots) + "    " + cmd + "\n" + tidy + "    \"\"\"\n\n"
                + "    stub:\n    \"\"\"\n" + stub + "    \"\"\"\n"
                + "}\n";
    }

    /** The script lines that build each manifest slot's tree of links ({@link #manifestLinks}). */
    private static String manifestTrees(Step s, List<Slot> slots) {
        StringBuilder b = new StringBuilder();
        for (Slot slot : slots) if (manifest(s, slot)) b.append("    ${").append(slot.var()).append("_tree}\n");
        return b.toString();
    }

    /**
     * The process that gathers a scattered step's shards into the files an unsplit task writes, one
     * {@code ssmtk gather} per output: the parts arrive in shard order (FASTA, header or file order with
     * positions ascending, or clip order), and the gather keeps their shared header once (bedGraph track
     * line, TSV column names, BAM header text with its @PG lines, VCF header) and rebuilds a VCF's index.
     */
    private String gatherModule(Step s, List<Output> outputs) throws WorkflowException {
        StringBuilder in = new StringBuilder("tuple val(meta)"), out = new StringBuilder(), parts = new StringBuilder(), cmd = new StringBuilder(),
                stub = new StringBuilder();
        for (int i = 0; i < outputs.size(); i++) {
            Output o = outputs.get(i);
            String kind = o.directory() ? null : gatherKind(o.path());
            if (kind == null)
                throw new WorkflowException(wf.file() + ":" + s.line() + ": step '" + s.id() + "': --scatter cannot gather its output '" + o.path()
                        + "' (ssmtk gather joins TSV, bedGraph, BAM and bgzipped VCF parts); drop that output or export without --scatter");
            String ext = kind.equals("vcf") ? "vcf.gz" : kind, var = "parts_" + (i + 1);
            in.append(", path(").append(var).append(", stageAs: 'shards_").append(i + 1).append("/?????.").append(ext).append("')");
            out.append("    tuple val(meta), path(").append(groovy(o.path())).append("), emit: ").append(o.emit()).append('\n');
            if (kind.equals("vcf"))
                out.append("    tuple val(meta), path(").append(groovy(o.path() + ".tbi")).append("), emit: ").append(identifier(o.path() + ".tbi")).append('\n');
            parts.append("    def ").append(var).append("_args = (").append(var).append(" instanceof List ? ").append(var).append(" : [").append(var)
                    .append("]).collect { \"--part '${it}'\" }.join(' ')   // one shard arrives as a single path\n");
            Path parent = Path.of(o.path()).getParent();
            if (parent != null) {
                cmd.append("    mkdir -p ").append(shellWord(parent.toString())).append('\n');
                stub.append("    mkdir -p ").append(shellWord(parent.toString())).append('\n');
            }
            cmd.append("    ssmtk gather ").append(kind).append(" --output ").append(shellWord(o.path())).append(" ${").append(var).append("_args}\n");
            stub.append("    touch ").append(shellWord(o.path())).append(kind.equals("vcf") ? " " + shellWord(o.path() + ".tbi") : "").append('\n');
        }
        return "// step '" + s.id() + "' of " + wf.file().getFileName() + ", scattered: its shards' parts joined in shard order under one header"
                + " (ssmtk gather). Generated by ssmtk " + version + " (workflow export --nextflow --scatter).\n"
                + "process " + producer(s) + " {\n"
                + "    tag \"${meta.id}\"\n"
                + "    label 'process_single'\n"
                + "    conda \"${moduleDir}/environment.yml\"\n\n"
                + "    input:\n    " + in + "\n\n"
                + "    output:\n" + out
                + "    tuple val(\"${task.process}\"), val('ssmtk'), eval('ssmtk --version | sed \"s/^ssmtk //\"'), emit: versions_ssmtk, topic: versions\n\n"
                + "    script:\n" + parts
                + "    def heap = task.memory ? \"export SSMTK_JAVA_OPTS='-Xmx${(task.memory.toMega() * 5 / 6) as long}m'\" : ''\n"
                + "    \"\"\"\n    ${heap}\n" + cmd + "    \"\"\"\n\n"
                + "    stub:\n    \"\"\"\n" + stub + "    \"\"\"\n"
                + "}\n";
    }

    /**
     * The task that lists a planned step's shards ({@code ssmtk scatter plan}), one {@code --shard} value
     * a line in gather order, from the file they split (staged with its index: a BAM's shards read through it).
     */
    private String planModule(Step s, Slot source) {
        Plan plan = SCATTERABLE.get(s.op()).plan();
        boolean listed = manifest(s, source);   // a manifest's rows are counted by reading it, which checks its clips exist
        String option = switch (plan) {
            case READS -> "--reads";
            case VCF -> "--vcf";
            case CLIPS -> "--clips";
            case FASTA -> throw new IllegalStateException("a FASTA's shards come from its .fai");
        };
        return "// step '" + s.id() + "' of " + wf.file().getFileName() + ", scattered: its shards, planned from its " + source.option()
                + " (ssmtk scatter plan). Generated by ssmtk " + version + " (workflow export --nextflow --scatter).\n"
                + "process " + processName(s) + "_PLAN {\n"
                + "    tag \"${meta.id}\"\n"
                + "    label 'process_single'\n"
                + "    conda \"${moduleDir}/environment.yml\"\n\n"
                + "    input:\n    tuple val(meta), path(" + source.var() + ", stageAs: '" + source.var() + "/*'), path(" + source.var()
                + "_index, stageAs: '" + source.var() + "/*')" + (listed ? manifestInputs(source.var()) : "") + "\n"
                + "    val(by)   // " + (plan == Plan.CLIPS ? "clips per shard" : "'contigs' or bases per shard") + "\n\n"
                + "    output:\n    tuple val(meta), path('shards.txt'), emit: shards\n"
                + "    tuple val(\"${task.process}\"), val('ssmtk'), eval('ssmtk --version | sed \"s/^ssmtk //\"'), emit: versions_ssmtk, topic: versions\n\n"
                + "    script:\n" + (listed ? QUOTE + manifestLinks(source.var()) : "") + "    \"\"\"\n"
                + (listed ? "    ${" + source.var() + "_tree}\n    ssmtk scatter plan " + option + " ${ssmtkQuote(" + source.var() + "_at)}"
                        : "    ssmtk scatter plan " + option + " '${" + source.var() + ".toString().replace(\"'\", \"'\\\\''\")}'")
                + " --by '${by}' --output shards.txt\n"
                + "    \"\"\"\n\n"
                + "    stub:\n    \"\"\"\n    echo stub > shards.txt\n    \"\"\"\n"
                + "}\n";
    }

    private String outputParam(Step s, Output o) {
        Map<String, ParamSpec> spec = wf.specs().get(s.op());
        for (Map.Entry<String, Object> e : s.params().entrySet())
            if (spec.get(e.getKey()).kind() == Kind.OUTPUT)
                for (Object v : (List<?>) e.getValue()) if (Path.of((String) v).normalize().toString().equals(o.path())) return e.getKey();
        throw new IllegalStateException(o.path());
    }

    /** withName block: cpus from the descriptor's threads, ext.args from its values and flags (through params). */
    private String processConfig(Step s, StringBuilder params) throws WorkflowException {
        Map<String, ParamSpec> spec = wf.specs().get(s.op());
        List<String> args = new ArrayList<>();
        String cpus = "1";
        for (Map.Entry<String, Object> e : s.params().entrySet()) {
            ParamSpec p = spec.get(e.getKey());
            if (e.getKey().equals("threads")) {
                cpus = ((List<?>) e.getValue()).getFirst().toString();
                continue;
            }
            if (p.kind() == Kind.FLAG) {
                String name = paramName(s, identifier(e.getKey()));
                params.append("    ").append(name).append(" = ").append(e.getValue()).append('\n');
                args.add("params." + name + " ? '--" + e.getKey() + "' : ''");
            } else if (p.kind() == Kind.VALUE) {
                List<?> list = (List<?>) e.getValue();
                for (int i = 0; i < list.size(); i++) {
                    String name = paramName(s, identifier(e.getKey()) + (list.size() > 1 ? "_" + (i + 1) : ""));
                    params.append("    ").append(name).append(" = ").append(typed((String) list.get(i))).append('\n');
                    // single-quoted for the shell, with any ' in the value closed, escaped and reopened
                    args.add("\"--" + e.getKey() + " '${params." + name + ".toString().replace(\"'\", \"'\\\\''\")}'\"");
                }
            }
        }
        if (!cpus.matches("[1-9][0-9]*")) cpus = "1";
        String block = "    withName: '" + processName(s) + "' {\n"
                + "        cpus = " + cpus + "\n"
                + "        ext.args = { [" + String.join(", ", args) + "].findAll().join(' ') }\n"
                + (scattered(s) ? "        publishDir = [enabled: false]   // shards: only the gathered file is a result\n" : "")
                + "    }\n";
        if (planned(s))
            block += "    withName: '" + processName(s) + "_PLAN' {\n"
                    + "        publishDir = [enabled: false]   // the shard list is the pipeline's, not a result\n"
                    + "    }\n";
        if (scattered(s))
            block += "    withName: '" + producer(s) + "' {\n"
                    + "        publishDir = [path: { \"${params.outdir}/${params.input ? meta.id + '/' : ''}" + processName(s).toLowerCase(Locale.ROOT) + "\" }, mode: 'copy',\n"
                    + "                      saveAs: { f -> f }]\n"
                    + "    }\n";
        return block;
    }

    private String main(Map<String, List<Slot>> slots) throws WorkflowException {
        StringBuilder b = new StringBuilder();
        b.append("#!/usr/bin/env nextflow\n");
        b.append("// ").append(wf.name()).append(": exported from ").append(wf.file().getFileName()).append(" by ssmtk ").append(version)
                .append(" (ssmtk workflow export --nextflow).\n");
        b.append("// Run: nextflow run . --input samplesheet.csv [-profile ...] [--outdir results] [--<step>_<param> value]; dry run: -stub-run\n");
        b.append("// (samplesheet.csv, written by the export, names the descriptor's files; or give each file param: --<step>_<param> PATH)\n");
        b.append("nextflow.enable.dsl = 2\n");
        b.append("nextflow.preview.topic = true   // versions arrive on the 'versions' topic (Nextflow 24.04+)\n\n");
        for (Step s : wf.steps()) {
            b.append("include { ").append(processName(s)).append(" } from './modules/local/").append(dirName(s)).append("/main.nf'\n");
            if (planned(s))
                b.append("include { ").append(processName(s)).append("_PLAN } from './modules/local/").append(dirName(s)).append("_plan/main.nf'\n");
            if (scattered(s))
                b.append("include { ").append(producer(s)).append(" } from './modules/local/").append(dirName(s)).append("_gather/main.nf'\n");
        }
        b.append("""

                // The index files beside a file param (FASTA .fai/.gzi, BAM .bai, CRAM .crai, VCF .tbi/.csi) that exist,
                // staged next to it so readers find them (a CRAM also needs its FASTA's .fai).
                def ssmtkIndexes(path) {
                    ['.fai', '.gzi', '.bai', '.crai', '.csi', '.tbi'].collect { file(path + it) }.findAll { it.exists() }
                }
                """);
        boolean manifests = false;
        for (Step x : wf.steps()) for (Slot slot : slots.get(x.id())) manifests |= manifest(x, slot);
        if (manifests)
            b.append("""

                    // The WAVs an audio manifest lists (TSV: path [label [start end]]; '#' lines, blank lines and a first line
                    // whose first column is 'path' skipped, as ssmtk reads it), staged with it: [files, [manifest: where the
                    // manifest goes, clips: where each file goes]], relative to the manifest's staging folder. Paths are
                    // relative to the manifest's folder; the task links every file there, below as many of the manifest's own
                    // parent folders as the paths climb with '..', so the manifest is read unchanged. A missing file is left
                    // for ssmtk to report (it names the manifest's line). An absolute path cannot be moved without rewriting
                    // the manifest: ssmtk reads it where it is, which needs a filesystem every task sees (local, a cluster's
                    // shared one; not a container or cloud executor without it): a warning names the first.
                    def ssmtkManifestClips(path) {
                        def m = file(path, checkIfExists: true)
                        def rel = [], absolute = [], first = true
                        m.readLines().each { raw ->
                            def line = raw.endsWith('\\r') ? raw.substring(0, raw.length() - 1) : raw
                            if (!line.trim() || line.startsWith('#')) return
                            def p = line.split('\\t', -1)[0].trim()
                            def header = first && p.equalsIgnoreCase('path')
                            first = false
                            if (header || !p) return
                            if (p.startsWith('/')) absolute << p
                            else rel << java.nio.file.Paths.get(p).normalize()
                        }
                        if (absolute) log.warn "${m}: ${absolute.size()} absolute path(s), e.g. ${absolute[0]}: read in place, not staged (relative paths are staged)"
                        rel = rel.unique()
                        int up = rel.collect { r -> (0..<r.nameCount).takeWhile { r.getName(it).toString() == '..' }.size() }.max() ?: 0
                        def below = java.nio.file.Paths.get(''), dir = m.parent
                        for (int i = 0; i < up; i++) {
                            if (dir.parent == null) error "${m}: a path climbs above the filesystem's root with '..'"
                            below = java.nio.file.Paths.get(dir.name).resolve(below)
                            dir = dir.parent
                        }
                        def clips = rel.collect { r -> [m.parent.resolve(r.toString()).normalize(), below.resolve(r).normalize().toString()] }
                            .findAll { it[0].exists() }
                        return [clips.collect { it[0] }, [manifest: below.resolve(m.name).toString(), clips: clips.collect { it[1] }]]
                    }
                    """);
        if (wf.steps().stream().anyMatch(x -> scattered(x) && !planned(x)))
            b.append("""

                    // Shards of a FASTA, from its .fai: 'contigs' gives one per contig, a number N shards of N bases;
                    // each is CONTIG:START-END (0-based half-open) for ssmtk's --shard, in FASTA order.
                    def ssmtkShards(fai, scatter) {
                        def shards = []
                        fai.eachLine { line ->
                            def f = line.split('\\t')
                            long len = f[1] as long
                            long step = scatter == 'contigs' ? len : (scatter as long)
                            for (long s = 0; s < len; s += step) shards << "${f[0]}:${s}-${Math.min(len, s + step)}".toString()
                        }
                        return shards
                    }
                    """);
        List<String> fileParams = new ArrayList<>();
        for (List<Slot> l : slots.values()) for (Slot slot : l) if (slot.param() != null && !fileParams.contains(slot.param())) fileParams.add(slot.param());
        b.append("""

                // A samplesheet row: 'sample' names the run (meta.id); any other column is a file param set for that sample.
                // A relative path is relative to the samplesheet's folder (the exported samplesheet.csv works from anywhere).
                def ssmtkSample(row) {
                    def known = %s
                    if (!row.sample) error "${params.input}: a row without a 'sample' value: ${row}"
                    def unknown = row.keySet() - ['sample'] - known
                    if (unknown) error "${params.input}: unknown column(s) ${unknown}; the columns are sample and any of ${known}"
                    def base = file(params.input).parent
                    def files = row.findAll { k, v -> k != 'sample' && v }
                        .collectEntries { k, v -> [k, v.startsWith('/') || v.contains('://') ? v : base.resolve(v).toString()] }
                    return [[id: row.sample], files]
                }

                // A file param for one sample: its samplesheet column, else --<param>; there is no default
                def ssmtkPath(row, name) {
                    def v = row[name] ?: params[name]
                    if (!v) error "no ${name}: give --${name} PATH, or --input SAMPLESHEET with a '${name}' column (the export wrote samplesheet.csv)"
                    return v
                }
                """.formatted(fileParams.stream().map(NextflowExport::groovy).toList().toString()));
        b.append("\nworkflow {\n");
        b.append("    // one run per row of --input (CSV with a header); without it one run named params.id with the params' files\n");
        b.append("    ch_samples = params.input\n");
        b.append("        ? Channel.fromPath(params.input, checkIfExists: true).splitCsv(header: true, strip: true).map { row -> ssmtkSample(row) }\n");
        b.append("        : Channel.of([[id: params.id], [:]])\n");
        b.append('\n');
        for (Step s : wf.steps()) {
            String id = identifier(s.id());
            Plan plan = scattered(s) ? SCATTERABLE.get(s.op()).plan() : null;
            b.append("    // ").append(s.id()).append(": ").append(s.op())
                    .append(plan == null ? "" : plan == Plan.FASTA ? ", one task per shard of its FASTA (--" + id + "_scatter), gathered in order"
                            : ", one task per shard of its " + shardSource(s, slots.get(s.id())).option() + " (planned by ssmtk scatter plan, --" + id
                            + "_scatter), gathered in order").append('\n');
            // [meta, row] first; each file param (and its indexes) from the sample's row or the param; the row is dropped at the end
            StringBuilder chain = new StringBuilder("ch_samples");
            int at = 2, sourceAt = -1;   // where each slot's file lands in the tuple
            for (Slot slot : slots.get(s.id())) {
                if (plan != null && plan != Plan.FASTA && slot == shardSource(s, slots.get(s.id()))) sourceAt = at;
                if (slot.upstream() != null) {
                    chain.append("\n            .join(").append(producer(wf.step(slot.upstream()))).append(".out.").append(slot.emit()).append(")");
                    at++;
                } else {
                    chain.append("\n            .map { it + [file(ssmtkPath(it[1], ").append(groovy(slot.param()))
                            .append("), checkIfExists: true), ssmtkIndexes(ssmtkPath(it[1], ").append(groovy(slot.param())).append("))]");
                    if (manifest(s, slot)) chain.append(" + ssmtkManifestClips(ssmtkPath(it[1], ").append(groovy(slot.param())).append("))");
                    chain.append(" }");
                    at += manifest(s, slot) ? 4 : 2;
                }
            }
            if (plan == Plan.FASTA) {
                String fasta = shardSource(s, slots.get(s.id())).param();
                b.append("    ").append(processName(s)).append("(\n        ").append(chain);
                b.append("\n            .flatMap { t -> ssmtkShards(file(ssmtkPath(t[1], ").append(groovy(fasta))
                        .append(") + '.fai', checkIfExists: true), params.").append(id).append("_scatter)")
                        .append("\n                .withIndex().collect { sh, i -> [t[0] + [shard: sh, shard_index: i]] + t.drop(2) } }");
            } else if (plan != null) {
                // the shard list is a task's output: each shard a task, with the step's files and the shard in its meta
                b.append("    ch_").append(id).append(" = ").append(chain).append('\n');
                int sent = manifest(s, shardSource(s, slots.get(s.id()))) ? 4 : 2;   // the file and its indexes (and a manifest's clips)
                b.append("    ").append(processName(s)).append("_PLAN(ch_").append(id).append(".map { t -> [t[0]] + t[").append(sourceAt).append("..")
                        .append(sourceAt + sent - 1).append("] }, params.").append(id).append("_scatter)\n");
                b.append("    ").append(processName(s)).append("(\n        ch_").append(id).append(".join(").append(processName(s)).append("_PLAN.out.shards)")
                        .append("\n            .flatMap { t -> t[-1].readLines().findAll { it }.withIndex()")
                        .append("\n                .collect { sh, i -> [t[0] + [shard: sh, shard_index: i]] + t.subList(2, t.size() - 1) } }");
            } else {
                b.append("    ").append(processName(s)).append("(\n        ").append(chain);
                b.append("\n            .map { it[0..0] + it.drop(2) }");
            }
            b.append("\n    )\n");
            if (plan != null) {
                // every output's parts per sample, in shard order: [meta, [parts of output 1], [parts of output 2], ...]
                List<Output> outs = outputs(s);
                b.append("    ").append(producer(s)).append("(\n        ").append(processName(s)).append(".out.").append(outs.getFirst().emit());
                for (Output o : outs.subList(1, outs.size())) b.append(".join(").append(processName(s)).append(".out.").append(o.emit()).append(")");
                b.append("\n            .map { t -> [t[0].findAll { k, v -> k != 'shard' && k != 'shard_index' }, [t[0].shard_index] + t.drop(1)] }")
                        .append("\n            .groupTuple()")
                        .append("\n            .map { m, parts -> def ordered = parts.sort { it[0] }; [m] + (1..<ordered[0].size()).collect { k -> ordered.collect { it[k] } } }\n    )\n");
            }
            b.append('\n');
        }
        b.append("    // every task's (process, tool, version), as nf-core's modules emit them\n");
        b.append("    Channel.topic('versions').unique()\n");
        b.append("        .map { process, tool, version -> \"\\\"${process}\\\":\\n    ${tool}: ${version}\\n\" }\n");
        b.append("        .collectFile(name: 'ssmtk_versions.yml', storeDir: \"${params.outdir}/pipeline_info\", sort: true)\n");
        b.append("}\n");
        return b.toString();
    }

    private String config(String params, String process) {
        return "// " + wf.name() + ": exported from " + wf.file().getFileName() + " by ssmtk " + version + ".\n"
                + "// Every descriptor value is a param: override with --<step>_<param> on the nextflow command line.\n"
                + "manifest {\n"
                + "    name = " + groovy(wf.name()) + "\n"
                + "    description = " + groovy("ssmtk workflow " + wf.name() + " (exported from " + wf.file().getFileName() + ")") + "\n"
                + "    mainScript = 'main.nf'\n"
                + "    nextflowVersion = '>=24.04.0'\n"
                + "}\n\n"
                + "params {\n"
                + "    id = " + groovy(wf.name()) + "\n"
                + "    input = null       // samplesheet CSV: sample,<file param>... one run per row (see main.nf)\n"
                + "    outdir = 'results'\n"
                + "    container = null   // an image with ssmtk on PATH, for -profile docker/singularity\n"
                + "    queue = null       // the partition or queue of -profile slurm/awsbatch\n"
                + params
                + "}\n\n"
                + "process {\n"
                + "    cpus = 1\n"
                + "    withLabel: 'process_ssmtk' { memory = '4 GB' }   // -Xmx from task.memory; override per step with withName\n"
                + "    // one folder per step; with a samplesheet (--input) one per sample, then per step\n"
                + "    publishDir = [path: { \"${params.outdir}/${params.input ? meta.id + '/' : ''}${task.process.tokenize(':')[-1].toLowerCase()}\" }, mode: 'copy',\n"
                + "                  saveAs: { f -> f }]\n"
                + process
                + "}\n\n"
                + "profiles {\n"
                + "    // ssmtk on PATH is the default; in a container that holds it: -profile docker --container IMAGE\n"
                + "    docker { docker.enabled = true; process.container = params.container }\n"
                + "    singularity { singularity.enabled = true; process.container = params.container }\n"
                + "    // each module's environment.yml: the JDK (ssmtk's bin/ssmtk must still be on PATH: it is not a conda package)\n"
                + "    conda { conda.enabled = true }\n"
                + "    // schedulers: -profile slurm [--queue PARTITION] (ssmtk on PATH of the nodes); awsbatch and k8s run the\n"
                + "    // image given with --container (awsbatch also needs a work dir on S3: -work-dir s3://...)\n"
                + "    slurm { process.executor = 'slurm'; process.queue = params.queue }\n"
                + "    awsbatch { process.executor = 'awsbatch'; process.queue = params.queue; process.container = params.container }\n"
                + "    k8s { process.executor = 'k8s'; process.container = params.container }\n"
                + "}\n";
    }

    /** A module's conda environment (nf-core's environment.yml layout). */
    private static String environment(String why, String dependency) {
        return "---\n# " + why + "\n"
                + "channels:\n  - conda-forge\n  - bioconda\n"
                + "dependencies:\n  - " + dependency + "\n";
    }

    /**
     * samplesheet.csv: one row (the workflow's name) with every file param set to the descriptor's file,
     * relative to the pipeline folder, so that {@code --input samplesheet.csv} runs the descriptor as
     * exported, and a copy of it with other rows runs other samples.
     */
    private String samplesheet(Map<String, List<Slot>> slots) {
        Map<String, String> cells = new LinkedHashMap<>();
        for (List<Slot> l : slots.values())
            for (Slot slot : l)
                if (slot.param() != null) cells.putIfAbsent(slot.param(), home.relativize(Path.of(slot.value())).toString());
        StringBuilder head = new StringBuilder("sample"), row = new StringBuilder(csv(wf.name()));
        for (Map.Entry<String, String> e : cells.entrySet()) {
            head.append(',').append(e.getKey());
            row.append(',').append(csv(e.getValue()));
        }
        return head + "\n" + row + "\n";
    }

    private static String csv(String v) {
        return v.matches("[^,\"\n\r]*") ? v : "\"" + v.replace("\"", "\"\"") + "\"";
    }

    private static String processName(Step s) {
        return s.id().toUpperCase(Locale.ROOT).replace('-', '_');
    }

    private static String dirName(Step s) {
        return s.id().toLowerCase(Locale.ROOT);
    }

    /** Groovy keywords and names a process body already uses cannot name an input. */
    private static final java.util.Set<String> TAKEN = java.util.Set.of("in", "as", "def", "if", "else", "for", "while", "do", "class", "return", "new",
            "null", "true", "false", "this", "super", "switch", "case", "default", "try", "catch", "finally", "throw", "import", "package",
            "interface", "trait", "enum", "instanceof", "var", "assert", "break", "continue", "goto", "const", "task", "params", "meta", "args",
            "workflow", "file", "path", "val", "env", "stdout", "tuple", "each", "prefix", "projectDir", "launchDir", "baseDir", "moduleDir");

    private static String variable(String id) {
        return TAKEN.contains(id) ? id + "_file" : id;
    }

    /** A Groovy/Nextflow identifier from an option name or path: letters, digits and '_'. */
    static String identifier(String s) {
        String id = s.replaceAll("[^A-Za-z0-9]+", "_").replaceAll("^_+|_+$", "").toLowerCase(Locale.ROOT);
        if (id.isEmpty() || Character.isDigit(id.charAt(0))) id = "p_" + id;
        return id;
    }

    /** s as one shell word inside a script block: single-quoted for the shell, escaped for Groovy's \"\"\" string. */
    public static String shellWord(String s) {
        return "'" + script(shellInQuotes(s)) + "'";
    }

    /** s for inside shell single quotes: each ' closes the quote, is escaped, and reopens it. */
    private static String shellInQuotes(String s) {
        return s.replace("'", "'\\''");
    }

    /** Literal text inside a Groovy \"\"\" GString: no $ interpolation, backslashes and quotes kept. */
    private static String script(String s) {
        return s.replace("\\", "\\\\").replace("$", "\\$").replace("\"", "\\\"");
    }

    private static final java.util.regex.Pattern NUMBER = java.util.regex.Pattern.compile("-?(0|[1-9][0-9]{0,17})(\\.[0-9]+)?([eE][-+]?[0-9]{1,3})?");

    /**
     * A value as a typed Groovy literal: a number as a number (so --step_param 10 on the command line and
     * the default have one type, and nextflow_schema-style checks see numbers), anything else a string.
     * Only decimal forms Groovy reads the same way are numbers: a leading 0 would be octal there.
     */
    public static String typed(String v) {
        return NUMBER.matcher(v).matches() ? v : groovy(v);
    }

    /** A single-quoted Groovy string (no interpolation). */
    static String groovy(String s) {
        return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }
}
