package org.ssmtk.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ssmtk workflow run|validate|graph} on workflows/examples/dna-classify.yaml, in-process. */
class WorkflowCommandsTest {
    static final Path EXAMPLE = DnaCommandsTest.DATA.resolve("../../workflows/examples/dna-classify.yaml").normalize();
    @TempDir
    Path dir;

    @Test
    void exampleRunsThenResumesFromCache() throws Exception {
        Path work = dir.resolve("work");
        MainTest.Result r = MainTest.run("workflow", "run", EXAMPLE.toString(), "--work", work.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("2 steps done (0 cached)"), r.out());
        Path tsv = work.resolve("classify/class-b.tsv");
        assertTrue(Files.readString(tsv).lines().count() > 1, "one row per record after the header");
        assertTrue(Files.isDirectory(work.resolve("train/run/model")));
        String table = Files.readString(tsv);

        r = MainTest.run("workflow", "run", EXAMPLE.toString(), "--work", work.toString(), "--resume");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("2 steps done (2 cached)"), r.out());
        assertTrue(r.err().contains("train (dna.train-classifier): cached, skipped"), r.err());
        assertTrue(r.err().contains("classify (dna.classify): cached, skipped"), r.err());
        assertEquals(table, Files.readString(tsv));
        JsonNode log = new ObjectMapper().readTree(work.resolve("run.json").toFile());
        for (JsonNode s : log.get("steps")) {
            assertEquals("ok", s.get("status").asText());
            assertTrue(s.get("cached").asBoolean());
        }
    }

    @Test
    void validateAndGraph() {
        MainTest.Result r = MainTest.run("workflow", "validate", EXAMPLE.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals(EXAMPLE + ": ok, workflow dna-classify, 2 steps: train -> classify", r.out().strip());
        r = MainTest.run("workflow", "graph", EXAMPLE.toString());
        assertEquals(0, r.code(), r.err());
        assertEquals("""
                flowchart TD
                  s_train["train<br/>dna.train-classifier"]
                  s_classify["classify<br/>dna.classify"]
                  s_train --> s_classify
                """, r.out());
    }

    @Test
    void badDescriptorsAndFailedStepsGiveOneLine() throws Exception {
        Path f = dir.resolve("bad.yaml");
        Files.writeString(f, "steps:\n  - id: a\n    op: dna.train-classifer\n");
        MainTest.Result r = MainTest.run("workflow", "validate", f.toString());
        assertEquals(1, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("ssmtk workflow validate: " + f + ":3:9: step 'a': unknown op 'dna.train-classifer' (known: "), r.err());
        assertTrue(r.err().contains("dna.train-classifier") && !r.err().contains("workflow.run"), r.err());

        Files.writeString(f, "steps:\n  - id: a\n    op: dna.classify\n    params: {model: nowhere, fasta: x.fa, output: o.tsv, rc-average: 1}\n");
        r = MainTest.run("workflow", "validate", f.toString());
        assertEquals("ssmtk workflow validate: " + f + ":4:70: step 'a': param 'rc-average' is a flag: give true or false, not '1'", r.err().strip());

        // The step's own error, one line, naming the step.
        Files.writeString(f, "steps:\n  - id: a\n    op: dna.classify\n    params: {model: nowhere, fasta: x.fa, output: o.tsv}\n");
        Path work = dir.resolve("w");
        r = MainTest.run("workflow", "run", f.toString(), "--work", work.toString());
        assertEquals(1, r.code());
        String last = r.err().strip().lines().reduce((x, y) -> y).orElseThrow();
        assertTrue(last.startsWith("ssmtk workflow run: step 'a' (dna.classify) failed with exit code 1: ssmtk dna classify: --model "), last);
        assertFalse(Files.exists(work.resolve("a/o.tsv")));
    }

    /**
     * The end-to-end examples: every step runs and each writes its report and MultiQC table. The report
     * step runs inside the workflow: its sections are titled by step id (every training step writes a
     * folder named "run", which titled them all "run"), and it has the workflow's step table although
     * run.json is not among its inputs (issue #15).
     */
    @Test
    void examplesRunEndToEndWithReports() throws Exception {
        java.util.Map<String, String> trainStep = java.util.Map.of("dna-species", "train", "audio-generate", "train", "dna-score", "pretrain");
        for (String name : java.util.List.of("dna-species", "audio-generate", "dna-score")) {
            Path yaml = EXAMPLE.resolveSibling(name + ".yaml"), work = dir.resolve(name);
            MainTest.Result r = MainTest.run("workflow", "run", yaml.toString(), "--work", work.toString(), "--cpus", "2");
            assertEquals(0, r.code(), r.err());
            assertTrue(r.out().contains((name.equals("dna-score") ? 3 : 4) + " steps done (0 cached)"), r.out());
            String page = Files.readString(work.resolve("report/report.html")), step = trainStep.get(name);
            assertTrue(page.contains("Training curve: " + step + "<") && page.contains("Held-out evaluation: " + step + "<"), name);
            assertFalse(page.contains(": run<"), name + ": a section titled by its folder 'run'");
            assertTrue(page.contains("<h2>Workflow " + name + "</h2>"), name + ": no step table");
            assertTrue(page.contains("<th>step</th><th>command</th><th>status</th><th>wall time</th><th>outputs</th>"), name);
            // the training step's row: its command line as run, status, wall time
            java.util.regex.Matcher row = java.util.regex.Pattern.compile("<tr><td>" + step + "</td><td><code>ssmtk ([^<]*)</code></td><td class=\"ok\">ok</td><td>[0-9.]+ s</td>")
                    .matcher(page);
            assertTrue(row.find(), name + ": " + page.substring(page.indexOf("<h2>Workflow"), page.indexOf("</table>", page.indexOf("<h2>Workflow"))));
            assertTrue(row.group(1).contains("--steps 40"), row.group(1));
            assertTrue(page.contains("<tr><td>report</td>") && page.contains(">running<"), name + ": the report's own step is running while it writes");
            JsonNode mqc = new ObjectMapper().readTree(work.resolve("report/report_mqc.json").toFile());
            assertEquals(40, mqc.at("/data/" + step + "/steps").asInt(), name);
        }
        String species = Files.readString(dir.resolve("dna-species/report/report.html"));
        assertTrue(species.contains("ROC: AT vs GC") && species.contains("Confusion matrix"));
        String audio = Files.readString(dir.resolve("audio-generate/report/report.html"));
        assertTrue(audio.contains("Audio: generate-1/gen.wav") && audio.contains("Audio: generate-2/gen.wav"));
        assertTrue(Files.readString(dir.resolve("dna-score/report/report.html")).contains("Score track: score/small.bedGraph"));
    }

    /**
     * Issue 20's audio example: piano and digit LMs, a digit classifier, batched generation scored by
     * score-generation, and a report with the scores and every generated clip (spectrogram + playable WAV).
     */
    @Test
    void audioExampleTrainsGeneratesScoresAndReports() throws Exception {
        Path yaml = EXAMPLE.resolveSibling("audio.yaml"), work = dir.resolve("audio");
        MainTest.Result r = MainTest.run("workflow", "run", yaml.toString(), "--work", work.toString(), "--cpus", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("7 steps done (0 cached)"), r.out());
        JsonNode scores = new ObjectMapper().readTree(work.resolve("score/scores.json").toFile());
        assertEquals(4, scores.at("/generated/clips").asInt());
        assertEquals(10, scores.at("/real/clips").asInt());
        String page = Files.readString(work.resolve("report/report.html"));
        // inside a workflow the sections carry the step ids (issue #15)
        for (String h : java.util.List.of("Training curve: piano-lm", "Held-out evaluation: digits-lm", "Held-out evaluation: digits-classifier",
                "Generation scores: score/scores.json", "Audio: piano-generate/001.wav", "Audio: digits-generate/003.wav"))
            assertTrue(page.contains("<h2>" + h + "</h2>"), h);
        // the generated clips are in the page, playable, and the scores are the JSON's
        assertEquals(6, page.split("<audio controls", -1).length - 1);
        assertTrue(page.contains(String.format(java.util.Locale.ROOT, "<td>%.4f</td>", scores.get("frechet_distance").asDouble())), "Frechet distance in the page");
        JsonNode mqc = new ObjectMapper().readTree(work.resolve("report/report_mqc.json").toFile());
        assertEquals(scores.at("/generated/inception_score").asDouble(), mqc.at("/data/score~1scores.json/inception_score").asDouble(), 1e-12);
    }

    @Test
    void graphSchemaExportAndParamsThroughTheCli() throws Exception {
        Path species = EXAMPLE.resolveSibling("dna-species.yaml"), png = dir.resolve("dag.png");
        MainTest.Result r = MainTest.run("workflow", "graph", species.toString(), "--format", "dot", "--png", png.toString());
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("digraph \"dna-species\" {") && r.out().contains("\"classify-at\" -> \"report\";"), r.out());
        java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(png.toFile());
        assertTrue(img.getHeight() >= 3 * 52, "3 rows of boxes: " + img.getHeight());
        r = MainTest.run("workflow", "graph", species.toString(), "--format", "svg");
        assertEquals("ssmtk workflow graph: --format must be mermaid or dot, not 'svg'", r.err().strip());

        r = MainTest.run("workflow", "schema");
        assertEquals(0, r.code(), r.err());
        JsonNode schema = new ObjectMapper().readTree(r.out());
        java.util.List<String> ops = new java.util.ArrayList<>();
        schema.at("/$defs/step/properties/op/enum").forEach(n -> ops.add(n.asText()));
        assertTrue(ops.contains("dna.train-classifier") && ops.contains("report.html") && !ops.contains("workflow.run"), ops.toString());

        r = MainTest.run("workflow", "validate", species.toString(), "--param", "train.steps=5", "--param", "classify-at.rc-average=false");
        assertEquals(0, r.code(), r.err());
        r = MainTest.run("workflow", "validate", species.toString(), "--param", "train.stepz=5");
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("ssmtk workflow validate: --param train.stepz: step 'train' (dna.train-classifier) has no param 'stepz' (known: "), r.err());

        Path nf = dir.resolve("nf");
        r = MainTest.run("workflow", "export", "--nextflow", nf.toString(), species.toString(), "--param", "train.steps=7");
        assertEquals(0, r.code(), r.err());
        assertTrue(Files.readString(nf.resolve("nextflow.config")).contains("train_steps = 7\n"));
        for (String f : java.util.List.of("main.nf", "modules/local/train/main.nf", "modules/local/classify-at/main.nf", "modules/local/report/main.nf"))
            assertTrue(Files.isRegularFile(nf.resolve(f)), f);
        // main.nf sends each file then its indexes, so the inputs must be declared in that order (two --class files here)
        String train = Files.readString(nf.resolve("modules/local/train/main.nf"));
        assertTrue(train.contains("path(class_1, stageAs: 'class_1/*'), path(class_1_index, stageAs: 'class_1/*'), path(class_2, stageAs: 'class_2/*'), "
                + "path(class_2_index, stageAs: 'class_2/*')"), train);
        r = MainTest.run("workflow", "export", "--nextflow", nf.toString(), species.toString());
        assertEquals(1, r.code());
        assertEquals("ssmtk workflow export: " + nf.toAbsolutePath() + ": folder is not empty (export writes a fresh pipeline)", r.err().strip());
    }

    @Test
    void exportScattersDnaScoreIntoShardsAndAGather() throws Exception {
        Path yaml = EXAMPLE.resolveSibling("dna-score.yaml");
        Path nf = dir.resolve("scattered");
        MainTest.Result r = MainTest.run("workflow", "export", "--nextflow", nf.toString(), "--scatter", "2000", yaml.toString());
        assertEquals(0, r.code(), r.err());
        String main = Files.readString(nf.resolve("main.nf")), config = Files.readString(nf.resolve("nextflow.config"));
        String score = Files.readString(nf.resolve("modules/local/score/main.nf")), gather = Files.readString(nf.resolve("modules/local/score_gather/main.nf"));
        // shards planned from the FASTA's .fai, one task each, gathered in shard order; later steps read the gathered file
        assertTrue(main.contains(".flatMap { t -> ssmtkShards(file(ssmtkPath(t[1], 'score_fasta') + '.fai', checkIfExists: true), params.score_scatter)"), main);
        assertTrue(main.contains(".withIndex().collect { sh, i -> [t[0] + [shard: sh, shard_index: i]] + t.drop(2) } }"), main);
        assertTrue(main.contains(".join(SCORE_GATHER.out.small_bedgraph)") && !main.contains(".join(SCORE.out"), main);
        assertTrue(score.contains("--shard '${meta.shard") && score.contains("tag \"${meta.id}${meta.shard ? ' ' + meta.shard : ''}\""), score);
        assertTrue(gather.contains("ssmtk gather bedgraph --output 'small.bedGraph' ${parts_1_args}"), gather);
        assertTrue(config.contains("score_scatter = 2000") && config.contains("publishDir = [enabled: false]"), config);
        // without --scatter nothing is split
        Path plain = dir.resolve("plain");
        assertEquals(0, MainTest.run("workflow", "export", "--nextflow", plain.toString(), yaml.toString()).code());
        assertFalse(Files.exists(plain.resolve("modules/local/score_gather")));
        assertFalse(Files.readString(plain.resolve("modules/local/score/main.nf")).contains("--shard"));

        r = MainTest.run("workflow", "export", "--nextflow", dir.resolve("bad").toString(), "--scatter", "0", yaml.toString());
        assertEquals(1, r.code());
        assertEquals("ssmtk workflow export: --scatter: '0' is not 'contigs' or a positive number of bases", r.err().strip());
        assertFalse(Files.exists(dir.resolve("bad")));
    }

    /**
     * classify-reads, score-variants and audio score steps scatter through a planning task (ssmtk scatter
     * plan over the BAM, the VCF, the manifest) and gather every output with ssmtk gather; an output no
     * gather can join (audio score's --plot) is refused at export.
     */
    @Test
    void exportPlansReadVariantAndClipShardsAndGathersEachOutput() throws Exception {
        Path data = DnaCommandsTest.DATA.toAbsolutePath().normalize(), audio = data.resolveSibling("audio").resolve("digits");
        Path yaml = Files.writeString(dir.resolve("scatter.yaml"), """
                name: scatter
                inputs: [%s, %s]
                steps:
                  - id: lm
                    op: dna.pretrain
                    params: {fasta: %s/small.fa, out: run, preset: tiny, steps: 2}
                  - id: variants
                    op: dna.score-variants
                    needs: [lm]
                    params: {model: "${lm}/run/model", fasta: %s/small.fa, vcf: %s/small.vcf.gz, out: scored.vcf.gz, window: 32}
                  - id: clf
                    op: dna.train-classifier
                    params: {class: [AT=%s/class-a.fa, GC=%s/class-b.fa], out: run, preset: tiny, steps: 2}
                  - id: reads
                    op: dna.classify-reads
                    needs: [clf]
                    params: {model: "${clf}/run/model", input: %s/reads.bam, output: calls.tsv, bam-out: tagged.bam}
                  - id: alm
                    op: audio.train-lm
                    params: {manifest: %s/train.tsv, out: run, sample-rate: 4000, steps: 2}
                  - id: clips
                    op: audio.score
                    needs: [alm]
                    params: {model: "${alm}/run/model", manifest: %s/test.tsv, output: clips.tsv, frames: frames.tsv}
                """.formatted(data, audio.getParent(), data, data, data, data, data, data, audio, audio));
        Path nf = dir.resolve("planned");
        MainTest.Result r = MainTest.run("workflow", "export", "--nextflow", nf.toString(), "--scatter", "contigs", "--scatter-clips", "4", yaml.toString());
        assertEquals(0, r.code(), r.err());
        String main = Files.readString(nf.resolve("main.nf")), config = Files.readString(nf.resolve("nextflow.config"));
        assertTrue(main.contains("READS_PLAN(ch_reads.map { t -> [t[0]] + t[3..4] }, params.reads_scatter)"), main);
        assertTrue(main.contains("ch_reads.join(READS_PLAN.out.shards)"), main);
        assertTrue(main.contains("READS.out.calls_tsv.join(READS.out.tagged_bam)"), main);
        assertTrue(main.contains("VARIANTS_PLAN(") && main.contains("CLIPS_PLAN(") && !main.contains("ssmtkShards"), main);
        assertTrue(Files.readString(nf.resolve("modules/local/reads_plan/main.nf")).contains("ssmtk scatter plan --reads '${input"));
        assertTrue(Files.readString(nf.resolve("modules/local/variants_plan/main.nf")).contains("ssmtk scatter plan --vcf '${vcf"));
        // an audio manifest names its WAVs relative to itself: main.nf lists them (ssmtkManifestClips) and every task
        // that reads the manifest, the planning one included, stages them and links them where the manifest points
        String plan = Files.readString(nf.resolve("modules/local/clips_plan/main.nf"));
        assertTrue(plan.contains("path(manifest_clips, stageAs: 'manifest_clips/?/*'), val(manifest_layout)")
                && plan.contains("${manifest_tree}\n    ssmtk scatter plan --clips ${ssmtkQuote(manifest_at)}"), plan);
        assertTrue(main.contains("CLIPS_PLAN(ch_clips.map { t -> [t[0]] + t[3..6] }, params.clips_scatter)"), main);
        assertTrue(main.contains("def ssmtkManifestClips(path) {")
                && main.contains("ssmtkIndexes(ssmtkPath(it[1], 'alm_manifest'))] + ssmtkManifestClips(ssmtkPath(it[1], 'alm_manifest')) }"), main);
        for (String step : java.util.List.of("alm", "clips")) {
            String module = Files.readString(nf.resolve("modules/local/" + step + "/main.nf"));
            assertTrue(module.contains("path(manifest_index, stageAs: 'manifest/*'), path(manifest_clips, stageAs: 'manifest_clips/?/*'), val(manifest_layout)")
                    && module.contains("def manifest_at = 'manifest/' + manifest_layout.manifest")
                    && module.contains("${manifest_tree}\n    ssmtk audio ") && module.contains("--manifest ${ssmtkQuote(manifest_at)} \\\\\n"), module);
        }
        assertFalse(Files.readString(nf.resolve("modules/local/variants/main.nf")).contains("_clips"), "only audio manifests list clips");
        String reads = Files.readString(nf.resolve("modules/local/reads_gather/main.nf"));
        assertTrue(reads.contains("ssmtk gather tsv --output 'calls.tsv' ${parts_1_args}") && reads.contains("ssmtk gather bam --output 'tagged.bam' ${parts_2_args}"), reads);
        String variants = Files.readString(nf.resolve("modules/local/variants_gather/main.nf"));
        assertTrue(variants.contains("stageAs: 'shards_1/?????.vcf.gz'") && variants.contains("path('scored.vcf.gz.tbi'), emit: scored_vcf_gz_tbi"), variants);
        assertTrue(Files.readString(nf.resolve("modules/local/clips_gather/main.nf")).contains("ssmtk gather tsv --output 'frames.tsv' ${parts_2_args}"));
        assertTrue(config.contains("reads_scatter = 'contigs'") && config.contains("clips_scatter = 4   // clips per shard"), config);
        assertTrue(config.contains("withName: 'READS_PLAN' {\n        publishDir = [enabled: false]"), config);
        String schema = Files.readString(nf.resolve("nextflow_schema.json")).replaceAll("\\s", "");
        assertTrue(schema.contains("\"clips_scatter\":{\"type\":\"integer\",\"minimum\":1,\"default\":4"), schema);
        // without --scatter-clips audio score stays one task
        Path genome = dir.resolve("genome");
        assertEquals(0, MainTest.run("workflow", "export", "--nextflow", genome.toString(), "--scatter", "contigs", yaml.toString()).code());
        assertFalse(Files.exists(genome.resolve("modules/local/clips_plan")));
        // a plot needs every clip: no gather joins PNG parts
        Files.writeString(yaml, Files.readString(yaml).replace("frames: frames.tsv}", "frames: frames.tsv, plot: nll.png}"));
        r = MainTest.run("workflow", "export", "--nextflow", dir.resolve("plot").toString(), "--scatter-clips", "4", yaml.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("step 'clips': --scatter cannot gather its output 'nll.png'"), r.err());
    }
}
