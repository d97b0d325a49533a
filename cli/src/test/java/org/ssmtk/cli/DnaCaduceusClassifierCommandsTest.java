package org.ssmtk.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.ssmtk.core.backend.cpu.CpuBackend;
import org.ssmtk.core.config.MambaConfig;
import org.ssmtk.core.nn.MambaCheckpoint;
import org.ssmtk.core.nn.MambaModel;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A Caduceus through dna train-classifier, classify and classify-reads: its own tokenizer's ids
 * (the calls are recomputed here from the model with ids written out by hand), and a Caduceus-PS
 * classifier calls a sequence and its reverse complement alike without --rc-average.
 */
class DnaCaduceusClassifierCommandsTest {
    @TempDir
    Path dir;

    /** Caduceus' ids as its tokenizer numbers the characters (A C G T N = 7..11), written out independently of the code under test. */
    static int[] caduceusIds(String bases) {
        int[] ids = new int[bases.length()];
        for (int i = 0; i < ids.length; i++) ids[i] = 7 + "ACGTN".indexOf(bases.charAt(i));
        return ids;
    }

    static double[] softmax(float[] logits) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (float v : logits) max = Math.max(max, v);
        double[] p = new double[logits.length];
        for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp(logits[i] - max);
        for (int i = 0; i < p.length; i++) p[i] /= sum;
        return p;
    }

    /** id -> probabilities of a calls TSV (columns from the third). */
    static Map<String, double[]> calls(Path tsv, int skipColumns) throws Exception {
        Map<String, double[]> out = new LinkedHashMap<>();
        for (String line : Files.readAllLines(tsv).subList(1, Files.readAllLines(tsv).size())) {
            String[] f = line.split("\t");
            double[] p = new double[f.length - skipColumns];
            for (int i = 0; i < p.length; i++) p[i] = Double.parseDouble(f[skipColumns + i]);
            out.put(f[0], p);
        }
        return out;
    }

    static Map<String, String> records(Path fasta) throws Exception {
        Map<String, String> out = new LinkedHashMap<>();
        String name = null;
        StringBuilder sb = new StringBuilder();
        for (String line : Files.readAllLines(fasta)) {
            if (line.startsWith(">")) {
                if (name != null) out.put(name, sb.toString());
                name = line.substring(1).split("\\s")[0];
                sb.setLength(0);
            } else sb.append(line.strip().toUpperCase());
        }
        out.put(name, sb.toString());
        return out;
    }

    static Path fasta(Path file, Map<String, String> recs) throws Exception {
        StringBuilder sb = new StringBuilder();
        recs.forEach((k, v) -> sb.append('>').append(k).append('\n').append(v).append('\n'));
        return Files.writeString(file, sb.toString());
    }

    static Map<String, String> reverseComplemented(Map<String, String> recs) {
        Map<String, String> out = new LinkedHashMap<>();
        recs.forEach((k, v) -> out.put(k, DnaScoreVariantsCommandTest.reverseComplement(v)));
        return out;
    }

    @Test
    void aCaduceusPsClassifierTrainsCallsByItsTokensAndIsStrandInvariant() throws Exception {
        Path out = dir.resolve("ps");
        MainTest.Result r = MainTest.run(DnaClassifierCommandsTest.train(out, "--arch", "caduceus-ps", "--steps", "30"));
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("held-out accuracy") && r.err().contains("as caduceus-ps"), r.out() + r.err());
        Path model = out.resolve("model");
        MambaCheckpoint ck = MambaCheckpoint.load(model);
        assertEquals(MambaConfig.CADUCEUS, ck.config().modelType());
        assertTrue(ck.config().caduceus().rcps() && ck.config().numLabels() == 2, "a PS with its 2-class head, read back from config.json");
        assertTrue(Files.isRegularFile(model.resolve("tokenizer_config.json")) && !Files.exists(model.resolve("dna_vocab.json")));
        JsonNode eval = new ObjectMapper().readTree(out.resolve("eval.json").toFile());
        System.out.println("Caduceus-PS classifier, 30 steps: held-out " + eval.path("accuracy") + " accuracy, ROC-AUC " + eval.path("roc_auc"));
        // the classes differ in GC content (35% vs 65%): a working pipeline learns that in 30 steps, a broken token map does not
        assertTrue(eval.path("roc_auc").asDouble() >= 0.8, eval.toString());

        Map<String, String> recs = records(DnaCommandsTest.DATA.resolve("class-b.fa"));
        recs.putAll(records(DnaCommandsTest.DATA.resolve("class-a.fa")));
        Map<String, String> pieces = new LinkedHashMap<>(); // records of many lengths, each classified whole
        int k = 0;
        for (var e : recs.entrySet())
            for (int len : new int[]{64, 37, 200}) pieces.put(e.getKey() + "_" + k++, e.getValue().substring(100 * k, 100 * k + len));
        Path fwd = fasta(dir.resolve("fwd.fa"), pieces), rev = fasta(dir.resolve("rev.fa"), reverseComplemented(pieces));
        Path fwdCalls = dir.resolve("fwd.tsv"), revCalls = dir.resolve("rev.tsv");
        for (Path[] io : new Path[][]{{fwd, fwdCalls}, {rev, revCalls}}) {
            r = MainTest.run("dna", "classify", "--model", model.toString(), "--fasta", io[0].toString(), "--output", io[1].toString(),
                    "--seq-len", "1000", "--batch", "2", "--threads", "2");
            assertEquals(0, r.code(), r.err());
        }
        Map<String, double[]> pf = calls(fwdCalls, 2), pr = calls(revCalls, 2);
        assertEquals(pieces.keySet(), pf.keySet());
        double worstRc = 0, worstHand = 0;
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel m = MambaModel.load(cpu, ck);
            for (var e : pieces.entrySet()) {
                double[] want = softmax(m.classify(caduceusIds(e.getValue()), 1, e.getValue().length()));
                for (int c = 0; c < 2; c++) {
                    worstHand = Math.max(worstHand, Math.abs(want[c] - pf.get(e.getKey())[c]));
                    worstRc = Math.max(worstRc, Math.abs(pf.get(e.getKey())[c] - pr.get(e.getKey())[c]));
                }
            }
        }
        System.out.printf("dna classify on Caduceus-PS: |p - recomputed| <= %.2e, |p(x) - p(rc(x))| <= %.2e over %d sequences%n", worstHand,
                worstRc, pieces.size());
        assertTrue(worstHand < 1e-5, "calls recomputed with Caduceus' ids: " + worstHand);
        assertTrue(worstRc < 1e-5, "a sequence and its reverse complement: " + worstRc);

        // classify-reads: FASTQ reads and their reverse complements get one call per pair
        StringBuilder fq = new StringBuilder();
        List<String> names = new ArrayList<>();
        for (var e : pieces.entrySet()) {
            for (String[] read : new String[][]{{e.getKey() + "_f", e.getValue()}, {e.getKey() + "_r", DnaScoreVariantsCommandTest.reverseComplement(e.getValue())}})
                fq.append('@').append(read[0]).append('\n').append(read[1]).append("\n+\n").append("I".repeat(read[1].length())).append('\n');
            names.add(e.getKey());
        }
        Path reads = Files.writeString(dir.resolve("reads.fq"), fq.toString()), readCalls = dir.resolve("reads.tsv");
        r = MainTest.run("dna", "classify-reads", "--model", model.toString(), "--input", reads.toString(), "--output", readCalls.toString(),
                "--seq-len", "1000", "--threads", "2");
        assertEquals(0, r.code(), r.err());
        Map<String, double[]> pq = calls(readCalls, 3);
        for (String n : names)
            for (int c = 0; c < 2; c++) {
                assertEquals(pf.get(n)[c], pq.get(n + "_f")[c], 1e-5, n + ": a read gets its sequence's call");
                assertEquals(pq.get(n + "_f")[c], pq.get(n + "_r")[c], 1e-5, n + ": and its reverse complement the same");
            }
    }

    /** train-classifier's test arguments with --model instead of --preset. */
    static String[] fineTune(Path out, Path model, String... more) {
        List<String> args = new ArrayList<>(List.of(DnaClassifierCommandsTest.train(out, more)));
        int i = args.indexOf("--preset");
        args.set(i, "--model");
        args.set(i + 1, model.toString());
        return args.toArray(String[]::new);
    }

    @Test
    void aPretrainedCaduceusPhFineTunesAndRcAveragesInItsOwnIds() throws Exception {
        Path pre = dir.resolve("pre");
        MainTest.Result r = MainTest.run("dna", "pretrain", "--fasta", DnaScoreCommandTest.SMALL.toString(), "--out", pre.toString(),
                "--preset", "tiny", "--arch", "caduceus-ph", "--seq-len", "32", "--batch", "2", "--steps", "2", "--eval-windows", "1",
                "--threads", "2", "--checkpoint-every", "0");
        assertEquals(0, r.code(), r.err());
        r = MainTest.run(fineTune(dir.resolve("bad"), pre.resolve("model"), "--arch", "caduceus-ps", "--steps", "1"));
        assertEquals(1, r.code(), r.err());
        assertTrue(r.err().contains("--arch chooses the family of a fresh model"), r.err());
        Path out = dir.resolve("ph");
        r = MainTest.run(fineTune(out, pre.resolve("model"), "--pooling", "last", "--steps", "3"));
        assertEquals(0, r.code(), r.err());
        Path model = out.resolve("model");
        MambaCheckpoint ck = MambaCheckpoint.load(model);
        assertFalse(ck.config().caduceus().rcps());
        assertEquals(MambaConfig.POOL_LAST, ck.config().pooling());

        Map<String, String> q = new LinkedHashMap<>();
        q.put("s1", "ACGTTGCAAGGCTTAACGTAGC");
        q.put("s2", "GGGCCCGCGATATATTTAAAGCGCNNACG");
        Path fa = fasta(dir.resolve("q.fa"), q), tsv = dir.resolve("q.tsv"), plain = dir.resolve("plain.tsv");
        r = MainTest.run("dna", "classify", "--model", model.toString(), "--fasta", fa.toString(), "--output", tsv.toString(), "--rc-average",
                "--threads", "2");
        assertEquals(0, r.code(), r.err());
        r = MainTest.run("dna", "classify", "--model", model.toString(), "--fasta", fa.toString(), "--output", plain.toString(), "--threads", "2");
        assertEquals(0, r.code(), r.err());
        Map<String, double[]> p = calls(tsv, 2), forwardOnly = calls(plain, 2);
        try (CpuBackend cpu = new CpuBackend(2)) {
            MambaModel m = MambaModel.load(cpu, ck);
            for (var e : q.entrySet()) {
                String s = e.getValue();
                double[] a = softmax(m.classify(caduceusIds(s), 1, s.length()));
                double[] b = softmax(m.classify(caduceusIds(DnaScoreVariantsCommandTest.reverseComplement(s)), 1, s.length()));
                for (int c = 0; c < 2; c++) {
                    assertEquals(a[c], forwardOnly.get(e.getKey())[c], 1e-5, e.getKey() + " forward strand");
                    assertEquals((a[c] + b[c]) / 2, p.get(e.getKey())[c], 1e-5, e.getKey() + " averaged with the reverse complement");
                }
                assertTrue(Math.abs(a[0] - b[0]) > 1e-6, "Ph is not strand-invariant by construction, so the average is a real one");
            }
        }
    }
}
