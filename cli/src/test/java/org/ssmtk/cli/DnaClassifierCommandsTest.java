package org.ssmtk.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.classify.ClassLabels;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ssmtk dna train-classifier} and {@code ssmtk dna classify} in-process on test-data/genomics/class-*.fa. */
class DnaClassifierCommandsTest {
    static final Path DATA = DnaCommandsTest.DATA;
    static final String A = "AT=" + DATA.resolve("class-a.fa"), B = "GC=" + DATA.resolve("class-b.fa");
    @TempDir
    Path dir;

    static String[] train(Path out, String... more) {
        String[] base = {"dna", "train-classifier", "--class", A, "--class", B, "--out", out.toString(), "--preset", "tiny", "--seq-len", "64",
                "--batch", "8", "--holdout", "0.2", "--lr", "3e-3", "--checkpoint-every", "0", "--threads", "2", "--log-every", "5"};
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    @Test
    void trainsAClassifierThatBeatsChanceOnHeldOutWindowsAndClassifies() throws Exception {
        Path out = dir.resolve("run");
        MainTest.Result r = MainTest.run(train(out, "--steps", "30", "--rc-augment"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("held-out accuracy"), r.out());
        Path model = out.resolve("model");
        assertTrue(DnaVocabulary.check(model));
        assertEquals(2, MambaCheckpoint.load(model).config().numLabels());
        assertEquals(List.of("AT", "GC"), ClassLabels.read(model, 2).names());
        JsonNode eval = new ObjectMapper().readTree(out.resolve("eval.json").toFile());
        // 2 x (600 + 400 held-out bases) tile into 2 x (9 + 6) windows of 64.
        assertEquals(30, eval.get("examples").asInt(), eval.toString());
        // Chance is 0.5; the classes differ in GC content (35% vs 65%), which 30 steps learn.
        assertTrue(eval.get("accuracy").asDouble() >= 0.8, eval.toString());
        assertTrue(eval.get("roc_auc").asDouble() >= 0.8, eval.toString());
        assertEquals(15, eval.at("/per_class/AT/examples").asInt());
        assertTrue(eval.at("/per_class/GC/recall").isNumber());
        assertEquals(2, eval.at("/confusion_matrix/counts").size());
        assertTrue(Files.exists(out.resolve("metrics.jsonl")));

        // classify: one record cut into windows, two short ones whole; probabilities sum to 1.
        Path fa = Files.writeString(dir.resolve("q.fa"), ">short1\nATATTAAATTAT\n>short2\nGCGGCCGCGC\n>long\n" + "AT".repeat(50) + "\n");
        Path tsv = dir.resolve("calls.tsv");
        r = MainTest.run("dna", "classify", "--model", model.toString(), "--fasta", fa.toString(), "--output", tsv.toString(), "--rc-average",
                "--threads", "2");
        assertEquals(0, r.code(), r.err());
        List<String> lines = Files.readAllLines(tsv);
        assertEquals("id\tlabel\tp_AT\tp_GC", lines.get(0));
        assertEquals(List.of("short1", "short2", "long:1-64", "long:65-100"), lines.stream().skip(1).map(l -> l.split("\t")[0]).toList());
        for (String line : lines.subList(1, lines.size())) {
            String[] f = line.split("\t");
            double p = Double.parseDouble(f[2]), q = Double.parseDouble(f[3]);
            assertEquals(1, p + q, 1e-5, line);
            assertEquals(p >= q ? "AT" : "GC", f[1], line);
        }
        assertEquals("AT", lines.get(1).split("\t")[1]);
        assertEquals("GC", lines.get(2).split("\t")[1]);
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0}")
    @org.junit.jupiter.params.provider.ValueSource(strings = {"mamba", "mamba2"})
    void fineTunesAPretrainedDnaModelWithAFreshHead(String modelType) throws Exception {
        Path pt = dir.resolve("pt"), config = dir.resolve("config.json");
        // the tiny preset's shape, or a Mamba-2 as wide (4 heads of 32, two groups, SSD chunks of 16)
        Files.writeString(config, modelType.equals("mamba") ? org.ssmtk.core.config.Presets.get("tiny").toJson().toString()
                : "{\"model_type\": \"mamba2\", \"vocab_size\": 16, \"hidden_size\": 64, \"state_size\": 16, \"num_hidden_layers\": 2,"
                + " \"num_heads\": 4, \"head_dim\": 32, \"n_groups\": 2, \"chunk_size\": 16, \"tie_word_embeddings\": true}");
        MainTest.Result r = MainTest.run("dna", "pretrain", "--fasta", DATA.resolve("small.fa").toString(), "--out", pt.toString(),
                "--config", config.toString(), "--seq-len", "32", "--batch", "2", "--steps", "2", "--eval-windows", "2", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        MambaCheckpoint lm = MambaCheckpoint.load(pt.resolve("model"));
        r = MainTest.run("dna", "train-classifier", "--class", A, "--class", B, "--model", pt.resolve("model").toString(), "--out",
                dir.resolve("ft").toString(), "--seq-len", "32", "--batch", "2", "--steps", "1", "--lr", "1e-9", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        MambaCheckpoint ft = MambaCheckpoint.load(dir.resolve("ft").resolve("model"));
        assertEquals(2, ft.config().numLabels());
        assertEquals(modelType, ft.config().modelType());
        assertEquals(lm.parameters().size() + 2, ft.parameters().size());
        // The backbone is the pretrained one (one step at lr 1e-9 moves it by less than this).
        float[] before = lm.parameters().get("backbone.embeddings.weight").data(), after = ft.parameters().get("backbone.embeddings.weight").data();
        for (int i = 0; i < before.length; i++) assertEquals(before[i], after[i], 1e-6);
    }

    @Test
    void badInputsAreOneLineAndExitOneWithNoOutput() throws Exception {
        Path out = dir.resolve("bad");
        MainTest.Result r = MainTest.run(train(out, "--steps", "1", "--class", "worm=" + dir.resolve("missing.fa")));
        assertEquals(1, r.code());
        assertEquals("ssmtk dna train-classifier: --class worm=" + dir.resolve("missing.fa") + ": " + dir.resolve("missing.fa") + ": no such file",
                r.err().strip());
        assertFalse(Files.exists(out));

        r = MainTest.run("dna", "train-classifier", "--class", A, "--out", out.toString(), "--steps", "1");
        assertEquals(1, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("at least 2 classes"), r.err());
        assertFalse(Files.exists(out));

        r = MainTest.run("dna", "train-classifier", "--class", A, "--class", "AT=" + DATA.resolve("class-b.fa"), "--out", out.toString(), "--steps", "1");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("given twice"), r.err());

        // a language model has no head to classify with
        Path pt = dir.resolve("pt");
        r = MainTest.run("dna", "pretrain", "--fasta", DATA.resolve("small.fa").toString(), "--out", pt.toString(), "--preset", "tiny",
                "--seq-len", "32", "--batch", "2", "--steps", "1", "--eval-windows", "1", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        Path tsv = dir.resolve("x.tsv");
        r = MainTest.run("dna", "classify", "--model", pt.resolve("model").toString(), "--fasta", DATA.resolve("class-a.fa").toString(), "--output",
                tsv.toString());
        assertEquals(1, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains("has no classification head"), r.err());
        assertFalse(Files.exists(tsv));
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().contains("x.tsv")), "no temporary file is left");
        }
    }
}
