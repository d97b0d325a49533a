package org.ssmtk.workflows;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.workflows.descriptor.Step;
import org.ssmtk.workflows.descriptor.Workflow;
import org.ssmtk.workflows.descriptor.WorkflowException;
import org.ssmtk.workflows.descriptor.WorkflowParser;
import org.ssmtk.workflows.nextflow.NextflowExport;
import org.ssmtk.workflows.report.GraphImage;
import org.ssmtk.workflows.runner.StepExecutor;
import org.ssmtk.workflows.runner.WorkflowRunner;

import javax.imageio.ImageIO;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Parallel steps, --param overrides, DOT/PNG graphs and the Nextflow export, on the fake ops. */
class WorkflowFeaturesTest {
    @TempDir
    Path dir;

    /** a -> (b, c) -> d: b and c are independent. */
    Path diamond(String bExtra) throws Exception {
        Path d = Files.createDirectories(dir.resolve("wf"));
        Files.writeString(d.resolve("seed.txt"), "seed");
        Path f = d.resolve("w.yaml");
        Files.writeString(f, """
                name: diamond
                steps:
                  - id: a
                    op: t.make
                    params: {in: seed.txt, out: a.txt}
                  - id: b
                    op: t.copy
                    needs: [a]
                    params:
                      in: ${a}/a.txt
                      out: b.txt%s
                  - id: c
                    op: t.copy
                    needs: [a]
                    params:
                      in: ${a}/a.txt
                      out: c.txt
                  - id: d
                    op: t.copy
                    needs: [b, c]
                    params:
                      in: ${b}/b.txt
                      label: ["X=${c}/c.txt"]   # quoted: { starts a mapping inside [ ]
                      out: d.txt
                """.formatted(bExtra));
        return f;
    }

    /** Copies --in to --out; b and c each wait until both are running, which only parallel runs satisfy. */
    StepExecutor rendezvous(CountDownLatch both, AtomicInteger maxRunning) {
        AtomicInteger running = new AtomicInteger();
        return (args, out, err) -> {
            List<String> a = Arrays.asList(args);
            int now = running.incrementAndGet();
            maxRunning.accumulateAndGet(now, Math::max);
            try {
                String out1 = a.get(a.indexOf("--out") + 1);
                if (out1.endsWith("b.txt") || out1.endsWith("c.txt")) {
                    both.countDown();
                    if (!both.await(10, TimeUnit.SECONDS)) {
                        err.println("the other branch never started");
                        return 1;
                    }
                }
                Files.writeString(Path.of(out1), Files.readString(Path.of(a.get(a.indexOf("--in") + 1))) + "+" + args[1]);
                return 0;
            } finally {
                running.decrementAndGet();
            }
        };
    }

    @Test
    void independentStepsRunInParallelUpToCpus() throws Exception {
        Workflow wf = WorkflowParser.parse(diamond(""), FakeOps.INSTANCE);
        AtomicInteger max = new AtomicInteger();
        ByteArrayOutputStream progress = new ByteArrayOutputStream();
        var outcomes = new WorkflowRunner(wf, dir.resolve("work"), rendezvous(new CountDownLatch(2), max), new PrintStream(progress, true)).run(false, 2);
        assertEquals(List.of("a", "b", "c", "d"), outcomes.stream().map(WorkflowRunner.Outcome::step).toList());
        assertEquals(2, max.get());
        assertEquals("seed+make+copy+copy", Files.readString(dir.resolve("work/d/d.txt")));
        assertTrue(progress.toString().contains("[1/4 done] running: b, c"), progress.toString());
        assertTrue(progress.toString().contains("[4/4] d (t.copy): done in"), progress.toString());

        // A slow step is reported as still running while nothing finishes.
        ByteArrayOutputStream slow = new ByteArrayOutputStream();
        StepExecutor sleepy = (args, out, err) -> {
            List<String> a = Arrays.asList(args);
            if (a.get(a.indexOf("--out") + 1).endsWith("a.txt")) Thread.sleep(2500);
            Files.writeString(Path.of(a.get(a.indexOf("--out") + 1)), "x");
            return 0;
        };
        new WorkflowRunner(wf, dir.resolve("work2"), sleepy, new PrintStream(slow, true)).heartbeat(1).run(false, 2);
        assertTrue(slow.toString().contains("[0/4 done] still running: a ("), slow.toString());

        // One CPU: never two steps at once.
        AtomicInteger max1 = new AtomicInteger();
        CountDownLatch open = new CountDownLatch(0);
        new WorkflowRunner(wf, dir.resolve("work1"), rendezvous(open, max1), new PrintStream(new ByteArrayOutputStream())).run(false, 1);
        assertEquals(1, max1.get());
    }

    @Test
    void aStepTakesAsManySlotsAsItsThreads() {
        assertEquals(2, WorkflowRunner.slots(new Step("x", "t.make", Map.of("threads", List.of("4")), List.of(), 1), 2), "capped at --cpus");
        assertEquals(3, WorkflowRunner.slots(new Step("x", "t.make", Map.of("threads", List.of("3")), List.of(), 1), 8));
        assertEquals(1, WorkflowRunner.slots(new Step("x", "t.make", Map.of(), List.of(), 1), 8));
    }

    @Test
    void failedBranchLetsTheRunningOneFinishAndIsNamed() throws Exception {
        Workflow wf = WorkflowParser.parse(diamond("\n      fail: true"), FakeOps.INSTANCE);
        StepExecutor exec = (args, out, err) -> {
            List<String> a = Arrays.asList(args);
            if (a.contains("--fail")) {
                err.println("ssmtk t copy: broken on purpose");
                return 1;
            }
            Thread.sleep(200); // c is still running when b fails
            Files.writeString(Path.of(a.get(a.indexOf("--out") + 1)), "x");
            return 0;
        };
        WorkflowException e = assertThrows(WorkflowException.class,
                () -> new WorkflowRunner(wf, dir.resolve("work"), exec, new PrintStream(new ByteArrayOutputStream())).run(false, 2));
        assertTrue(e.getMessage().startsWith("step 'b' (t.copy) failed with exit code 1: ssmtk t copy: broken on purpose"), e.getMessage());
        assertTrue(Files.exists(dir.resolve("work/c/c.txt")), "the parallel branch finished");
        assertFalse(Files.exists(dir.resolve("work/d")), "nothing after the failure started");
        String log = Files.readString(dir.resolve("work/run.json"));
        assertTrue(log.contains("\"failed\"") && log.contains("\"step\" : \"c\""), log);
    }

    @Test
    void paramOverridesReplaceValuesAndAreChecked() throws Exception {
        Path f = diamond("");
        Workflow wf = WorkflowParser.parse(f, FakeOps.INSTANCE, List.of("a.n=7", "c.fail=true", "d.label=Y=seed.txt", "d.label=Z=seed.txt"));
        assertEquals(List.of("7"), wf.step("a").params().get("n"));
        assertEquals(true, wf.step("c").params().get("fail"));
        assertEquals(List.of("Y=seed.txt", "Z=seed.txt"), wf.step("d").params().get("label"));
        assertEquals("--param a.m: step 'a' (t.make) has no param 'm' (known: fail, in, label, n, out)",
                assertThrows(WorkflowException.class, () -> WorkflowParser.parse(f, FakeOps.INSTANCE, List.of("a.m=1"))).getMessage());
        assertEquals("--param c.fail: 'fail' is a flag: give true or false, not 'yes'",
                assertThrows(WorkflowException.class, () -> WorkflowParser.parse(f, FakeOps.INSTANCE, List.of("c.fail=yes"))).getMessage());
        assertEquals("--param 'a=1': expected STEP.PARAM=VALUE (e.g. train.steps=100)",
                assertThrows(WorkflowException.class, () -> WorkflowParser.parse(f, FakeOps.INSTANCE, List.of("a=1"))).getMessage());
        assertTrue(assertThrows(WorkflowException.class, () -> WorkflowParser.parse(f, FakeOps.INSTANCE, List.of("a.in=../../etc/passwd"))).getMessage()
                .contains("escapes the descriptor's folder"), "overridden paths are checked too");
        assertTrue(assertThrows(WorkflowException.class, () -> WorkflowParser.parse(f, FakeOps.INSTANCE, List.of("x.n=1"))).getMessage()
                .endsWith("has no step 'x' (steps: a, b, c, d)"));
    }

    @Test
    void dotAndPng() throws Exception {
        Workflow wf = WorkflowParser.parse(diamond(""), FakeOps.INSTANCE);
        assertEquals("""
                digraph "diamond" {
                  rankdir=TB;
                  node [shape=box, style=rounded];
                  "a" [label="a\\nt.make"];
                  "b" [label="b\\nt.copy"];
                  "c" [label="c\\nt.copy"];
                  "d" [label="d\\nt.copy"];
                  "a" -> "b";
                  "a" -> "c";
                  "b" -> "d";
                  "c" -> "d";
                }
                """, wf.dot());
        assertEquals(Map.of("a", 0, "b", 1, "c", 1, "d", 2), wf.depths());
        var img = ImageIO.read(new ByteArrayInputStream(GraphImage.png(wf)));
        assertTrue(img.getHeight() > img.getWidth() / 2 && img.getHeight() > 3 * 52, "three rows of boxes");
    }

    @Test
    void nextflowExportWiresChannelsParamsAndStubs() throws Exception {
        Workflow wf = WorkflowParser.parse(diamond(""), FakeOps.INSTANCE);
        Map<String, String> files = NextflowExport.files(wf, "9.9");
        assertEquals(List.of("modules/local/a/main.nf", "modules/local/a/environment.yml", "modules/local/b/main.nf", "modules/local/b/environment.yml",
                        "modules/local/c/main.nf", "modules/local/c/environment.yml", "modules/local/d/main.nf", "modules/local/d/environment.yml",
                        "main.nf", "samplesheet.csv", "nextflow.config", "nextflow_schema.json"),
                List.copyOf(files.keySet()));
        String d = files.get("modules/local/d/main.nf");
        assertTrue(d.contains("process D {"), d);
        assertTrue(d.contains("tuple val(meta), path(in_file, stageAs: 'in_file/*'), path(label, stageAs: 'label/*')"), d);
        assertTrue(d.contains("tuple val(meta), path('d.txt'), emit: d_txt"), d);
        assertTrue(d.contains("ssmtk t copy \\\\\n        --in '${in_file.toString().replace(\"'\", \"'\\\\''\")}' \\\\\n"
                + "        --label 'X=${label.toString().replace(\"'\", \"'\\\\''\")}' \\\\\n        --out 'd.txt' \\\\\n        $args"), d);
        // versions on nf-core's topic channel, as modules/ssmtk emit them; a conda environment beside each module
        assertTrue(d.contains("tuple val(\"${task.process}\"), val('ssmtk'), eval('ssmtk --version | sed \"s/^ssmtk //\"'), emit: versions_ssmtk, topic: versions"), d);
        assertFalse(d.contains("versions.yml") || d.contains("END_VERSIONS"), d);
        assertTrue(d.contains("    conda \"${moduleDir}/environment.yml\"\n") && d.contains("stub:") && d.contains("touch 'd.txt'"), d);
        Map<?, ?> env = new org.yaml.snakeyaml.Yaml().load(files.get("modules/local/d/environment.yml"));
        assertEquals(List.of("conda-forge", "bioconda"), env.get("channels"));
        assertEquals(List.of("conda-forge::openjdk=25"), env.get("dependencies"));
        assertTrue(files.get("main.nf").contains("nextflow.preview.topic = true") && files.get("main.nf").contains("Channel.topic('versions').unique()"));
        String main = files.get("main.nf");
        assertTrue(main.contains("D(\n        ch_samples\n            .join(B.out.b_txt)\n            .join(C.out.c_txt)\n            .map { it[0..0] + it.drop(2) }\n    )"), main);
        // one run per samplesheet row; a row's column sets that sample's file param, else the param's default
        assertTrue(main.contains("Channel.fromPath(params.input, checkIfExists: true).splitCsv(header: true, strip: true).map { row -> ssmtkSample(row) }"), main);
        assertTrue(main.contains("def known = ['a_in_file']"), main);
        // a file param travels with whichever of its indexes exist, staged beside it
        assertTrue(main.contains(".map { it + [file(ssmtkPath(it[1], 'a_in_file'), checkIfExists: true), ssmtkIndexes(ssmtkPath(it[1], 'a_in_file'))] }"), main);
        assertTrue(main.contains("error \"no ${name}: give --${name} PATH, or --input SAMPLESHEET"), main);
        assertTrue(main.contains("def ssmtkIndexes(path) {"), main);
        assertTrue(files.get("modules/local/a/main.nf").contains("path(in_file, stageAs: 'in_file/*'), path(in_file_index, stageAs: 'in_file/*')"),
                files.get("modules/local/a/main.nf"));
        // the JVM heap follows task.memory
        assertTrue(d.contains("export SSMTK_JAVA_OPTS='-Xmx${(task.memory.toMega() * 5 / 6) as long}m'"), d);
        // No path of the exporting machine: a file param has no default; samplesheet.csv names the
        // descriptor's file relative to the pipeline folder (main.nf resolves it against the samplesheet's folder)
        String config = files.get("nextflow.config");
        assertTrue(config.contains("    a_in_file = null   // a file: --a_in_file PATH, or a samplesheet column\n"), config);
        for (Map.Entry<String, String> f : files.entrySet())
            if (!f.getKey().equals("samplesheet.csv")) assertFalse(f.getValue().contains(dir.toString()), f.getKey() + " holds a path of the exporting machine");
        Path home = dir.resolve("pipelines/nf");
        String sheet = NextflowExport.files(wf, "9.9", null, home).get("samplesheet.csv");
        assertEquals("sample,a_in_file", sheet.lines().findFirst().orElseThrow());
        String rel = sheet.lines().skip(1).findFirst().orElseThrow().split(",")[1];
        assertFalse(Path.of(rel).isAbsolute(), sheet);
        assertEquals(dir.resolve("wf/seed.txt"), home.resolve(rel).normalize());
        assertTrue(main.contains("base.resolve(v)"), main);
        // values reach the shell single-quoted, a ' inside closed, escaped and reopened (checked for real in nextflow-check)
        Workflow quoted = WorkflowParser.parse(diamond(""), FakeOps.INSTANCE, List.of("a.n=it's"));
        String qc = NextflowExport.files(quoted, "1").get("nextflow.config");
        // numbers are typed (no octal: a leading zero stays a string), everything else a string
        assertEquals("12", NextflowExport.typed("12"));
        assertEquals("-3e-3", NextflowExport.typed("-3e-3"));
        assertEquals("'007'", NextflowExport.typed("007"));
        assertEquals("'1.5x'", NextflowExport.typed("1.5x"));
        assertTrue(qc.contains("a_n = 'it\\'s'") && qc.contains("\"--n '${params.a_n.toString().replace(\"'\", \"'\\\\''\")}'\""), qc);

        // nextflow_schema.json: each param with its type and default; typed values and paths checked by a real validator
        Workflow typedWf = WorkflowParser.parse(diamond(""), FakeOps.INSTANCE, List.of("a.n=12"));
        var mapper = new com.fasterxml.jackson.databind.ObjectMapper();
        var schemaJson = mapper.readTree(NextflowExport.files(typedWf, "1").get("nextflow_schema.json"));
        assertEquals("integer", schemaJson.at("/properties/a_n/type").asText(), schemaJson.toString());
        assertEquals(12, schemaJson.at("/properties/a_n/default").asInt());
        assertEquals("file-path", schemaJson.at("/properties/a_in_file/format").asText());
        assertTrue(schemaJson.at("/properties/a_in_file/default").isMissingNode(), "a file param has no default");
        assertEquals("results", schemaJson.at("/properties/outdir/default").asText());
        var validator = com.networknt.schema.JsonSchemaFactory.getInstance(com.networknt.schema.SpecVersion.VersionFlag.V202012).getSchema(schemaJson);
        assertTrue(validator.validate(mapper.readTree("{\"a_n\": 7, \"outdir\": \"out\"}")).isEmpty());
        assertFalse(validator.validate(mapper.readTree("{\"a_n\": \"seven\"}")).isEmpty(), "a string for a number param");

        // A reference to something that is not a declared output cannot cross Nextflow tasks.
        Path f = diamond("");
        Files.writeString(f, Files.readString(f).replaceFirst("in: \\$\\{a}/a.txt", "in: \\${a}/other.txt"));
        WorkflowException e = assertThrows(WorkflowException.class, () -> NextflowExport.files(WorkflowParser.parse(f, FakeOps.INSTANCE), "1"));
        assertTrue(e.getMessage().endsWith("'${a}/other.txt' is not inside an output (--out/--output) of step 'a'; Nextflow can only pass declared outputs between steps"), e.getMessage());

        // Written atomically into an empty folder; a non-empty one is refused.
        Path out = dir.resolve("nf");
        NextflowExport.write(wf, out, "1");
        assertTrue(Files.isRegularFile(out.resolve("modules/local/a/main.nf")));
        assertTrue(assertThrows(WorkflowException.class, () -> NextflowExport.write(wf, out, "1")).getMessage().endsWith("folder is not empty (export writes a fresh pipeline)"));
    }

    /** Issue 15: `output: "r.html; touch /tmp/x"` passed validate and was pasted unquoted into script: and stub:. */
    @Test
    void valuesThatAreNotFileNamesFailValidationAndEveryShellWordIsQuoted() throws Exception {
        Path f = diamond("");
        String yaml = Files.readString(f);
        for (String[] bad : new String[][]{{"out: a.txt", "out: \"a.txt; touch /tmp/x\"", "';'"}, {"out: a.txt", "out: \"$(id).txt\"", "'$'"},
                {"in: seed.txt", "in: \"seed.txt`id`\"", "'`'"}, {"out: a.txt", "out: \"a\\nb.txt\"", "'\\u000a'"},
                {"label: [\"X=${c}/c.txt\"]", "label: [\"X;id=${c}/c.txt\"]", "NAME in NAME=PATH"}}) {
            assertTrue(yaml.contains(bad[0]), bad[0]);
            Files.writeString(f, yaml.replace(bad[0], bad[1]));
            WorkflowException e = assertThrows(WorkflowException.class, () -> WorkflowParser.parse(f, FakeOps.INSTANCE), bad[1]);
            assertTrue(e.getMessage().contains(bad[2]), e.getMessage());
            assertEquals(1, e.getMessage().lines().count(), e.getMessage());
        }
        // --param overrides are checked the same way
        Files.writeString(f, yaml);
        assertThrows(WorkflowException.class, () -> WorkflowParser.parse(f, FakeOps.INSTANCE, List.of("a.out=x.txt;reboot")));

        // a legitimate name with a space, quoted wherever it reaches the shell: bash gives back the name itself
        Files.writeString(f, yaml.replace("out: a.txt", "out: my dir/a b.txt").replace("${a}/a.txt", "${a}/my dir/a b.txt"));
        Map<String, String> files = NextflowExport.files(WorkflowParser.parse(f, FakeOps.INSTANCE), "1");
        String a = files.get("modules/local/a/main.nf");
        assertTrue(a.contains("--out 'my dir/a b.txt' \\\\\n") && a.contains("    mkdir -p 'my dir'\n") && a.contains("touch 'my dir/a b.txt'"), a);
        assertTrue(a.contains("path('my dir/a b.txt'), emit: "), a);
        assertTrue(files.get("modules/local/b/main.nf").contains("--in '${in_file.toString().replace(\"'\", \"'\\\\''\")}' \\\\\n"), files.get("modules/local/b/main.nf"));
        String word = NextflowExport.shellWord("it's a $x \\ \"y\"");
        // what Groovy's \"\"\" string makes of the word, then what bash makes of that
        String afterGroovy = word.replace("\\$", "$").replace("\\\"", "\"").replace("\\\\", "\\");
        Process bash = new ProcessBuilder("bash", "-c", "printf '%s' " + afterGroovy).redirectErrorStream(true).start();
        assertEquals("it's a $x \\ \"y\"", new String(bash.getInputStream().readAllBytes()));
    }
}
