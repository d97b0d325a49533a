package org.ssmtk.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The three labelled-input forms (--class, --fasta + --labels, --reference + --labeled-bed) of
 * train-classifier, kmer-baseline and classify, their errors, and --rc-average's strand independence.
 */
class DnaLabeledInputsTest {
    static final Path DATA = DnaCommandsTest.DATA;
    @TempDir
    static Path dir;
    static Path both, labels, bed, model;

    @BeforeAll
    static void data() throws Exception {
        // class-a.fa (a1, a2: AT) and class-b.fa (b1, b2: GC) as one FASTA with a label per record, and as BED intervals.
        both = Files.writeString(dir.resolve("both.fa"), Files.readString(DATA.resolve("class-a.fa")) + Files.readString(DATA.resolve("class-b.fa")));
        labels = Files.writeString(dir.resolve("labels.tsv"), "id\tlabel\na1\tAT\na2\tAT\nb1\tGC\nb2\tGC\n");
        bed = Files.writeString(dir.resolve("labels.bed"), "a1\t0\t3000\tAT\na2\t0\t2000\tAT\nb1\t0\t3000\tGC\nb2\t0\t2000\tGC\n");
        MainTest.Result r = MainTest.run(DnaClassifierCommandsTest.train(dir.resolve("byclass"), "--steps", "20", "--rc-augment"));
        assertEquals(0, r.code(), r.err());
        model = dir.resolve("byclass").resolve("model");
    }

    static String[] train(Path out, String... inputs) {
        String[] base = {"dna", "train-classifier", "--out", out.toString(), "--preset", "tiny", "--seq-len", "64", "--batch", "8", "--holdout", "0.2",
                "--lr", "3e-3", "--checkpoint-every", "0", "--threads", "2", "--log-every", "5", "--steps", "20", "--rc-augment"};
        String[] all = java.util.Arrays.copyOf(base, base.length + inputs.length);
        System.arraycopy(inputs, 0, all, base.length, inputs.length);
        return all;
    }

    static List<String> losses(List<String> metricsLines) throws Exception {
        List<String> out = new java.util.ArrayList<>();
        for (String l : metricsLines) out.add(new ObjectMapper().readTree(l).get("loss").asText());
        return out;
    }

    static JsonNode json(Path p) throws Exception {
        return new ObjectMapper().readTree(p.toFile());
    }

    @Test
    void theThreeFormsGiveTheSameRun() throws Exception {
        // Same classes, same regions in the same order: the same batches, losses and held-out metrics as --class.
        JsonNode ref = json(dir.resolve("byclass").resolve("eval.json"));
        List<String> refLoss = Files.readAllLines(dir.resolve("byclass").resolve("metrics.jsonl"));
        String[][] forms = {{"--fasta", both.toString(), "--labels", labels.toString()},
                {"--reference", both.toString(), "--labeled-bed", bed.toString()}};
        for (String[] form : forms) {
            Path out = dir.resolve("form" + form[0]);
            MainTest.Result r = MainTest.run(train(out, form));
            assertEquals(0, r.code(), r.err());
            JsonNode eval = json(out.resolve("eval.json"));
            assertEquals(ref.get("confusion_matrix"), eval.get("confusion_matrix"), form[0]);
            assertEquals(ref.get("accuracy"), eval.get("accuracy"), form[0]);
            assertEquals(losses(refLoss), losses(Files.readAllLines(out.resolve("metrics.jsonl"))), form[0]);
        }
    }

    @Test
    void classifyScoresLabelledRecordsAndIntervals() throws Exception {
        Path tsv = dir.resolve("calls.tsv"), metrics = dir.resolve("m.json");
        MainTest.Result r = MainTest.run("dna", "classify", "--model", model.toString(), "--fasta", both.toString(), "--labels", labels.toString(),
                "--output", tsv.toString(), "--metrics", metrics.toString(), "--threads", "2");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("accuracy"), r.out());
        JsonNode m = json(metrics);
        long rows = Files.readAllLines(tsv).size() - 1;
        assertEquals(rows, m.get("examples").asLong());
        // (3000 + 2000) / 64 per class, rounded up per record: 47 + 32 windows each.
        assertEquals(2 * (47 + 32), rows);
        assertTrue(m.get("accuracy").asDouble() >= 0.8, m.toString());
        assertTrue(m.get("macro_f1").isNumber());

        // The same records as BED intervals: the same windows (ids CONTIG:START-END), the same probabilities.
        Path tsv2 = dir.resolve("calls2.tsv"), metrics2 = dir.resolve("m2.json");
        r = MainTest.run("dna", "classify", "--model", model.toString(), "--reference", both.toString(), "--labeled-bed", bed.toString(),
                "--output", tsv2.toString(), "--metrics", metrics2.toString(), "--threads", "2");
        assertEquals(0, r.code(), r.err());
        assertEquals(Files.readAllLines(tsv), Files.readAllLines(tsv2));
        assertEquals(m.get("confusion_matrix"), json(metrics2).get("confusion_matrix"));
    }

    @Test
    void rcAverageGivesAPalindromeFreeSequenceAndItsReverseComplementOnePrediction() throws Exception {
        String s = "ATTGACCGTAAGCTTAGGCATGCAATCGGATCCAATGGCTTTAGCAACGTGGTACCAATTGAC";
        StringBuilder rc = new StringBuilder();
        for (int i = s.length() - 1; i >= 0; i--) rc.append("TGCA".charAt("ACGT".indexOf(s.charAt(i))));
        assertNotEquals(s, rc.toString(), "the test needs a sequence that is not its own reverse complement");
        Path fa = Files.writeString(dir.resolve("rc.fa"), ">fwd\n" + s + "\n>rev\n" + rc + "\n");
        double[][] plain = probabilities(fa, false), averaged = probabilities(fa, true);
        // Without averaging the two strands are read differently (so the averaged equality below is not vacuous)...
        assertTrue(Math.abs(plain[0][0] - plain[1][0]) > 1e-4, plain[0][0] + " vs " + plain[1][0]);
        // ... with it, they are one prediction.
        for (int c = 0; c < 2; c++) assertEquals(averaged[0][c], averaged[1][c], 1e-5);
        assertEquals((plain[0][0] + plain[1][0]) / 2, averaged[0][0], 1e-5);
    }

    private static double[][] probabilities(Path fa, boolean rc) throws Exception {
        Path tsv = dir.resolve("rc-" + rc + ".tsv");
        MainTest.Result r = rc
                ? MainTest.run("dna", "classify", "--model", model.toString(), "--fasta", fa.toString(), "--output", tsv.toString(), "--threads", "2", "--rc-average")
                : MainTest.run("dna", "classify", "--model", model.toString(), "--fasta", fa.toString(), "--output", tsv.toString(), "--threads", "2");
        assertEquals(0, r.code(), r.err());
        return Files.readAllLines(tsv).stream().skip(1)
                .map(l -> new double[]{Double.parseDouble(l.split("\t")[2]), Double.parseDouble(l.split("\t")[3])}).toArray(double[][]::new);
    }

    @Test
    void kmerBaselineScoresTrainClassifiersWindows() throws Exception {
        Path out = dir.resolve("kmer");
        MainTest.Result r = MainTest.run("dna", "kmer-baseline", "--class", DnaClassifierCommandsTest.A, "--class", DnaClassifierCommandsTest.B, "--out",
                out.toString(), "--seq-len", "64", "--holdout", "0.2", "--k", "3", "--train-windows", "256", "--iterations", "100");
        assertEquals(0, r.code(), r.err());
        JsonNode eval = json(out.resolve("eval.json")), mamba = json(dir.resolve("byclass").resolve("eval.json"));
        assertEquals(mamba.get("examples"), eval.get("examples"));
        assertEquals(mamba.at("/per_class/AT/examples"), eval.at("/per_class/AT/examples"));
        // GC content alone separates these classes; 3-mer frequencies carry it.
        assertTrue(eval.get("accuracy").asDouble() >= 0.9, eval.toString());
        r = MainTest.run("dna", "kmer-baseline", "--class", DnaClassifierCommandsTest.A, "--class", DnaClassifierCommandsTest.B, "--out", out.toString());
        assertEquals(1, r.code());
        assertTrue(r.err().contains("exists already"), r.err());
    }

    /** --method markov scores the same held-out windows as the softmax baseline; composition (GC) separates these classes. */
    @Test
    void markovBaselineScoresTheSameWindows() throws Exception {
        String[] common = {"dna", "kmer-baseline", "--class", DnaClassifierCommandsTest.A, "--class", DnaClassifierCommandsTest.B,
                "--seq-len", "64", "--holdout", "0.2"};
        MainTest.Result soft = MainTest.run(MainTest.concat(common, "--out", dir.resolve("soft").toString(), "--k", "3",
                "--train-windows", "64", "--iterations", "20"));
        assertEquals(0, soft.code(), soft.err());
        MainTest.Result markov = MainTest.run(MainTest.concat(common, "--out", dir.resolve("markov").toString(), "--method", "markov",
                "--order", "3"));
        assertEquals(0, markov.code(), markov.err());
        assertTrue(markov.out().contains("order-3 Markov baseline"), markov.out());
        JsonNode m = json(dir.resolve("markov/eval.json")), s = json(dir.resolve("soft/eval.json"));
        assertEquals(s.get("examples"), m.get("examples"));
        assertEquals(3, m.get("order").asInt());
        assertTrue(m.get("accuracy").asDouble() >= 0.9, m.toString());
        fails("--order", MainTest.concat(common, "--out", dir.resolve("m2").toString(), "--method", "markov", "--order", "11"));
        fails("--method", MainTest.concat(common, "--out", dir.resolve("m3").toString(), "--method", "hmm"));
    }

    /** --seq-len-warmup: short windows first (more of them per step), then --seq-len; recorded in the run for --resume. */
    @Test
    void trainClassifierWarmsUpTheWindowLength() throws Exception {
        Path out = dir.resolve("slw");
        MainTest.Result r = MainTest.run("dna", "train-classifier", "--class", DnaClassifierCommandsTest.A, "--class", DnaClassifierCommandsTest.B,
                "--out", out.toString(), "--preset", "tiny", "--seq-len", "128", "--batch", "2", "--seq-len-warmup", "32",
                "--seq-len-warmup-steps", "2", "--holdout", "0.2", "--steps", "3", "--threads", "1");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.err().contains("warmup: 32 bases x 8 windows at steps 1..1") && r.err().contains("warmup: 64 bases x 4 windows at steps 2..2")
                && r.err().contains("warmup: 128 bases x 2 windows at steps 3..end"), r.err());
        fails("go together", "dna", "train-classifier", "--class", DnaClassifierCommandsTest.A, "--class", DnaClassifierCommandsTest.B,
                "--out", dir.resolve("slw2").toString(), "--seq-len-warmup", "32", "--steps", "1");
    }

    static void fails(String expected, String... args) throws Exception {
        MainTest.Result r = MainTest.run(args);
        assertEquals(1, r.code(), r.out() + r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().contains(expected), "wanted '" + expected + "' in: " + r.err());
    }

    @Test
    void badLabelledInputsAreOneLineErrorsAndWriteNothing() throws Exception {
        Path out = dir.resolve("bad");
        Path unknown = Files.writeString(dir.resolve("unknown.tsv"), "a1\tAT\na2\tAT\nb1\tGC\nb2\tGC\nzz9\tGC\n");
        fails(unknown + ": record id 'zz9' is not in " + both, train(out, "--fasta", both.toString(), "--labels", unknown.toString()));
        Path partial = Files.writeString(dir.resolve("partial.tsv"), "a1\tAT\na2\tAT\nb1\tGC\n");
        fails(both + ": record 'b2' has no label in " + partial, train(out, "--fasta", both.toString(), "--labels", partial.toString()));
        Path oneColumn = Files.writeString(dir.resolve("one.tsv"), "a1\n");
        fails(oneColumn + ": line 1: wants record-id<TAB>label", train(out, "--fasta", both.toString(), "--labels", oneColumn.toString()));
        Path emptyTsv = Files.writeString(dir.resolve("empty.tsv"), "id\tlabel\n");
        fails(emptyTsv + ": no labels", train(out, "--fasta", both.toString(), "--labels", emptyTsv.toString()));
        Path noLabel = Files.writeString(dir.resolve("nolabel.bed"), "a1\t0\t3000\tAT\nb1\t0\t3000\n");
        fails(noLabel + ": line 2: no label in column 4", train(out, "--reference", both.toString(), "--labeled-bed", noLabel.toString()));
        Path otherContig = Files.writeString(dir.resolve("contig.bed"), "a1\t0\t3000\tAT\nchr7\t0\t100\tGC\n");
        fails(otherContig + ": line 2: contig 'chr7' is not in " + both, train(out, "--reference", both.toString(), "--labeled-bed", otherContig.toString()));
        Path overlap = Files.writeString(dir.resolve("overlap.bed"), "a1\t0\t1000\tAT\na1\t2000\t3000\tAT\nb1\t0\t100\tGC\na1\t900\t1500\tGC\n");
        fails(overlap + ": intervals of two classes overlap: a1:0-1000 (AT) and a1:900-1500 (GC)",
                train(out, "--reference", both.toString(), "--labeled-bed", overlap.toString()));
        Path oneClass = Files.writeString(dir.resolve("oneclass.bed"), "a1\t0\t3000\tAT\n");
        fails("at least 2 classes", train(out, "--reference", both.toString(), "--labeled-bed", oneClass.toString()));
        fails("--labels needs --fasta", train(out, "--labels", labels.toString()));
        fails("exactly one of", train(out, "--class", DnaClassifierCommandsTest.A, "--fasta", both.toString(), "--labels", labels.toString()));
        assertFalse(Files.exists(out));

        Path tsv = dir.resolve("bad.tsv");
        Path wrong = Files.writeString(dir.resolve("wrong.tsv"), "a1\tAT\na2\tAT\nb1\tGC\nb2\tworm\n");
        fails(wrong + ": label 'worm' is not one of the model's classes (AT, GC)",
                "dna", "classify", "--model", model.toString(), "--fasta", both.toString(), "--labels", wrong.toString(), "--output", tsv.toString());
        fails("--metrics needs true labels",
                "dna", "classify", "--model", model.toString(), "--fasta", both.toString(), "--metrics", dir.resolve("m.json").toString(), "--output", tsv.toString());
        fails(otherContig + ": line 2: contig 'chr7' is not in " + both,
                "dna", "classify", "--model", model.toString(), "--reference", both.toString(), "--labeled-bed", otherContig.toString(), "--output", tsv.toString());
        assertFalse(Files.exists(tsv));
    }
}
