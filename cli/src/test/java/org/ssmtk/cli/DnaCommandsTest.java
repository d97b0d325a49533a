package org.ssmtk.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.genomics.tokenize.DnaVocabulary;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ssmtk dna pretrain} in-process on test-data/genomics. */
class DnaCommandsTest {
    static final Path DATA = Path.of("..", "test-data", "genomics").toAbsolutePath().normalize();
    @TempDir
    Path dir;

    static String[] pretrain(Path fasta, Path out, String... more) {
        String[] base = {"dna", "pretrain", "--fasta", fasta.toString(), "--out", out.toString(), "--preset", "tiny", "--seq-len", "64",
                "--batch", "2", "--holdout", "0.1", "--eval-windows", "4", "--checkpoint-every", "2", "--threads", "2", "--log-every", "1"};
        String[] all = java.util.Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }

    @Test
    void pretrainWritesAModelWithItsVocabularyAndHeldOutBitsPerBase() throws Exception {
        Path out = dir.resolve("run");
        MainTest.Result r = MainTest.run(pretrain(DATA.resolve("small.bgzf.fa.gz"), out, "--steps", "3", "--rc-augment"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("3 contigs, 9,500 bases (9,394 A/C/G/T, 100 N, 6 IUPAC codes read as N, 600 soft-masked)"), r.err());
        assertTrue(r.out().contains("held-out "), r.out());
        Path model = out.resolve("model");
        assertTrue(DnaVocabulary.check(model));
        assertEquals(16, MambaCheckpoint.load(model).config().vocabSize());
        JsonNode eval = new ObjectMapper().readTree(out.resolve("eval.json").toFile());
        double bpb = eval.get("bits_per_base").asDouble();
        // An untrained 16-way softmax sits near log2(16) = 4 bits; a few steps must not be wildly off.
        assertTrue(bpb > 1 && bpb < 6, "bits per base " + bpb);
        assertEquals(4, eval.get("windows").asInt());
        // issue 15: the Markov floors, on the same held-out targets as the model's number
        JsonNode floors = eval.get("markov_floors");
        assertEquals(3, floors.size(), eval.toString());
        for (JsonNode f : floors) {
            assertEquals(eval.get("bases").asLong(), f.get("bases").asLong(), f.toString());
            assertTrue(f.get("bits_per_base").asDouble() > 0.5 && f.get("bits_per_base").asDouble() < 2.5, f.toString());
        }
        assertEquals(6, floors.get(2).get("order").asInt());
        assertTrue(r.out().contains("order-6 Markov floor"), r.out());

        // Resuming continues the same run.
        r = MainTest.run(pretrain(DATA.resolve("small.bgzf.fa.gz"), out, "--steps", "4", "--rc-augment", "--resume"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().startsWith("steps 3..4") || r.out().startsWith("steps 4..4"), r.out());
        assertEquals(4, new ObjectMapper().readTree(out.resolve("eval.json").toFile()).get("step").asInt());

        // ... and refuses to continue with different data settings.
        r = MainTest.run(pretrain(DATA.resolve("small.bgzf.fa.gz"), out, "--steps", "5", "--resume"));
        assertEquals(1, r.code(), r.err());
    }

    @Test
    void sequenceLengthWarmupDoublesTheWindowAtConstantBasesPerStep() throws Exception {
        Path out = dir.resolve("slw");
        MainTest.Result r = MainTest.run(pretrain(DATA.resolve("small.fa"), out, "--steps", "6", "--seq-len-warmup", "16", "--seq-len-warmup-steps", "4"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("sequence-length warmup: 16 bases x 8 windows at steps 1..2"), r.err());
        assertTrue(r.err().contains("sequence-length warmup: 32 bases x 4 windows at steps 3..4"), r.err());
        assertTrue(r.err().contains("sequence-length warmup: 64 bases x 2 windows at steps 5..end"), r.err());
        // 2 x 64 bases every step, whatever the stage's length.
        java.util.List<String> lines = Files.readAllLines(out.resolve("metrics.jsonl"));
        for (int i = 0; i < lines.size(); i++)
            assertEquals(128L * (i + 1), new ObjectMapper().readTree(lines.get(i)).get("tokens").asLong(), lines.get(i));

        r = MainTest.run(pretrain(DATA.resolve("small.fa"), dir.resolve("slw2"), "--steps", "6", "--seq-len-warmup", "16"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("go together"), r.err());
        r = MainTest.run(pretrain(DATA.resolve("small.fa"), dir.resolve("slw3"), "--steps", "6", "--seq-len-warmup", "64", "--seq-len-warmup-steps", "2"));
        assertEquals(1, r.code());
        assertTrue(r.err().contains("must be below the target length"), r.err());
        assertFalse(Files.exists(dir.resolve("slw3").resolve("model")));
    }

    @Test
    void regionsRestrictTraining() throws Exception {
        Path out = dir.resolve("bed");
        MainTest.Result r = MainTest.run(pretrain(DATA.resolve("small.fa.gz"), out, "--steps", "1", "--regions", DATA.resolve("small.bed").toString()));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("5,000 bases for training, 950 held out"), r.err());
        Path bad = Files.writeString(dir.resolve("bad.bed"), "chrX\t0\t100\n");
        r = MainTest.run(pretrain(DATA.resolve("small.fa.gz"), dir.resolve("bad"), "--steps", "1", "--regions", bad.toString()));
        assertEquals(1, r.code());
        assertEquals("ssmtk dna pretrain: " + bad + ": line 1: contig 'chrX' is not in " + DATA.resolve("small.fa.gz"), r.err().strip());
    }

    @Test
    void badInputsAreOneLineAndExitOne() throws Exception {
        byte[] gz = Files.readAllBytes(DATA.resolve("small.fa.gz"));
        Path cut = dir.resolve("cut.fa.gz");
        Files.write(cut, java.util.Arrays.copyOf(gz, gz.length / 2));
        MainTest.Result r = MainTest.run(pretrain(cut, dir.resolve("a"), "--steps", "1"));
        assertEquals(1, r.code());
        assertTrue(r.err().startsWith("ssmtk dna pretrain: " + cut + ": truncated or corrupt compressed data"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());

        Path empty = Files.createFile(dir.resolve("empty.fa"));
        r = MainTest.run(pretrain(empty, dir.resolve("b"), "--steps", "1"));
        assertEquals(1, r.code());
        assertEquals("ssmtk dna pretrain: " + empty + ": empty file (no FASTA records)", r.err().strip());

        r = MainTest.run("dna", "pretrain", "--fasta", DATA.resolve("small.fa").toString(), "--out", dir.resolve("c").toString(),
                "--preset", "tiny", "--holdout", "0.1", "--seq-len", "7000", "--steps", "1");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("no training region holds a window of 7000 bases (the longest has 5400)"), r.err());
        assertFalse(Files.exists(dir.resolve("c").resolve("model")));
    }

    @Test
    void aModelWithAnotherVocabularyIsRefused() throws Exception {
        Path model = dir.resolve("m");
        Files.createDirectories(model);
        Files.writeString(model.resolve(DnaVocabulary.FILE), "{\"type\": \"bpe\", \"version\": 1}");
        MainTest.Result r = MainTest.run("dna", "pretrain", "--fasta", DATA.resolve("small.fa").toString(), "--out", dir.resolve("o").toString(),
                "--model", model.toString(), "--steps", "1");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("is not ssmtk-dna-character v1"), r.err());
    }
}
